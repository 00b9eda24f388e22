package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the pure-Go SQLite engine: one static binary
)

// sqlitePragmas apply to every connection. WAL (set by sqliteDSN) lets
// readers run beside the writer; synchronous(FULL) makes a commit durable
// before it returns, so an acknowledged write survives a power cut;
// secure_delete overwrites deleted content so that erased data does not
// linger in free pages.
//
// The data database's pages are 16 KiB (dataPageSize; SQLite's default,
// which the key store keeps, is 4 KiB). Collection appends rows
// (events, runs, audit segments), and every page written — into the
// write-ahead log, then by the checkpoint into the database file — is a
// write system call, which costs 10–20 µs of CPU on the project VM under
// load: with 16 KiB pages, 16 × 100 event batches went from 47,000–53,000
// to 52,000–61,000 events/s over 15 s, and from 41,100 to 47,000 over a
// minute (A/B, alternated), for ~20 % more bytes written. (8 KiB: no
// clear gain; 32 KiB: no better than 16, and 350 MB of RSS.) The page size
// is set when a database is created: one created before keeps its own. The key store's writes are
// a key here and there, and erasure shreds one: larger pages would only
// make each of them write more.
//
// Each connection's page cache is 8 MiB: with 16 KiB pages, 16 MiB took the
// server's RSS from ~210 to ~265 MB under load, for no gain (A/B, same
// runs); 64 MiB of 4 KiB pages took ~90 MB more for no measurable gain
// either (collection, erasure, retention, audit verify, copies, bulk reads).
var sqlitePragmas = []string{
	"synchronous(FULL)",
	"busy_timeout(10000)",
	"secure_delete(ON)",
	"foreign_keys(ON)",
	"temp_store(MEMORY)",
	"cache_size(-8192)",
}

// dataPageSize is the page size of a data database created (see
// sqlitePragmas).
const dataPageSize = 16384

// Roles of a connection to the database file.
const (
	connWriter       = iota // the single writer
	connReader              // the readers' pool
	connCheckpointer        // the background checkpointer
)

func sqliteDSN(path string, role int) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	// the driver runs the _pragma list sorted by name, and a page size
	// must come before the journal mode, which runs after the list
	q.Set("_journal_mode", "WAL")
	switch role {
	case connReader:
		q.Add("_pragma", "query_only(1)")
	case connWriter:
		q.Set("_txlock", "immediate")
		// the writer checkpoints inside its commits only if the
		// checkpointer could not make the log start over (see checkpointer)
		q.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(walAutoCheckpoint)+")")
	}
	return "file:" + path + "?" + q.Encode()
}

// OpenSQLite opens (creating if need be) the SQLite database at path and
// brings it to the newest version of the migration set named by set ("data"
// or "keys").
func OpenSQLite(ctx context.Context, path, set string) (*DB, error) {
	dsn := sqliteDSN(path, connWriter)
	if set == "data" {
		// applied only if the file is new, before the journal mode
		dsn += "&_pragma=page_size(" + strconv.Itoa(dataPageSize) + ")"
	}
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := migrate(ctx, w, goose.DialectSQLite3, "migrations/sqlite/"+set); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, connReader))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	c, err := sql.Open("sqlite", sqliteDSN(path, connCheckpointer))
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	db := &DB{Path: path, writer: w, reader: r, ckpt: c, stop: make(chan struct{}), stopped: make(chan struct{})}
	go db.checkpointer(checkpointEvery) // (before any error return: Close waits for it)
	if set == "data" {
		var any bool
		if err := w.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM suppressions)`).Scan(&any); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		db.suppressions.Store(any)
		if err := db.loadTail(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		db.auditRuns = &auditRuns{db: db}
		if err := db.indexAudit(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	return db, nil
}

// checkpointEvery is how often the checkpointer copies the write-ahead log
// into the database file. Each pass copies, with a read and a write system
// call per page, every frame appended since the last: at 500 ms, a pass was
// ~2,500 frames (40 MB), 20–300 ms of a core taken at once, and collection
// halved its throughput in the 100 ms that followed, which made its p99.
// In smaller pieces, the same work shows less: 16 × 100 event batches,
// warm, p99 55–75 ms at 500 ms (6 runs), 49–60 at 100 ms (6 runs), 48–54
// at 50 ms (3 runs), alternated.
var checkpointEvery = 50 * time.Millisecond

// checkpointer copies the write-ahead log into the database file in the
// background until Close, and makes the log start over once it is long.
//
// The bulk of the copying runs on the checkpointer's own connection: a
// passive checkpoint takes no lock the writer needs, so commits go on
// meanwhile. Under steady writes it never copies the very last frames
// (they are appended while it copies), and SQLite starts the log over only
// once every frame is in the database file. So once the log holds
// walRestartFrames, the checkpointer copies again (what was appended
// meanwhile), then finishes on the writer's connection, between two of its
// transactions: only frames appended during the second copy remain, and
// the next write transaction starts the log over. SQLite's own automatic
// checkpoint (walAutoCheckpoint) is then never reached; left to it, every
// commit past its threshold checkpointed in turn, each with a flush of the
// database file, until one got to the end: runs of 40–130 ms commits that
// made the collection's p99.
//
// A passive checkpoint that stops short of the log's end does not flush
// the database file: the one that gets there flushes all that the earlier
// ones copied, tens of megabytes, and it is the one on the writer's
// connection. So the checkpointer flushes the database file itself first
// (on a descriptor of its own, db.main), and the writer waits only for
// the last frames: a 40–120 ms pause of the writer before, at every
// restart. The frames appended during that flush are copied once more
// before the writer's turn.
func (db *DB) checkpointer(every time.Duration) {
	defer close(db.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
			// an error (busy, I/O) is retried at the next tick; erasure
			// and Close checkpoint on the writer and report theirs
			if db.main == nil {
				f, err := os.OpenFile(db.Path, os.O_RDWR, 0)
				if err != nil {
					continue
				}
				db.main = f
			}
			frames, err := checkpoint(db.ckpt)
			if err == nil {
				startWriteback(db.main)
			}
			if err != nil || frames < walRestartFrames {
				continue
			}
			if _, err := checkpoint(db.ckpt); err != nil {
				continue
			}
			if err := datasync(db.main); err != nil {
				continue
			}
			if _, err := checkpoint(db.ckpt); err != nil {
				continue
			}
			checkpoint(db.writer)
		}
	}
}

// checkpoint runs a passive checkpoint on one of db's connections and
// returns how many frames the log held.
func checkpoint(db *sql.DB) (frames int, err error) {
	var busy, copied int
	err = db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return frames, err
}

// syncWAL flushes the write-ahead log file to the disk (fdatasync), so that
// every transaction committed in it so far is durable. The file is opened
// once and kept while it is the same file: SQLite truncates it in place, and
// removes it only when its last connection closes.
func (db *DB) syncWAL() error {
	db.walMu.Lock()
	defer db.walMu.Unlock()
	path := db.Path + "-wal"
	if db.wal != nil {
		now, err1 := os.Stat(path)
		kept, err2 := db.wal.Stat()
		if err1 != nil || err2 != nil || !os.SameFile(now, kept) {
			db.wal.Close()
			db.wal = nil
		}
	}
	if db.wal == nil {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("sync the write-ahead log: %w", err)
		}
		db.wal = f
	}
	if err := datasync(db.wal); err != nil {
		return fmt.Errorf("sync the write-ahead log: %w", err)
	}
	return nil
}

// walRestartFrames is the length of the write-ahead log, in pages, from
// which the checkpointer makes it start over: 64 MiB of 16 KiB pages (16
// MiB in a database created with 4 KiB pages). A restart used to hold the
// writer for a flush of the database file, 10–120 ms on the project VM, so
// restarts were made rare; since the checkpointer flushes the file itself
// first, a restart costs the writer little, and 64 MiB gave the same
// events per second as 256 MiB with a lower p99 (70 ms instead of 75–85).
var walRestartFrames = 4096

// walAutoCheckpoint is the length of the write-ahead log, in pages, beyond
// which the writer checkpoints itself, inside its commits (SQLite's
// default: 1,000): 256 MiB of 16 KiB pages, a backstop the checkpointer
// keeps the log from reaching (a reader holding an old snapshot for long
// keeps the log from starting over).
var walAutoCheckpoint = 16384

// Checkpoint copies the WAL into the main file and truncates it, so that
// deleted content no longer sits in the log.
func (db *DB) Checkpoint(ctx context.Context) error {
	_, err := db.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}
