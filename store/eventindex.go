package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
)

// The index of events by subject (migration 00015): runs in the database,
// and the tail — the events after the last run — in memory.
//
// The collection writer adds each group's events to the tail once the
// group has committed; when the tail reaches runEvents, the group that
// would pass it writes the whole tail, and its own events, as a run in its
// transaction, and the tail starts over once that commits. A look-up reads
// the tail first and the runs second (each query its own snapshot, taken
// after): a run written in between is then in the runs read, so no event
// is missed, and one read twice is counted once. The index may name events
// that are gone (retention deletes rows without rewriting runs; another
// process may erase): every read keeps only the rows still there and still
// the subject's.
//
// Events another process inserts (or a test's plain INSERT) are picked up
// by catchUp at the next look-up; the CLI's verbs that read or erase people
// build their tail when they open the database and, as before, are meant
// for a stopped server.

// runEvents is how many events the tail holds before they are written as a
// run: large enough that runs are few (a look-up probes each: ~600 for ten
// million events), small enough that writing one (a row per subject,
// appended, in a group's commit) pauses the writer briefly. With 4 × 100
// event batches, customers known, the p99 was 113 ms with 32,768, 91 ms
// with 16,384 and 58 ms with 8,192 (the former B-tree index: 52 ms, in a
// fresh bench/load.sh run).
var runEvents = 16384

// eventTail indexes the events after the last run, by subject.
type eventTail struct {
	mu   sync.RWMutex
	last int64 // the last run (0: none): the tail holds the events after it
	seen int64 // the highest id indexed (added by the writer, read by catchUp, or in a run): never below last
	next int64 // the next id reserve gives
	ids  map[garde.SubjectID][]int64
	n    int
}

// reserve returns the first of n consecutive ids for new events, above
// every id seen and every run: SQLite's own choice (one above the highest
// row) would give again the id of a newest event that was erased, which a
// run may cover, and which the tail, rebuilt at open from the events after
// the last run, would then miss.
func (t *eventTail) reserve(n int) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := max(t.next, t.seen+1)
	t.next = first + int64(n)
	return first
}

// subjectEvent is one event's id and subject.
type subjectEvent struct {
	subject garde.SubjectID
	id      int64
}

// loadTail reads the runs' end and indexes the events after it.
func (db *DB) loadTail(ctx context.Context) error {
	t := &eventTail{ids: map[garde.SubjectID][]int64{}}
	if err := db.writer.QueryRowContext(ctx, `SELECT COALESCE(max(run), 0) FROM event_run_list`).Scan(&t.last); err != nil {
		return err
	}
	t.seen = t.last
	db.tail = t
	return t.catchUp(ctx, db.writer)
}

// catchUp indexes events the table holds past the highest id it has read
// and that this process did not write: those another process (or a test's
// plain INSERT) added. The writer's own are added as it commits them
// (added), so this is one look at the table's last id, most of the time.
func (t *eventTail) catchUp(ctx context.Context, q queryer) error {
	t.mu.RLock()
	from := t.seen
	t.mu.RUnlock()
	var top int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) FROM events`).Scan(&top); err != nil {
		return err
	}
	if top <= from {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT id, subject_id FROM events WHERE id > ? ORDER BY id`, from)
	if err != nil {
		return err
	}
	defer rows.Close()
	var found []subjectEvent
	for rows.Next() {
		var e subjectEvent
		var s string
		if err := rows.Scan(&e.id, &s); err != nil {
			return err
		}
		e.subject = garde.SubjectID(s)
		found = append(found, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range found {
		if e.id > t.seen {
			t.add(e) // (one the writer also adds is read twice: readers skip repeats)
			t.seen = e.id
		}
	}
	return nil
}

func (t *eventTail) add(e subjectEvent) {
	t.ids[e.subject] = append(t.ids[e.subject], e.id)
	t.n++
}

// added records a committed group's events.
func (t *eventTail) added(events []subjectEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range events {
		t.add(e)
		t.seen = max(t.seen, e.id)
	}
}

// ran records a committed run: the tail so far, then events, are in it
// (any event added since with a higher id stays).
func (t *eventTail) ran(run int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := t.ids
	t.last, t.ids, t.n = run, map[garde.SubjectID][]int64{}, 0
	t.seen = max(t.seen, run)
	for s, list := range ids {
		for _, id := range list {
			if id > run {
				t.add(subjectEvent{s, id})
			}
		}
	}
}

// forgetLocked drops erased subjects; t.mu is held.
func (t *eventTail) forgetLocked(subjects []garde.SubjectID) {
	for _, s := range subjects {
		t.n -= len(t.ids[s])
		delete(t.ids, s)
	}
}

// size is how many events the tail holds.
func (t *eventTail) size() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n
}

// entries copies the tail's events.
func (t *eventTail) entries() []subjectEvent {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]subjectEvent, 0, t.n)
	for s, ids := range t.ids {
		for _, id := range ids {
			out = append(out, subjectEvent{s, id})
		}
	}
	return out
}

// writeRun writes the tail and events (a group's, not yet in the tail) as
// one run in tx, and returns the run (the last event's id). The rows go in
// key order (subject within the run), so that they are appended.
func writeRun(ctx context.Context, tx *sql.Tx, tail *eventTail, events []subjectEvent) (int64, error) {
	all := append(tail.entries(), events...)
	if len(all) == 0 {
		return 0, nil
	}
	slices.SortFunc(all, func(a, b subjectEvent) int {
		if c := strings.Compare(string(a.subject), string(b.subject)); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	var run int64
	for _, e := range all {
		run = max(run, e.id)
	}
	const perInsert = 64
	args := make([]any, 0, 3*perInsert)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		n := len(args) / 3
		q := `INSERT INTO event_runs (run, subject_id, ids) VALUES (?, ?, ?)` + strings.Repeat(`, (?, ?, ?)`, n-1)
		_, err := tx.ExecContext(ctx, q, args...)
		args = args[:0]
		return err
	}
	var ids []int64
	for i := 0; i < len(all); {
		j := i
		for ids = ids[:0]; j < len(all) && all[j].subject == all[i].subject; j++ {
			ids = append(ids, all[j].id)
		}
		// (an id in twice was read by catchUp and added by the writer)
		args = append(args, run, string(all[i].subject), jsonList(slices.Compact(ids)))
		if len(args) == 3*perInsert {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		i = j
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO event_run_list (run) VALUES (?)`, run); err != nil {
		return 0, err
	}
	return run, nil
}

// queryer is a connection pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// eventIDs returns the ids of the subjects' events, by subject, ascending:
// the tail's, then the runs' read through q (see the order above).
func (db *DB) eventIDs(ctx context.Context, q queryer, subjects []garde.SubjectID) (map[garde.SubjectID][]int64, error) {
	out := make(map[garde.SubjectID][]int64, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	if err := db.tail.catchUp(ctx, q); err != nil {
		return nil, fmt.Errorf("store: events by subject: %w", err)
	}
	db.tail.mu.RLock()
	for _, s := range subjects {
		if ids := db.tail.ids[s]; len(ids) > 0 {
			out[s] = append(out[s], ids...)
		}
	}
	db.tail.mu.RUnlock()
	rows, err := q.QueryContext(ctx, `SELECT subject_id, ids FROM event_runs
		WHERE run IN (SELECT run FROM event_run_list) AND subject_id IN (`+placeholders(len(subjects))+`)`, subjectArgs(subjects)...)
	if err != nil {
		return nil, fmt.Errorf("store: events by subject: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var ids sql.RawBytes
		if err := rows.Scan(&s, &ids); err != nil {
			return nil, fmt.Errorf("store: events by subject: %w", err)
		}
		var run []int64
		if err := json.Unmarshal(ids, &run); err != nil {
			return nil, fmt.Errorf("store: events by subject %s: a damaged run: %w", s, err)
		}
		out[garde.SubjectID(s)] = append(out[garde.SubjectID(s)], run...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: events by subject: %w", err)
	}
	for s, ids := range out {
		slices.Sort(ids)
		out[s] = slices.Compact(ids)
	}
	return out, nil
}

// allIDs is every id of byS, ascending.
func allIDs(byS map[garde.SubjectID][]int64) []int64 {
	var out []int64
	for _, ids := range byS {
		out = append(out, ids...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// jsonList is a list of ids as a JSON array for json_each, bound as text:
// SQLite reads a blob as JSONB.
func jsonList[T int64 | garde.SubjectID](list []T) string {
	b, _ := json.Marshal(list) // numbers or strings: cannot fail
	return string(b)
}

// eventsByID is the query of the events among ids (one JSON list) that are
// still of n subjects (the arguments after it), in id order, newest first
// if desc: what every reader of events by subject reads once the index
// has named the ids.
func eventsByID(n int, desc bool) string {
	order := "id"
	if desc {
		order = "id DESC"
	}
	return `SELECT ` + eventColumns + ` FROM events WHERE id IN (SELECT value FROM json_each(?)) AND subject_id IN (` +
		placeholders(n) + `) ORDER BY ` + order
}

// eventColumns are the columns of an event as stored (scanStoredEvents
// and Bundle.eachEvent read them).
const eventColumns = `id, subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed`
