package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/rights"
)

// Queries of the collection path, written once for every engine.
const (
	qFindSubject    = `SELECT COALESCE(merged_into, id), identified FROM subjects WHERE id = ?`
	qMarkIdentified = `UPDATE subjects SET identified = 1 WHERE id = ?`
	qMergeMembers   = `UPDATE subjects SET merged_into = ? WHERE merged_into = ?`
	qMergeSubject   = `UPDATE subjects SET merged_into = ? WHERE id = ?`
	qTouchSubject   = `UPDATE subjects SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`
	qUpsertTrait    = `INSERT INTO traits (subject_id, name, category, purposes, sealed, value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (subject_id, name) DO UPDATE SET category = excluded.category, purposes = excluded.purposes,
		sealed = excluded.sealed, value = excluded.value, updated_at = excluded.updated_at`
	qAddViolation = `INSERT INTO violations (source, event, field, kind, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, event, field, kind) DO UPDATE SET count = violations.count + excluded.count, last_seen = excluded.last_seen`
)

// Collect is the collection path's view of the data database.
type Collect struct {
	db    *DB
	once  sync.Once
	stmts map[string]*sql.Stmt
	err   error
	// args is the reused argument list of the events' inserts (one group
	// commit at a time), and ints the integers it points at (valueAt)
	args []driver.NamedValue
	ints []int64
}

// NewCollect returns the store of the collection writer.
func NewCollect(db *DB) *Collect { return &Collect{db: db} }

func (c *Collect) prepare(ctx context.Context) error {
	c.once.Do(func() {
		c.stmts = map[string]*sql.Stmt{}
		qs := []string{qFindSubject, qMarkIdentified,
			qMergeMembers, qMergeSubject, qTouchSubject, qUpsertTrait, qAddViolation,
			qLastConsent, qCreateConsent, qCreateConsents, qCreateOutbox, qSuppressed}
		for _, n := range rowsPer {
			qs = append(qs, qCreateRunRows[n], qFindIdentities[n], qCreateSubjects[n], qCreateIdentities[n])
		}
		for _, q := range qs {
			st, err := c.db.writer.PrepareContext(ctx, q)
			if err != nil {
				c.err = err
				return
			}
			c.stmts[q] = st
		}
	})
	return c.err
}

// BeginCollect opens one group commit. The group commits without waiting
// for the disk (SQLite's synchronous NORMAL, on the writer's connection for
// this transaction only): the collection writer calls Sync before it
// acknowledges the group, and meanwhile prepares the next one. Every other
// transaction on the writer stays synchronous FULL.
func (c *Collect) BeginCollect(ctx context.Context) (collect.Tx, error) {
	if err := c.prepare(ctx); err != nil {
		return nil, err
	}
	conn, err := c.db.writer.Conn(ctx)
	if err != nil {
		return nil, err
	}
	t := &collectTx{c: c, conn: conn, bound: map[string]*sql.Stmt{}}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		t.release()
		return nil, err
	}
	if t.tx, err = conn.BeginTx(ctx, nil); err != nil {
		t.release()
		return nil, err
	}
	return t, nil
}

// Sync makes every group commit so far durable: one flush of SQLite's
// write-ahead log, where those commits wrote everything (a checkpoint
// flushes the log before it copies any of it into the database file).
func (c *Collect) Sync() error { return c.db.syncWAL() }

type collectTx struct {
	tx       *sql.Tx
	conn     *sql.Conn
	released bool
	c        *Collect
	bound    map[string]*sql.Stmt
	// the consent ledger's head within this transaction, once read, and the
	// records appended since, written at commit
	consentHead *consentHead
	consentRows []any
	// events are the ids and subjects of the events written, indexed in
	// the tail once committed
	events []subjectEvent
	// subjects and identities created and not yet written, 4 values a row:
	// written together (flushCreated) before any statement that reads or
	// changes those tables, and at commit
	newSubjects, newIdentities []any
}

// flushCreated writes the subjects and identities created since the last
// time, several rows per statement.
func (t *collectTx) flushCreated(ctx context.Context) error {
	stmt := func(q string) (*sql.Stmt, error) { return t.stmt(ctx, q), nil }
	if len(t.newSubjects) > 0 {
		if err := insertRows(ctx, stmt, qCreateSubjects, 4, t.newSubjects); err != nil {
			return err
		}
		t.newSubjects = t.newSubjects[:0]
	}
	if len(t.newIdentities) > 0 {
		if err := insertRows(ctx, stmt, qCreateIdentities, 4, t.newIdentities); err != nil {
			return err
		}
		t.newIdentities = t.newIdentities[:0]
	}
	return nil
}

func (t *collectTx) stmt(ctx context.Context, q string) *sql.Stmt {
	st, ok := t.bound[q]
	if !ok {
		st = t.tx.StmtContext(ctx, t.c.stmts[q])
		t.bound[q] = st
	}
	return st
}

func (t *collectTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := t.stmt(ctx, q).ExecContext(ctx, args...)
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

const qSuppressed = `SELECT 1 FROM suppressions WHERE hash = ?`

// Suppressed reports whether any identity carries a suppression marker
// (rights.SuppressionMarker): the person was erased and asked not to be
// collected again.
func (t *collectTx) Suppressed(ctx context.Context, ids []collect.Identity) (bool, error) {
	if !t.c.db.suppressions.Load() {
		return false, nil // no one was ever erased with a marker
	}
	for _, id := range ids {
		var one int
		err := t.stmt(ctx, qSuppressed).QueryRowContext(ctx, rights.SuppressionMarker(id.Kind, id.Hash)).Scan(&one)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
	}
	return false, nil
}

// FindIdentity is FindIdentities for one identity.
func (t *collectTx) FindIdentity(ctx context.Context, kind string, hash []byte) (s garde.SubjectID, err error) {
	err = t.FindIdentities(ctx, []collect.Identity{{Kind: kind, Hash: hash}}, func(_ collect.Identity, found garde.SubjectID) { s = found })
	return s, err
}

// qCreateSubjects and qCreateIdentities write the subjects and identities
// a group created, several per statement (collectTx.flushCreated).
var (
	qCreateSubjects   = multiRow(`INSERT INTO subjects (id, identified, created_at, last_seen_at) VALUES `, 4, "")
	qCreateIdentities = multiRow(`INSERT INTO identities (kind, hash, subject_id, created_at) VALUES `, 4, "")
)

// qFindIdentities looks up n identities (kind, hash) with one statement,
// through the primary key (a seek per pair: TestFindIdentities checks the plan).
var qFindIdentities = multiRow(`SELECT kind, hash, subject_id FROM identities WHERE (kind, hash) IN (VALUES `, 2, ")")

func (t *collectTx) FindIdentities(ctx context.Context, ids []collect.Identity, found func(collect.Identity, garde.SubjectID)) error {
	if err := t.flushCreated(ctx); err != nil {
		return err
	}
	args := make([]any, 0, 2*rowsPer[0])
	for _, n := range rowsPer { // largest first
		for len(ids) >= n {
			rows, err := t.stmt(ctx, qFindIdentities[n]).QueryContext(ctx, identityArgs(args[:0], ids[:n])...)
			if err := scanIdentities(rows, err, found); err != nil {
				return err
			}
			ids = ids[n:]
		}
	}
	return nil
}

// identityArgs appends the kind and hash of each identity to args: the
// pairs of a `(kind, hash) IN (VALUES (?, ?), …)`.
func identityArgs(args []any, ids []collect.Identity) []any {
	for _, id := range ids {
		args = append(args, id.Kind, id.Hash)
	}
	return args
}

// scanIdentities calls found with each (kind, hash, subject) row of a
// query's result, and closes it.
func scanIdentities(rows *sql.Rows, err error, found func(collect.Identity, garde.SubjectID)) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id collect.Identity
		var s string
		if err := rows.Scan(&id.Kind, &id.Hash, &s); err != nil {
			return err
		}
		found(id, garde.SubjectID(s))
	}
	return rows.Err()
}

func (t *collectTx) FindSubject(ctx context.Context, id garde.SubjectID) (garde.SubjectID, bool, error) {
	if err := t.flushCreated(ctx); err != nil {
		return "", false, err
	}
	var canonical string
	var identified bool
	err := t.stmt(ctx, qFindSubject).QueryRowContext(ctx, string(id)).Scan(&canonical, &identified)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return garde.SubjectID(canonical), identified, err
}

// CreateSubject and CreateIdentity note the rows; flushCreated writes them.
func (t *collectTx) CreateSubject(ctx context.Context, id garde.SubjectID, identified bool, now time.Time) error {
	t.newSubjects = append(t.newSubjects, string(id), identified, ms(now), ms(now))
	return nil
}

func (t *collectTx) CreateIdentity(ctx context.Context, kind string, hash []byte, s garde.SubjectID, now time.Time) error {
	t.newIdentities = append(t.newIdentities, kind, hash, string(s), ms(now))
	return nil
}

func (t *collectTx) MarkIdentified(ctx context.Context, s garde.SubjectID) error {
	if err := t.flushCreated(ctx); err != nil {
		return err
	}
	return t.exec(ctx, qMarkIdentified, string(s))
}

const qDeleteIdentities = `DELETE FROM identities WHERE kind = ? AND subject_id IN
	(SELECT id FROM subjects WHERE id = ? OR merged_into = ?) RETURNING hash`

func (t *collectTx) DeleteIdentities(ctx context.Context, s garde.SubjectID, kind string) ([][]byte, error) {
	if err := t.flushCreated(ctx); err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(ctx, qDeleteIdentities, kind, string(s), string(s))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

func (t *collectTx) MergeSubject(ctx context.Context, from, into garde.SubjectID) error {
	if err := t.flushCreated(ctx); err != nil {
		return err
	}
	if err := t.exec(ctx, qMergeMembers, string(into), string(from)); err != nil {
		return err
	}
	return t.exec(ctx, qMergeSubject, string(into), string(from))
}

func (t *collectTx) TouchSubject(ctx context.Context, s garde.SubjectID, seen time.Time) error {
	if err := t.flushCreated(ctx); err != nil {
		return err
	}
	return t.exec(ctx, qTouchSubject, ms(seen), string(s), ms(seen))
}

// qCreateEvents are the multi-row inserts of events (store.go's rowsPer):
// one statement per row costs SQLite and the driver far more than the row.
var qCreateEvents = multiRow(`INSERT INTO events (id, subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed) VALUES `, 12, "")

// CreateEvents gives the rows ids of their own (eventTail.reserve: never
// one the last run covers) and inserts them, several per statement.
func (t *collectTx) CreateEvents(ctx context.Context, rows []collect.EventRow) error {
	id := t.c.db.tail.reserve(len(rows))
	t.events = slices.Grow(t.events, len(rows))
	return t.conn.Raw(func(dc any) error {
		args, ints := t.c.args, t.c.ints
		for _, n := range rowsPer { // largest first
			for len(rows) >= n {
				args, ints = args[:0], slices.Grow(ints[:0], 3*n)
				for i := range rows[:n] {
					args, ints = t.appendEvent(args, ints, id, &rows[i])
					id++
				}
				if err := t.c.db.raw.exec(ctx, dc, qCreateEvents[n], args); err != nil {
					return err
				}
				rows = rows[n:]
			}
		}
		clear(args) // let the rows' values go
		t.c.args, t.c.ints = args, ints
		return nil
	})
}

// appendEvent appends the values of an event's row, and notes its id for
// the index's tail. The values point at e's fields and at the integers it
// appends to ints, which must have room for three more (valueAt: no
// allocation).
func (t *collectTx) appendEvent(args []driver.NamedValue, ints []int64, id int64, e *collect.EventRow) ([]driver.NamedValue, []int64) {
	t.events = append(t.events, subjectEvent{e.Subject, id})
	at := len(ints)
	ints = append(ints, id, ms(e.Time), ms(e.Received))
	var sealed driver.Value
	if e.Sealed != nil {
		sealed = bytesAt(&e.Sealed)
	}
	for _, v := range [...]driver.Value{int64At(&ints[at]), stringAt((*string)(&e.Subject)), stringAt(&e.Source),
		stringAt(&e.Type), stringAt(&e.Name), stringAt(&e.MessageID), int64At(&ints[at+1]), int64At(&ints[at+2]),
		stringAt(&e.Purposes), stringAt(&e.Properties), stringAt(&e.Context), sealed} {
		args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
	}
	return args, ints
}

func (t *collectTx) UpsertTrait(ctx context.Context, s garde.SubjectID, tr *collect.Trait, value []byte, now time.Time) error {
	return t.exec(ctx, qUpsertTrait, string(s), tr.Name, tr.Category, tr.Purposes, tr.Personal, value, ms(now))
}

func (t *collectTx) AddViolations(ctx context.Context, v map[collect.ViolationKey]int, now time.Time) error {
	for k, n := range v {
		if err := t.exec(ctx, qAddViolation, k.Source, k.Event, k.Field, k.Kind, n, ms(now), ms(now)); err != nil {
			return err
		}
	}
	return nil
}

// Commit writes what the group left pending (consent records, written
// together in multi-row INSERTs; the next rows of the index's pending run)
// and commits; then the group's events join the tail.
func (t *collectTx) Commit() error {
	ctx := context.Background()
	if err := t.flushCreated(ctx); err != nil {
		return err // the caller rolls back, as for any error before Commit
	}
	if len(t.consentRows) > 0 {
		if err := t.flushConsent(ctx); err != nil {
			return err
		}
	}
	tail := t.c.db.tail
	step, wrote, err := tail.writeRunStep(ctx, t.tx, func(q string) (*sql.Stmt, error) { return t.stmt(ctx, q), nil }, len(t.events))
	if err == nil {
		err = t.tx.Commit()
	} else {
		t.tx.Rollback()
	}
	t.release()
	tail.committed(t.events, step, wrote, err)
	return err
}

func (t *collectTx) Rollback() error {
	err := t.tx.Rollback()
	t.release()
	return err
}

// release gives the writer's connection back, synchronous FULL again; a
// connection that cannot be set back is closed rather than reused.
func (t *collectTx) release() {
	if t.released {
		return
	}
	t.released = true
	if _, err := t.conn.ExecContext(context.Background(), "PRAGMA synchronous = FULL"); err != nil {
		t.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	t.conn.Close()
}
