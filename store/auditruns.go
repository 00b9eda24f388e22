package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/garde-privacy/garde/audit"
)

// The audit log's keys in runs (migration 00017): a run covers the
// segments after the run before it up to its own, with one row per key
// naming the segments that have it. The segments after the last complete
// run are the tail, which every look-up reads in full.
//
// Once appends have added auditRunBytes of segments to the tail, one of
// them starts reading the tail's closed segments (all but the last, the
// only one an append can still grow) on a reader, on a goroutine of its
// own; the appends that follow pick the sorted run up and write a slice of
// its rows each, in their own transaction: no append pauses for a whole
// run. Where a run stands is read from the database at each slice (its
// listing, its last key written), so an append rolled back leaves nothing
// to undo in memory: the next one writes the same rows again.

// auditRunBytes is how many bytes of segments the tail gathers before
// they are made a run: a look-up decodes the whole tail (up to about
// twice this while a run is written) and probes each run (~150 for ten
// million events collected in batches of 100).
var auditRunBytes int64 = 2 << 20

// auditRunChunk is the fewest rows of the pending run an append writes;
// beyond it, an append writes twice its share of the run's rows for the
// bytes it adds, so that a run is complete before the tail has gathered
// half a run more.
var auditRunChunk = 256

// auditRunWait makes an append wait for the run being read (tests that
// count appends).
var auditRunWait = false

// auditRuns is where the log's runs stand in this process (one per data
// database).
type auditRuns struct {
	db       *DB
	mu       sync.Mutex
	tail     int64         // bytes appended past the last run, about (rolled-back appends count too)
	building chan builtRun // a run being read and sorted (nil: none)
	pending  *keyRun       // the run being written (nil: none)
}

// keyRun is a run: the segments in (prev, run], the keys they have.
type keyRun struct {
	run, prev int64
	bytes     int64         // the segments' size
	rows      []keyPostings // by key
}

// keyPostings is one key's row of a run.
type keyPostings struct {
	key  string
	seqs []int64 // the first_seq of each segment with the key, ascending
}

// builtRun is what readKeyRun found: the next run (nil: not enough closed
// segments in the tail for one), and the bytes of the tail's closed
// segments left out of it.
type builtRun struct {
	run  *keyRun
	left int64
}

// Queries of the runs.
const (
	qTailSegments = `SELECT first_seq, length(body) FROM audit_segments WHERE first_seq > ? ORDER BY first_seq`
	qRunSegments  = `SELECT first_seq, body FROM audit_segments WHERE first_seq > ? AND first_seq <= ? ORDER BY first_seq`
)

var (
	// qLastKeyRun is the query of the last complete run (0: none).
	qLastKeyRun = auditRunList.lastComplete()
	// qKeyRunState is where a run stands: the last complete run, whether
	// the run is listed (and complete), the last of its keys written.
	qKeyRunState = `SELECT (` + qLastKeyRun + `), (SELECT complete FROM audit_key_run_list WHERE run = ?),
		(SELECT max(key) FROM audit_key_runs WHERE run = ?)`
	// qCreateKeyRuns are the multi-row inserts of a run's rows.
	qCreateKeyRuns = multiRow(`INSERT INTO audit_key_runs (run, key, seqs) VALUES `, 3, "")
)

// step is an append's share of the runs' upkeep, in its transaction t,
// for the bytes of segments it added: a slice of the pending run, or
// picking up a sorted one, or starting the next once the tail is large.
func (r *auditRuns) step(ctx context.Context, t *auditTx, added int64) error {
	r.mu.Lock()
	r.tail += added
	p := r.pickLocked()
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	n := max(auditRunChunk, int(2*added*int64(len(p.rows))/max(p.bytes, 1))+1)
	stale, err := writeKeyRun(ctx, t.tx, func(q string) (*sql.Stmt, error) { return t.stmt(ctx, q) }, p, n)
	if err != nil {
		return err
	}
	if stale {
		r.mu.Lock()
		if r.pending == p {
			r.pending = nil
		}
		r.mu.Unlock()
	}
	return nil
}

// pickLocked returns the pending run: the one being written, or one
// sorted since the last append; or starts reading the next if the tail is
// large enough. r.mu is held.
func (r *auditRuns) pickLocked() *keyRun {
	if r.pending != nil {
		return r.pending
	}
	if r.building != nil {
		b, ok := receive(r.building, auditRunWait)
		if !ok {
			return nil
		}
		r.building = nil
		r.pending = b.run
		// what the tail still holds, less its last segment (an append
		// may grow it: it waits for the run after)
		r.tail = b.left
		return r.pending
	}
	if r.tail >= auditRunBytes {
		ch := make(chan builtRun, 1)
		r.building = ch
		go func() {
			b, err := r.db.readKeyRun(context.Background())
			if err != nil { // (the database closed, say): the next run's turn tries again
				b = builtRun{}
			}
			ch <- b
		}()
	}
	return nil
}

// readKeyRun reads the tail and, if its closed segments hold at least
// auditRunBytes, makes the first of them that do into the next run.
func (db *DB) readKeyRun(ctx context.Context) (builtRun, error) {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return builtRun{}, err
	}
	defer tx.Rollback()
	p := &keyRun{}
	if err := tx.QueryRowContext(ctx, qLastKeyRun).Scan(&p.prev); err != nil {
		return builtRun{}, err
	}
	rows, err := tx.QueryContext(ctx, qTailSegments, p.prev)
	if err != nil {
		return builtRun{}, err
	}
	type sized struct{ first, size int64 }
	var segs []sized
	for rows.Next() {
		var s sized
		if err := rows.Scan(&s.first, &s.size); err != nil {
			rows.Close()
			return builtRun{}, err
		}
		segs = append(segs, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return builtRun{}, err
	}
	var closed int64
	if len(segs) > 0 {
		segs = segs[:len(segs)-1]
	}
	for _, s := range segs {
		closed += s.size
		if p.run == 0 && closed >= auditRunBytes {
			p.run, p.bytes = s.first, closed
		}
	}
	if p.run == 0 {
		return builtRun{left: closed}, nil
	}
	if err := p.read(ctx, tx); err != nil {
		return builtRun{}, err
	}
	return builtRun{run: p, left: closed - p.bytes}, nil
}

// read fills p's rows from its segments.
func (p *keyRun) read(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, qRunSegments, p.prev, p.run)
	if err != nil {
		return err
	}
	defer rows.Close()
	byKey := map[string][]int64{}
	var kb []byte
	add := func(first int64, kind byte, v []byte) {
		kb = append(append(kb[:0], kind, '='), v...)
		seqs := byKey[string(kb)]
		if n := len(seqs); n == 0 || seqs[n-1] != first {
			byKey[string(kb)] = append(seqs, first)
		}
	}
	var first int64
	var body sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&first, &body); err != nil {
			return err
		}
		// an entry that does not parse (altered) has no keys: verify
		// reports it
		eachFrame(body, func(r audit.RawEntry) error {
			if v, err := audit.ParseView(r.Canonical); err == nil {
				entryKeys(&v, func(kind byte, val []byte) { add(first, kind, val) })
			}
			return nil
		})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	p.rows = make([]keyPostings, 0, len(byKey))
	for k, seqs := range byKey {
		p.rows = append(p.rows, keyPostings{k, seqs})
	}
	slices.SortFunc(p.rows, func(a, b keyPostings) int { return strings.Compare(a.key, b.key) })
	return nil
}

// entryKeys calls add with each key an entry is found by: its actor, its
// action, its purpose (if any) and each subject it lists.
func entryKeys(v *audit.View, add func(kind byte, value []byte)) {
	add(keyActor, v.Actor)
	add(keyAction, v.Action)
	if len(v.Purpose) > 0 {
		add(keyPurpose, v.Purpose)
	}
	for s := range v.Subjects() {
		add(keySubject, s)
	}
}

// writeKeyRun writes, in tx, up to n more rows of p, after the last one
// stored: listing p with its first rows (and dropping the rows of any run
// a crash left incomplete), marking it complete with its last. stale says
// that p no longer follows the last complete run (p is complete already, or
// another process wrote runs): there is nothing to write. stmt gives the
// statements of qCreateKeyRuns in tx.
func writeKeyRun(ctx context.Context, tx *sql.Tx, stmt func(q string) (*sql.Stmt, error), p *keyRun, n int) (stale bool, err error) {
	var last int64
	var complete sql.NullBool
	var after sql.NullString
	if err := tx.QueryRowContext(ctx, qKeyRunState, p.run, p.run).Scan(&last, &complete, &after); err != nil {
		return false, fmt.Errorf("audit runs: %w", err)
	}
	if last != p.prev {
		return true, nil
	}
	pos := 0
	switch {
	case !complete.Valid:
		if err := auditRunList.start(ctx, tx, p.run); err != nil {
			return false, fmt.Errorf("audit runs: %w", err)
		}
	case after.Valid:
		i, found := slices.BinarySearchFunc(p.rows, after.String, func(r keyPostings, k string) int { return strings.Compare(r.key, k) })
		if found {
			i++
		}
		pos = i
	}
	end := min(len(p.rows), pos+n)
	args := make([]any, 0, 3*(end-pos))
	for _, r := range p.rows[pos:end] {
		args = append(args, p.run, r.key, jsonList(r.seqs))
	}
	if err := insertRows(ctx, stmt, qCreateKeyRuns, 3, args); err != nil {
		return false, fmt.Errorf("audit runs: %w", err)
	}
	if end == len(p.rows) {
		if err := auditRunList.finish(ctx, tx, p.run); err != nil {
			return false, fmt.Errorf("audit runs: %w", err)
		}
	}
	return false, nil
}

// indexAudit makes the tail's closed segments into runs, each in a
// transaction of its own, while they hold auditRunBytes: at open, for the
// segments another process appended, or a log older than the runs.
func (db *DB) indexAudit(ctx context.Context) error {
	for {
		b, err := db.readKeyRun(ctx)
		if err != nil {
			return fmt.Errorf("index the audit log: %w", err)
		}
		if b.run == nil {
			db.auditRuns.tail = b.left
			return nil
		}
		tx, err := db.writer.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("index the audit log: %w", err)
		}
		stale, err := writeKeyRun(ctx, tx, func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, q) }, b.run, len(b.run.rows))
		if err == nil && stale { // another process wrote runs meanwhile
			err = errors.New("the runs changed while they were read")
		}
		if err == nil {
			err = tx.Commit()
		}
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("index the audit log: %w", err)
		}
	}
}
