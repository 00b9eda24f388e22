package store

import "testing"

// IndexAudit makes each closed segment of db's audit log a run of its own
// (the key runs' threshold at one byte, for the call).
func IndexAudit(t testing.TB, db *DB) {
	t.Helper()
	old := auditRunBytes
	auditRunBytes = 1
	defer func() { auditRunBytes = old }()
	if err := db.indexAudit(t.Context()); err != nil {
		t.Fatal(err)
	}
}
