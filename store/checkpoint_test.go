package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckpointer: under steady writes, the background checkpointer makes
// the log start over by itself (the writer's own automatic checkpoint is
// off here), so that it does not grow without end; every row written is
// there after Close and reopen.
func TestCheckpointer(t *testing.T) {
	savedAuto, savedRestart, savedEvery := walAutoCheckpoint, walRestartFrames, checkpointEvery
	walAutoCheckpoint, walRestartFrames, checkpointEvery = 0, 256, 50*time.Millisecond
	defer func() { walAutoCheckpoint, walRestartFrames, checkpointEvery = savedAuto, savedRestart, savedEvery }()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	db, err := OpenSQLite(ctx, path, "data")
	if err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := db.writer.QueryRow("PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("the writer's automatic checkpoint: %d, %v", auto, err)
	}
	if _, err := db.writer.Exec(`CREATE TABLE t (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	wal := path + "-wal"
	row := strings.Repeat("x", 3000)
	biggest, rows := int64(0), 0
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); rows++ {
		// steady writes, a page or more each, each its own commit:
		// without restarts the log would hold every one of them
		if _, err := db.writer.Exec(`INSERT INTO t (v) VALUES (?)`, row); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(wal)
		if err != nil {
			t.Fatal(err)
		}
		biggest = max(biggest, fi.Size())
	}
	var page int64
	db.writer.QueryRow("PRAGMA page_size").Scan(&page)
	if written := int64(rows) * page; rows < 100 || biggest > written/2 {
		t.Errorf("the log grew to %d bytes under %d commits of at least %d bytes in all: it does not start over", biggest, rows, written)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = OpenSQLite(ctx, path, "data"); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := countT(t, db); n != rows {
		t.Errorf("%d rows after reopening, want %d", n, rows)
	}
}

func countT(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.reader.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPageSizes: a data database is created with pages of dataPageSize, in
// WAL mode (the driver runs its _pragma list sorted by name: a page size
// set after the journal mode would be ignored), and the key store keeps
// SQLite's 4 KiB.
func TestPageSizes(t *testing.T) {
	ctx := context.Background()
	for set, want := range map[string]int{"data": dataPageSize, "keys": 4096} {
		db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), set+".db"), set)
		if err != nil {
			t.Fatal(err)
		}
		var size int
		var mode string
		db.writer.QueryRow(`PRAGMA page_size`).Scan(&size)
		db.writer.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
		db.Close()
		if size != want || mode != "wal" {
			t.Errorf("%s: pages of %d bytes in journal mode %q, want %d and wal", set, size, mode, want)
		}
	}
}
