package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
)

// Erase is the eraser's view of the data database (rights.EraseStore): the
// only store that deletes a person. Only the rights worker and the CLI's
// erase verb get one.
type Erase struct {
	db *DB

	mu            sync.Mutex
	reads, writes map[string]*sql.Stmt // prepared statements, by query
}

// NewErase returns the erasure store over the data database.
func NewErase(db *DB) *Erase { return &Erase{db: db} }

var _ rights.EraseStore = (*Erase)(nil)

// The erasure's queries. The subjects go as one JSON array bound to
// json_each, so that every query has one text whatever their number, and is
// prepared once per Erase (see prepare) rather than parsed again for every
// erasure: parsing was a fifth of an erasure's CPU. The deletes return what
// the certificate counts (RETURNING), so that each table is visited once,
// and name the subject of each row, so that one statement per table serves
// a group of people (see eraseGroup).
const (
	qeCanonical    = `SELECT COALESCE(merged_into, id) FROM subjects WHERE id = ?`
	qeExists       = `SELECT 1 FROM subjects WHERE id = ? AND merged_into IS NULL`
	qeMembers      = `SELECT id FROM subjects WHERE merged_into = ? ORDER BY created_at, id`
	qeDelEvents    = `DELETE FROM events WHERE id IN (SELECT value FROM json_each(?)) AND subject_id IN (SELECT value FROM json_each(?)) RETURNING subject_id, type, name, properties, context, sealed`
	qeDelRuns      = `DELETE FROM event_runs WHERE run IN (SELECT run FROM event_run_list) AND subject_id IN (SELECT value FROM json_each(?))`
	qeDelTraits    = `DELETE FROM traits WHERE subject_id IN (SELECT value FROM json_each(?)) RETURNING subject_id, name, category`
	qeDelIdent     = `DELETE FROM identities WHERE subject_id IN (SELECT value FROM json_each(?)) RETURNING subject_id, kind, hash`
	qeDelGuardian  = `DELETE FROM guardian_requests WHERE subject_id IN (SELECT value FROM json_each(?)) AND status = 'pending' RETURNING subject_id`
	qeDelSubjects  = `DELETE FROM subjects WHERE id IN (SELECT value FROM json_each(?)) RETURNING id`
	qeSuppress     = `INSERT INTO suppressions (hash, created_at) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`
	qeSuppressed   = `SELECT 1 FROM suppressions WHERE hash = ?`
	qeCreateOutbox = `INSERT INTO outbox (topic, subject_id, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id`
)

// The prepared statements, by query: the reader's and the writer's.
var (
	eraseReads  = []string{qeCanonical, qeMembers, qeSuppressed}
	eraseWrites = []string{qeExists, qeMembers, qeDelEvents, qeDelRuns, qeDelTraits, qeDelIdent, qeDelGuardian,
		qeDelSubjects, qeSuppress, qeCreateOutbox}
)

// eraseGroup is how many people of a batch share each delete statement.
// Per statement, binding, the IN list and the round trips through
// database/sql cost as much as deleting several rows; grouping people
// makes them negligible, while the group's messages (certificates) are
// still built beside the next group's deletes.
const eraseGroup = 32

// prepare prepares the erasure's statements once (again after a failure).
// It must run outside any transaction of the writer: the writer has a
// single connection, which preparing waits for.
func (e *Erase) prepare(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.reads != nil {
		return nil
	}
	reads, writes := map[string]*sql.Stmt{}, map[string]*sql.Stmt{}
	for _, set := range []struct {
		db *sql.DB
		qs []string
		m  map[string]*sql.Stmt
	}{{e.db.reader, eraseReads, reads}, {e.db.writer, eraseWrites, writes}} {
		for _, q := range set.qs {
			st, err := set.db.PrepareContext(ctx, q)
			if err != nil {
				closeAll(reads, writes)
				return fmt.Errorf("store: prepare erasure: %w", err)
			}
			set.m[q] = st
		}
	}
	e.reads, e.writes = reads, writes
	return nil
}

func closeAll(sets ...map[string]*sql.Stmt) {
	for _, m := range sets {
		for _, st := range m {
			st.Close()
		}
	}
}

// FindMembers implements rights.EraseStore.
func (e *Erase) FindMembers(ctx context.Context, s garde.SubjectID) ([]garde.SubjectID, error) {
	if err := e.prepare(ctx); err != nil {
		return nil, err
	}
	var canonical string
	err := e.reads[qeCanonical].QueryRowContext(ctx, string(s)).Scan(&canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such subject")
	}
	if err != nil {
		return nil, fmt.Errorf("store: find members of %s: %w", s, err)
	}
	return members(ctx, e.reads[qeMembers], garde.SubjectID(canonical))
}

func members(ctx context.Context, st *sql.Stmt, canonical garde.SubjectID) ([]garde.SubjectID, error) {
	rows, err := st.QueryContext(ctx, string(canonical))
	if err != nil {
		return nil, fmt.Errorf("store: find members of %s: %w", canonical, err)
	}
	defer rows.Close()
	out := []garde.SubjectID{canonical}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, fmt.Errorf("store: find members of %s: %w", canonical, err)
		}
		out = append(out, garde.SubjectID(m))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: find members of %s: %w", canonical, err)
	}
	return out, nil
}

// EraseSubjects implements rights.EraseStore: EraseBatch of one plan.
func (e *Erase) EraseSubjects(ctx context.Context, er *rights.ErasePlan) (*rights.Erased, error) {
	done, err := e.EraseBatch(ctx, []*rights.ErasePlan{er})
	if done == nil {
		return nil, err
	}
	if done[0] == nil {
		// nothing was erased, so nothing was committed (see EraseBatch)
		return nil, garde.Errorf(garde.ENotFound, "no such subject")
	}
	return done[0], err
}

// EraseBatch implements rights.EraseStore: one transaction on the writer,
// then a TRUNCATE checkpoint of the write-ahead log — one of each for the
// whole batch, which is what makes bulk erasure cheap: the fsyncs of the
// commit and of the checkpoint are most of a single erasure's time.
func (e *Erase) EraseBatch(ctx context.Context, plans []*rights.ErasePlan) ([]*rights.Erased, error) {
	if err := e.prepare(ctx); err != nil {
		return nil, err
	}
	done, n, err := e.erase(ctx, plans)
	if err != nil || n == 0 {
		// n == 0: every subject was gone, the transaction was rolled
		// back, and the log holds nothing of an erasure to truncate
		return done, err
	}
	if err := e.checkpoint(ctx); err != nil {
		return done, fmt.Errorf("store: checkpoint after erasing %d subjects: %w", n, err)
	}
	return done, nil
}

// eraseTx is the batch's transaction, with the statements it has used.
type eraseTx struct {
	ctx   context.Context
	tx    *sql.Tx
	e     *Erase
	stmts map[string]*sql.Stmt
	// erased are the subjects whose events were deleted, forgotten by the
	// index's tail once the transaction commits
	erased []garde.SubjectID
}

// st returns the prepared statement q in the transaction.
func (t *eraseTx) st(q string) *sql.Stmt {
	if t.stmts[q] == nil {
		t.stmts[q] = t.tx.StmtContext(t.ctx, t.e.writes[q])
	}
	return t.stmts[q]
}

// erase runs the batch's transaction; it returns how many plans erased a
// subject (the transaction committed only if that is not 0).
func (e *Erase) erase(ctx context.Context, plans []*rights.ErasePlan) ([]*rights.Erased, int, error) {
	tx, err := e.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("store: erase: %w", err)
	}
	defer tx.Rollback()
	t := &eraseTx{ctx: ctx, tx: tx, e: e, stmts: map[string]*sql.Stmt{}}
	done := make([]*rights.Erased, len(plans))
	msgs := make([]message, len(plans))
	live := map[garde.SubjectID]bool{} // canonical subjects of the batch so far
	var group []int
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		if err := t.eraseRows(plans, done, group); err != nil {
			return fmt.Errorf("store: erase %d subjects: %w", len(group), err)
		}
		// The messages (the certificates: the categories counted, a
		// signature) are built beside the next group's deletes: the
		// writer's goroutine is the bottleneck of a batch, and the second
		// core otherwise idles.
		for _, i := range group {
			msgs[i].start(plans[i], done[i])
		}
		group = group[:0]
		return nil
	}
	for i, er := range plans {
		if live[er.Subject] {
			continue // named twice: erased by the earlier plan
		}
		var one int
		err = t.st(qeExists).QueryRowContext(ctx, string(er.Subject)).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			continue // gone (erased, or merged into another subject)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("store: erase %s: %w", er.Subject, err)
		}
		ms, err := members(ctx, t.st(qeMembers), er.Subject)
		if err != nil {
			return nil, 0, err
		}
		live[er.Subject] = true
		done[i] = &rights.Erased{Members: ms}
		if group = append(group, i); len(group) == eraseGroup {
			if err := flush(); err != nil {
				return nil, 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, 0, err
	}
	if len(live) == 0 {
		return done, 0, nil
	}
	for i, er := range plans {
		if done[i] == nil {
			continue
		}
		topic, payload, err := msgs[i].wait()
		if err != nil {
			return nil, 0, err
		}
		if err := t.st(qeCreateOutbox).QueryRowContext(ctx, topic, string(er.Subject), string(payload), er.Time.UnixMilli()).Scan(&done[i].Outbox); err != nil {
			return nil, 0, fmt.Errorf("store: erase %s: outbox: %w", er.Subject, err)
		}
	}
	for i, er := range plans {
		if done[i] != nil && er.Confirm != nil {
			if err := er.Confirm(); err != nil {
				return nil, 0, err
			}
		}
	}
	// the tail forgets the erased once they are gone for good, and no run
	// is written meanwhile from a tail that still names them (a run is
	// written by a transaction that reads the tail, which waits for this
	// lock once the commit frees the writer)
	tail := e.db.tail
	tail.mu.Lock()
	err = tx.Commit()
	if err == nil {
		tail.forgetLocked(t.erased)
	}
	tail.mu.Unlock()
	if err != nil {
		return nil, 0, fmt.Errorf("store: erase: %w", err)
	}
	return done, len(live), nil
}

// message is a plan's Message running on its own goroutine.
type message struct {
	done    chan struct{}
	topic   string
	payload []byte
	err     error
}

func (m *message) start(er *rights.ErasePlan, d *rights.Erased) {
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		m.topic, m.payload, m.err = er.Message(d)
	}()
}

func (m *message) wait() (string, []byte, error) {
	<-m.done
	return m.topic, m.payload, m.err
}

// eraseRows counts, suppresses and deletes the rows of a group of plans
// (indexes in plans and done, whose Members are read).
func (t *eraseTx) eraseRows(plans []*rights.ErasePlan, done []*rights.Erased, group []int) error {
	owner := map[string]int{} // subject → index of its plan
	var ids []garde.SubjectID
	for _, i := range group {
		for _, m := range done[i].Members {
			owner[string(m)] = i
			ids = append(ids, m)
		}
	}
	list := jsonList(ids)
	// each returned row names its subject, hence its plan
	var subject sql.RawBytes
	plan := func() (int, error) {
		i, ok := owner[string(subject)]
		if !ok {
			return 0, fmt.Errorf("a row of an unexpected subject")
		}
		return i, nil
	}
	// the events, found through the index by subject, whose entries go too
	byS, err := t.e.db.eventIDs(t.ctx, t.tx, ids)
	if err != nil {
		return err
	}
	if _, err := t.st(qeDelRuns).ExecContext(t.ctx, list); err != nil {
		return err
	}
	t.erased = append(t.erased, ids...)
	err = eachRow(t.ctx, t.st(qeDelEvents), []any{jsonList(allIDs(byS)), list}, func(rows *sql.Rows) error {
		var typ, name, props, ctxt, sealed sql.RawBytes
		if err := rows.Scan(&subject, &typ, &name, &props, &ctxt, &sealed); err != nil {
			return err
		}
		i, err := plan()
		if err != nil {
			return err
		}
		done[i].Rows.Events++
		if plans[i].Event != nil {
			plans[i].Event(string(typ), string(name), props, ctxt, sealed)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = eachRow(t.ctx, t.st(qeDelTraits), []any{list}, func(rows *sql.Rows) error {
		var name, category string
		if err := rows.Scan(&subject, &name, &category); err != nil {
			return err
		}
		i, err := plan()
		if err != nil {
			return err
		}
		done[i].Rows.Traits++
		if plans[i].Trait != nil {
			plans[i].Trait(name, category)
		}
		return nil
	})
	if err != nil {
		return err
	}
	type marker struct {
		plan int
		hash []byte
	}
	var markers []marker
	err = eachRow(t.ctx, t.st(qeDelIdent), []any{list}, func(rows *sql.Rows) error {
		var kind string
		var hash []byte
		if err := rows.Scan(&subject, &kind, &hash); err != nil {
			return err
		}
		i, err := plan()
		if err != nil {
			return err
		}
		done[i].Rows.Identities++
		if er := plans[i]; er.Suppress && er.Marker != nil {
			markers = append(markers, marker{i, er.Marker(kind, hash)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	// inserted once the identities' rows are read: one statement at a time
	for _, m := range markers {
		// before the insert: collection looks markers up from now on (a
		// rollback leaves it looking, which is only slower)
		t.e.db.suppressions.Store(true)
		res, err := t.st(qeSuppress).ExecContext(t.ctx, m.hash, plans[m.plan].Time.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		done[m.plan].Suppressions += int(n)
	}
	for _, d := range []struct {
		q     string
		count func(*rights.Erased)
	}{
		{qeDelGuardian, func(d *rights.Erased) { d.Rows.GuardianRequests++ }},
		{qeDelSubjects, func(d *rights.Erased) { d.Rows.Subjects++ }},
	} {
		err = eachRow(t.ctx, t.st(d.q), []any{list}, func(rows *sql.Rows) error {
			if err := rows.Scan(&subject); err != nil {
				return err
			}
			i, err := plan()
			if err != nil {
				return err
			}
			d.count(done[i])
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachRow runs a query and fn on each row (fn must not keep RawBytes).
func eachRow(ctx context.Context, st *sql.Stmt, args []any, fn func(*sql.Rows) error) error {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkpoint truncates the data database's write-ahead log (truncateLog).
func (e *Erase) checkpoint(ctx context.Context) error { return truncateLog(ctx, e.db) }

// truncateLog copies db's write-ahead log into the database and truncates
// it, so that no older copy of an erased page survives in the log. Unlike
// DB.Checkpoint it checks that the checkpoint completed (a reader holding an
// old snapshot makes it report busy, without an error) and retries a few
// times.
func truncateLog(ctx context.Context, db *DB) error {
	for attempt := 0; ; attempt++ {
		var busy, logFrames, done int
		err := db.writer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
		if err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
		if attempt == 4 {
			return garde.Errorf(garde.EUnavailable, "the write-ahead log is in use; it will be truncated at the next checkpoint")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
		}
	}
}

// FindSuppression implements rights.EraseStore.
func (e *Erase) FindSuppression(ctx context.Context, marker []byte) (bool, error) {
	var one int
	if err := e.prepare(ctx); err != nil {
		return false, err
	}
	err := e.reads[qeSuppressed].QueryRowContext(ctx, marker).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: find suppression: %w", err)
	}
	return true, nil
}
