package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"
	"unsafe"
)

// rawStmts are statements prepared on the writer's driver connection and
// executed on it without database/sql, for the collection's bulk inserts:
// database/sql copies and converts every argument of every call into a new
// slice (768 per insert of 64 events), which the caller here builds once as
// driver values and reuses. They are used within Conn.Raw, so in the
// transaction open on that connection, and closed by DB.Close.
type rawStmts struct {
	mu    sync.Mutex
	conn  any // the driver connection they were prepared on
	stmts map[string]driver.Stmt
}

// exec runs q with args on dc, preparing it on first use.
func (r *rawStmts) exec(ctx context.Context, dc any, q string, args []driver.NamedValue) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != dc {
		r.closeLocked() // the connection was replaced
		r.conn, r.stmts = dc, map[string]driver.Stmt{}
	}
	st, ok := r.stmts[q]
	if !ok {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("store: driver %T cannot prepare with a context", dc)
		}
		var err error
		if st, err = pc.PrepareContext(ctx, q); err != nil {
			return err
		}
		r.stmts[q] = st
	}
	ex, ok := st.(driver.StmtExecContext)
	if !ok {
		return fmt.Errorf("store: driver statement %T cannot execute with a context", st)
	}
	_, err := ex.ExecContext(ctx, args)
	return err
}

// close closes every statement; the connection must be idle.
func (r *rawStmts) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLocked()
}

func (r *rawStmts) closeLocked() {
	for _, st := range r.stmts {
		st.Close()
	}
	r.conn, r.stmts = nil, nil
}

// A driver value is an interface: making one of a string, an int64 or a
// []byte copies the value to the heap (an allocation per value: for the
// events' inserts, 11 per event, in the writer's goroutine, which every
// request waits for). The values below point at the caller's variable
// instead, which must not change, nor be reused, until the statement has
// run: the driver copies what it binds, and the caller clears the list
// afterwards.

// eface is the layout of an interface{} value: its dynamic type, and a
// pointer to its value.
type eface struct{ typ, data unsafe.Pointer }

var (
	typeString = typeOf("")
	typeInt64  = typeOf(int64(0))
	typeBytes  = typeOf([]byte(nil))
)

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// valueAt returns the driver value *p, of type string, int64 or []byte
// (typ), without copying it: see above.
func valueAt(typ unsafe.Pointer, p unsafe.Pointer) driver.Value {
	var v driver.Value
	*(*eface)(unsafe.Pointer(&v)) = eface{typ, p}
	return v
}

func stringAt(p *string) driver.Value { return valueAt(typeString, unsafe.Pointer(p)) }
func int64At(p *int64) driver.Value   { return valueAt(typeInt64, unsafe.Pointer(p)) }
func bytesAt(p *[]byte) driver.Value  { return valueAt(typeBytes, unsafe.Pointer(p)) }
