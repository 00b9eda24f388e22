package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"runtime"
	"testing"
)

// TestRawStmts: statements run on the driver connection they were prepared
// on; another connection gets its own, and close leaves none.
func TestRawStmts(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "raw.db"), connWriter))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER, s TEXT, b BLOB)`); err != nil {
		t.Fatal(err)
	}
	var r rawStmts
	const q = `INSERT INTO t (x, s, b) VALUES (?, ?, ?)`
	insert := func(c *sql.Conn, x int64) {
		t.Helper()
		err := c.Raw(func(dc any) error {
			return r.exec(ctx, dc, q, []driver.NamedValue{{Ordinal: 1, Value: x}, {Ordinal: 2, Value: "s"}, {Ordinal: 3, Value: nil}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insert(c1, 1)
	insert(c1, 2)
	first := r.stmts[q]
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	insert(c2, 3)
	if r.stmts[q] == first || len(r.stmts) != 1 {
		t.Errorf("another connection reused the first one's statement")
	}
	r.close()
	if r.stmts != nil || r.conn != nil {
		t.Errorf("close kept %d statements", len(r.stmts))
	}
	c1.Close()
	c2.Close()
	var n, sum int64
	if err := db.QueryRow(`SELECT count(*), sum(x) FROM t WHERE s = 's' AND b IS NULL`).Scan(&n, &sum); err != nil || n != 3 || sum != 6 {
		t.Fatalf("rows: %d, sum %d, %v; want 3 rows, sum 6", n, sum, err)
	}
}

// TestValueAt: the driver values that point at the caller's variables are
// of the variables' types and values, survive a collection, and cost no
// allocation.
func TestValueAt(t *testing.T) {
	s, n, b := "Lampe Opaline", int64(1_800_000_000_123), []byte{0, 1, 2}
	vals := []driver.Value{stringAt(&s), int64At(&n), bytesAt(&b)}
	runtime.GC()
	if got, ok := vals[0].(string); !ok || got != s {
		t.Errorf("string: %#v", vals[0])
	}
	if got, ok := vals[1].(int64); !ok || got != n {
		t.Errorf("int64: %#v", vals[1])
	}
	if got, ok := vals[2].([]byte); !ok || !bytes.Equal(got, b) {
		t.Errorf("[]byte: %#v", vals[2])
	}
	if a := testing.AllocsPerRun(100, func() { vals[0], vals[1] = stringAt(&s), int64At(&n) }); a != 0 {
		t.Errorf("%v allocations", a)
	}
}
