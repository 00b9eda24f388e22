package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"
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
