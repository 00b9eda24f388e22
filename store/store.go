// Package store is Garde's SQL adapter: it implements the small storage
// interfaces each capability declares (one file per noun: events.go, keys.go …)
// over database/sql. Engine specifics — connection strings, pragmas, the
// migration dialect — live in sqlite.go (and postgres.go when that engine
// lands); the queries themselves are written once, in portable SQL.
//
// A Garde installation has two databases: the data database (events, profiles,
// identities …) and the key database (wrapped subject keys). They are kept in
// separate files so that a copy of the data never carries the keys.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// DB is one database: a single writer connection, through which every write
// goes, and a pool of readers.
type DB struct {
	Path   string
	writer *sql.DB
	reader *sql.DB
	// ckpt is the background checkpointer's connection (SQLite); stop
	// ends it and stopped says it has ended.
	ckpt          *sql.DB
	stop, stopped chan struct{}
	closing       sync.Once
	// suppressions says whether the suppressions table may hold a marker
	// (read at open, set by an erasure that writes one): while it cannot,
	// collection skips looking every new identity up there.
	suppressions atomic.Bool
	// wal is SQLite's write-ahead log file, opened by syncWAL
	walMu sync.Mutex
	wal   *os.File
	// main is the database file, opened by the checkpointer to flush it,
	// and closed after every connection: closing a descriptor of the file
	// drops the process's locks on it
	main *os.File
	// tail indexes by subject the events after the last run (data
	// database only; see eventindex.go)
	tail *eventTail
	// auditRuns is where the audit log's key runs stand (data database
	// only; see auditruns.go)
	auditRuns *auditRuns
	// raw are the collection's statements prepared on the writer's
	// connection itself (rawexec.go)
	raw rawStmts
}

// Writer returns the single-connection handle used for writes. Callers that
// write must not hold it across slow work: every writer waits on it.
func (db *DB) Writer() *sql.DB { return db.writer }

// Reader returns the pool used for reads.
func (db *DB) Reader() *sql.DB { return db.reader }

// Close stops the checkpointer, copies what the write-ahead log still
// holds into the database file, and closes the handles.
func (db *DB) Close() error {
	if db.stop != nil {
		db.closing.Do(func() {
			close(db.stop)
			<-db.stopped
			db.ckpt.Close()
			db.writer.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			db.walMu.Lock()
			if db.wal != nil {
				db.wal.Close()
			}
			db.walMu.Unlock()
		})
	}
	db.raw.close()
	err := db.reader.Close()
	if werr := db.writer.Close(); err == nil {
		err = werr
	}
	if db.main != nil {
		db.main.Close()
	}
	return err
}

// migrate brings db to the newest version of the named migration set
// ("data" or "keys").
func migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, dir string) error {
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	// out of order: capabilities land migrations in parallel, and every one
	// of them only adds tables, so a lower number arriving later is safe
	p, err := goose.NewProvider(dialect, db, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migrations %s: %w", dir, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations %s: %w", dir, err)
	}
	return nil
}

// Multi-row inserts, prepared for a few row counts (rowsPer): a batch is
// written with as few statements as those counts allow (a one-row insert,
// with one). A statement per row costs SQLite and the driver more than
// the row, and so does preparing a statement for each insert (~1 µs a row
// of 64).
var rowsPer = []int{64, 32, 16, 8, 7, 6, 5, 4, 3, 2, 1}

// multiRow returns the insert of n rows of cols values, then suffix, for
// each n of rowsPer.
func multiRow(prefix string, cols int, suffix string) map[int]string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	qs := map[int]string{}
	for _, n := range rowsPer {
		qs[n] = prefix + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") + suffix
	}
	return qs
}

// insertRows writes rows (cols values each, flattened) with the multi-row
// statements of qs (multiRow), largest first, each given by stmt.
func insertRows(ctx context.Context, stmt func(q string) (*sql.Stmt, error), qs map[int]string, cols int, rows []any) error {
	for _, n := range rowsPer {
		for len(rows) >= n*cols {
			st, err := stmt(qs[n])
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, rows[:n*cols]...); err != nil {
				return err
			}
			rows = rows[n*cols:]
		}
	}
	return nil
}
