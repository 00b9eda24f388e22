package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
)

// The index of events by subject (migration 00015): runs in the database,
// and the tail — the events after the last run — in memory.
//
// The collection writer adds each group's events to the tail once the
// group has committed. When the tail reaches runEvents, it is frozen as the
// pending run, which the following group commits write a slice each
// (writeRunStep): the rows go in key order (subject within the run), so
// that they are appended, and no group pauses the writer to write a whole
// run. Once the run is complete, the tail keeps only the events after it.
// A look-up reads the tail first and the complete runs second (each query
// its own snapshot, taken after): a run completed in between is then in
// the runs read, so no event is missed, and one read twice is counted
// once. The index may name events that are gone (retention deletes rows
// without rewriting runs; another process may erase): every read keeps
// only the rows still there and still the subject's.
//
// Events another process inserts (or a test's plain INSERT) are picked up
// by catchUp at the next look-up; the CLI's verbs that read or erase people
// build their tail when they open the database and, as before, are meant
// for a stopped server.

// runEvents is how many events the tail holds before they are frozen as
// the next run: large enough that runs are few (a look-up probes each:
// ~600 for ten million events), small enough that the tail's memory stays
// small (a run is written over the group commits that follow).
var runEvents = 65536

// eventTail indexes the events after the last run, by subject.
type eventTail struct {
	mu   sync.RWMutex
	last int64 // the last run (0: none): the tail holds the events after it
	seen int64 // the highest id indexed (added by the writer, read by catchUp, or in a run): never below last
	next int64 // the next id reserve gives
	ids  map[garde.SubjectID][]int64
	n    int
	// pending is the run being written (nil: none); its events are in
	// the tail until it is complete. sorting gives the next, once sorted
	// (nil: none frozen).
	pending *pendingRun
	sorting chan *pendingRun
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
	if err := db.writer.QueryRowContext(ctx, eventRunList.lastComplete()).Scan(&t.last); err != nil {
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

// forgetLocked drops erased subjects, from the tail and from the pending
// run's rows; t.mu is held.
func (t *eventTail) forgetLocked(subjects []garde.SubjectID) {
	for _, s := range subjects {
		t.n -= len(t.ids[s])
		delete(t.ids, s)
		if p := t.pending; p != nil {
			if i, ok := slices.BinarySearchFunc(p.rows, s, func(r runRow, s garde.SubjectID) int {
				return strings.Compare(string(r.subject), string(s))
			}); ok {
				p.rows[i].ids = nil
			}
		}
	}
}

// runChunk is the fewest rows of the pending run a group commit writes,
// and runPerEvent how many more it writes per event it adds: a run has at
// most a row per event, so with two the pending run is complete before the
// tail has gathered another runEvents.
var runChunk, runPerEvent = 512, 2

// qCreateRunRows are the multi-row inserts of a run's rows.
var qCreateRunRows = multiRow(`INSERT INTO event_runs (run, subject_id, ids) VALUES `, 3, "")

// pendingRun is a run being written: its rows (one per subject, in key
// order) and how many of them committed group commits have written.
type pendingRun struct {
	run  int64
	rows []runRow
	pos  int
	// fresh: frozen by the group commit under way, forgotten if it fails
	fresh bool
}

// runRow is one subject's events in a run, ascending; nil once the
// subject is erased.
type runRow struct {
	subject garde.SubjectID
	ids     []int64
}

// runStep is what a group commit wrote of the pending run: through which
// row, and whether that completed it.
type runStep struct {
	pos  int
	done bool
}

// freezeLocked starts sorting the tail, as it is, into the next run on a
// goroutine of its own: 35 ms for 65,536 subjects, which the writer would
// otherwise wait for. t.mu is held.
func (t *eventTail) freezeLocked() {
	rows := make([]runRow, 0, len(t.ids))
	for s, ids := range t.ids {
		if len(ids) > 0 {
			// the writer appends past len meanwhile, never within
			rows = append(rows, runRow{s, ids[:len(ids):len(ids)]})
		}
	}
	sorted := make(chan *pendingRun, 1)
	t.sorting = sorted
	go func() { sorted <- sortRun(rows) }()
}

// sortRun makes rows a run: each subject's ids and the subjects in order.
func sortRun(rows []runRow) *pendingRun {
	p := &pendingRun{rows: rows, fresh: true}
	for i := range rows {
		ids := slices.Clone(rows[i].ids)
		slices.Sort(ids)
		// (an id in twice was read by catchUp and added by the writer)
		ids = slices.Compact(ids)
		rows[i].ids = ids
		p.run = max(p.run, ids[len(ids)-1])
	}
	slices.SortFunc(rows, func(a, b runRow) int { return strings.Compare(string(a.subject), string(b.subject)) })
	return p
}

// sortWait makes pendingLocked wait for every sort (tests that count
// group commits).
var sortWait = false

// pendingLocked returns the pending run: the one being written, or the
// one frozen by an earlier group commit once sorted (waited for only if
// the tail has reached twice runEvents), with the subjects erased since
// it was frozen left out; nil if there is none yet. t.mu is held.
func (t *eventTail) pendingLocked() *pendingRun {
	if t.pending != nil {
		return t.pending
	}
	if t.sorting == nil {
		if t.n >= runEvents {
			t.freezeLocked() // for the next group commit
		}
		return nil
	}
	p, ok := receive(t.sorting, t.n >= 2*runEvents || sortWait)
	if !ok {
		return nil
	}
	t.sorting = nil
	for i, r := range p.rows {
		if _, ok := t.ids[r.subject]; !ok {
			p.rows[i].ids = nil // erased meanwhile
		}
	}
	t.pending = p
	return p
}

// writeRunStep writes, in a group commit's transaction, the next rows of
// the pending run (pendingLocked): as many as runChunk and runPerEvent say
// for a group of events. The run is listed when its first rows are
// written, and marked complete with its last: look-ups read complete runs
// only, and until then the tail still holds its events. Erasure deletes
// the rows of every listed run, complete or not, and forgets the erased
// from the pending run's rows still to write. Rows of a run a crash left
// incomplete are deleted when the next run is listed. ok is false when
// there was nothing to write. stmt gives the statements of
// qCreateRunRows in tx.
func (t *eventTail) writeRunStep(ctx context.Context, tx *sql.Tx, stmt func(q string) (*sql.Stmt, error), events int) (step runStep, ok bool, err error) {
	t.mu.Lock()
	p := t.pendingLocked()
	if p == nil {
		t.mu.Unlock()
		return runStep{}, false, nil
	}
	end := min(len(p.rows), p.pos+max(runChunk, runPerEvent*events))
	rows := make([]runRow, 0, end-p.pos)
	for _, r := range p.rows[p.pos:end] {
		if r.ids != nil {
			rows = append(rows, r)
		}
	}
	t.mu.Unlock()
	if p.fresh {
		if err := eventRunList.start(ctx, tx, p.run); err != nil {
			return runStep{}, true, err
		}
	}
	args := make([]any, 0, 3*len(rows))
	for _, r := range rows {
		args = append(args, p.run, string(r.subject), jsonList(r.ids))
	}
	if err := insertRows(ctx, stmt, qCreateRunRows, 3, args); err != nil {
		return runStep{}, true, err
	}
	step = runStep{pos: end, done: end == len(p.rows)}
	if step.done {
		if err := eventRunList.finish(ctx, tx, p.run); err != nil {
			return runStep{}, true, err
		}
	}
	return step, true, nil
}

// committed records a group commit's outcome: its events join the tail,
// and what it wrote of the pending run counts (err == nil); or a run it
// froze is dropped (err != nil: the rows were rolled back).
func (t *eventTail) committed(events []subjectEvent, step runStep, wrote bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if t.pending != nil && t.pending.fresh {
			t.pending = nil
		}
		return
	}
	for _, e := range events {
		t.add(e)
		t.seen = max(t.seen, e.id)
	}
	if !wrote {
		return
	}
	p := t.pending
	p.pos, p.fresh = step.pos, false
	if !step.done {
		return
	}
	// the run is complete: the tail keeps the events after it (in a map
	// sized for as many subjects: the next run will likely have as many)
	ids := t.ids
	t.last, t.ids, t.n, t.pending = p.run, make(map[garde.SubjectID][]int64, len(ids)), 0, nil
	t.seen = max(t.seen, p.run)
	for s, list := range ids {
		for _, id := range list {
			if id > p.run {
				t.add(subjectEvent{s, id})
			}
		}
	}
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
		WHERE run IN (SELECT run FROM event_run_list WHERE complete) AND subject_id IN (`+placeholders(len(subjects))+`)`, subjectArgs(subjects)...)
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
		run, err := jsonInts(ids)
		if err != nil {
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
	if ids, ok := any(list).([]int64); ok && ids != nil { // the common case, without reflection
		b := make([]byte, 0, 2+8*len(ids))
		b = append(b, '[')
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, id, 10)
		}
		return string(append(b, ']'))
	}
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
