package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
)

// TestEventIndex checks the index by subject (runs and tail) against the
// table itself through a random history: group commits (some rolled back)
// that fill the tail past runEvents many times over, plain INSERTs behind
// the writer's back, rows deleted by id (as retention does), erasures, and
// reopenings. After each step every reader — the newest events of one
// person, of several, the copy of all of them, and the erasure — must see
// exactly the rows the table holds for the subject, and an erased subject
// must be gone from the index.
func TestEventIndex(t *testing.T) {
	setRuns(t, 25, 3, 0, false) // a run takes several groups
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "garde.db")
	db, err := OpenSQLite(ctx, path, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	rnd := rand.New(rand.NewPCG(1, 2))
	var people []garde.SubjectID
	created := map[garde.SubjectID]bool{}
	erased := map[garde.SubjectID]bool{}
	pick := func() garde.SubjectID {
		if len(people)-len(erased) < 8 && len(people) < 40 {
			people = append(people, garde.NewSubjectID())
		}
		return people[rnd.IntN(len(people))]
	}
	seq := 0
	row := func(s garde.SubjectID) collect.EventRow {
		seq++
		at := time.UnixMilli(int64(seq))
		return collect.EventRow{Subject: s, Source: "web", Type: "track", Name: "E", MessageID: fmt.Sprint("m", seq),
			Time: at, Received: at, Purposes: "analytics", Properties: "{}", Context: "{}"}
	}
	group := func() {
		tx, err := NewCollect(db).BeginCollect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var rows []collect.EventRow
		var fresh []garde.SubjectID
		for range 1 + rnd.IntN(90) {
			s := pick()
			if erased[s] {
				continue
			}
			if !created[s] && !slices.Contains(fresh, s) {
				if err := tx.CreateSubject(ctx, s, false, time.Now()); err != nil {
					t.Fatal(err)
				}
				fresh = append(fresh, s)
			}
			rows = append(rows, row(s))
		}
		if err := tx.CreateEvents(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if rnd.IntN(10) == 0 {
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, s := range fresh {
			created[s] = true
		}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.writer.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string) {
		t.Helper()
		var all []garde.SubjectID
		for _, s := range people {
			want := tableIDs(t, db, s)
			if erased[s] {
				var n int
				db.reader.QueryRow(`SELECT count(*) FROM event_runs WHERE subject_id = ?`, string(s)).Scan(&n)
				if len(want) > 0 || n > 0 || len(db.tail.ids[s]) > 0 {
					t.Fatalf("%s: erased %s: %d rows, %d runs, %d in the tail", step, s, len(want), n, len(db.tail.ids[s]))
				}
				continue
			}
			all = append(all, s)
			got, err := NewProfiles(db).FindEvents(ctx, []garde.SubjectID{s}, 7)
			if err != nil {
				t.Fatal(err)
			}
			if w := newest(want, 7); !slices.Equal(storedIDs(got), w) {
				t.Fatalf("%s: FindEvents(%s) = %v, want %v", step, s, storedIDs(got), w)
			}
			var copied []int64
			err = NewBundle(db).EachEvent(ctx, []garde.SubjectID{s}, func(e *profile.StoredEvent) error {
				copied = append(copied, e.ID)
				return nil
			})
			if err != nil || !slices.Equal(copied, want) {
				t.Fatalf("%s: EachEvent(%s) = %v, %v; want %v", step, s, copied, err, want)
			}
		}
		got, err := NewProfiles(db).FindEventsEach(ctx, all, 3)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, s := range all {
			want = append(want, newest(tableIDs(t, db, s), 3)...)
		}
		slices.Sort(want)
		slices.Reverse(want)
		if !slices.Equal(storedIDs(got), want) {
			t.Fatalf("%s: FindEventsEach = %v, want %v", step, storedIDs(got), want)
		}
	}
	runs := func() int {
		var n int
		db.reader.QueryRow(`SELECT count(*) FROM event_run_list`).Scan(&n)
		return n
	}
	erasedPending, reopenedPending := 0, 0
	for step := range 200 {
		name := fmt.Sprint("step ", step)
		switch r := rnd.IntN(20); {
		case r < 13:
			group()
		case r < 15: // behind the writer's back
			s := pick()
			if !erased[s] {
				e := row(s)
				exec(`INSERT INTO events (subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context)
					VALUES (?, 'web', 'track', 'E', ?, 0, 0, '', '{}', '{}')`, string(s), e.MessageID)
			}
		case r < 17: // as retention does
			exec(`DELETE FROM events WHERE id = (SELECT id FROM events ORDER BY random() LIMIT 1)`)
		case r < 19:
			s := people[rnd.IntN(len(people))]
			if created[s] && !erased[s] {
				if db.tail.pending != nil || db.tail.sorting != nil {
					erasedPending++
				}
				plan := &rights.ErasePlan{Subject: s, Members: []garde.SubjectID{s}, Time: time.Now(),
					Message: func(*rights.Erased) (string, []byte, error) { return rights.TopicSubjectErased, []byte("{}"), nil }}
				if _, err := NewErase(db).EraseSubjects(ctx, plan); err != nil {
					t.Fatalf("%s: erase: %v", name, err)
				}
				erased[s] = true
			}
		default:
			if db.tail.pending != nil || db.tail.sorting != nil {
				reopenedPending++
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if db, err = OpenSQLite(ctx, path, "data"); err != nil {
				t.Fatal(err)
			}
		}
		check(name)
	}
	if n := runs(); n < 20 || erasedPending < 3 || reopenedPending < 2 {
		t.Fatalf("%d runs written, %d erasures and %d reopenings with a run frozen or pending: the test should make many",
			n, erasedPending, reopenedPending)
	}
}

// tableIDs are the ids of s's events, read from the table itself.
func tableIDs(t *testing.T, db *DB, s garde.SubjectID) []int64 {
	t.Helper()
	rows, err := db.reader.Query(`SELECT id FROM events WHERE subject_id = ? ORDER BY id`, string(s))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		out = append(out, id)
	}
	return out
}

// newest are the last n of ids (ascending), newest first.
func newest(ids []int64, n int) []int64 {
	out := slices.Clone(ids[max(0, len(ids)-n):])
	slices.Reverse(out)
	return out
}

func storedIDs(events []profile.StoredEvent) []int64 {
	out := make([]int64, len(events))
	for i := range events {
		out[i] = events[i].ID
	}
	return out
}

// TestEventRunsMigration: a database of the former layout (an index on
// events (subject_id, id)) comes out of migration 15 with its events in one
// run, found by subject, and back again with Down (through migration 16's,
// which drops the runs left incomplete).
func TestEventRunsMigration(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/garde.db"
	w, p := migrateDataTo(t, path, 14)
	a, b := garde.NewSubjectID(), garde.NewSubjectID()
	want := map[garde.SubjectID][]int64{}
	for i := range 30 {
		s := []garde.SubjectID{a, b}[i%3/2]
		res, err := w.ExecContext(ctx, `INSERT INTO events (subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context)
			VALUES (?, 'web', 'track', 'E', 'm', 0, 0, '', '{}', '{}')`, string(s))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		want[s] = append(want[s], id)
	}
	if _, err := p.UpTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	db, err := OpenSQLite(ctx, path, "data")
	if err != nil {
		t.Fatal(err)
	}
	if db.tail.n != 0 || db.tail.last != 30 {
		t.Fatalf("tail after the migration: %d events after run %d; want none after 30", db.tail.n, db.tail.last)
	}
	got, err := db.eventIDs(ctx, db.reader, []garde.SubjectID{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []garde.SubjectID{a, b} {
		if !slices.Equal(got[s], want[s]) {
			t.Fatalf("%s: %v, want %v", s, got[s], want[s])
		}
	}
	db.Close()
	// migration 16 down: a run left incomplete goes, the complete one stays
	if _, err := w.ExecContext(ctx, `INSERT INTO event_run_list (run, complete) VALUES (99, 0);
		INSERT INTO event_runs (run, subject_id, ids) VALUES (99, ?, '[31]')`, string(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	var list string
	var left int
	w.QueryRowContext(ctx, `SELECT group_concat(run) FROM event_run_list`).Scan(&list)
	w.QueryRowContext(ctx, `SELECT count(*) FROM event_runs WHERE run = 99`).Scan(&left)
	if list != "30" || left != 0 {
		t.Fatalf("after migration 16 down: runs %q, %d rows of the incomplete one; want run 30 alone", list, left)
	}
	if _, err := p.DownTo(ctx, 14); err != nil {
		t.Fatal(err)
	}
	var n int
	w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name IN ('events_subject', 'event_runs')`).Scan(&n)
	if n != 1 {
		t.Fatalf("after Down: %d of the index and the runs' table, want the index alone", n)
	}
}

// TestEventIndexErasedNewest: the newest event, covered by the last run,
// is erased; the next event must not take its id (SQLite's own choice,
// one above the highest row), or the tail rebuilt at open — the events
// after the last run — would miss it.
func TestEventIndexErasedNewest(t *testing.T) {
	setRuns(t, 2, runChunk, runPerEvent, true)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "garde.db")
	db, err := OpenSQLite(ctx, path, "data")
	if err != nil {
		t.Fatal(err)
	}
	a, b := garde.NewSubjectID(), garde.NewSubjectID()
	write := func(rows ...garde.SubjectID) {
		t.Helper()
		if err := commitGroup(t, db, rows...); err != nil {
			t.Fatal(err)
		}
	}
	write(a, b) // a's event 1, b's event 2
	write()     // freezes the tail
	write()     // writes it as a run
	if db.tail.last != 2 {
		t.Fatalf("last run %d, want 2", db.tail.last)
	}
	plan := &rights.ErasePlan{Subject: b, Members: []garde.SubjectID{b}, Time: time.Now(),
		Message: func(*rights.Erased) (string, []byte, error) { return rights.TopicSubjectErased, []byte("{}"), nil }}
	if _, err := NewErase(db).EraseSubjects(ctx, plan); err != nil {
		t.Fatal(err)
	}
	write(a) // into the tail
	db.Close()
	if db, err = OpenSQLite(ctx, path, "data"); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.eventIDs(ctx, db.reader, []garde.SubjectID{a})
	if want := tableIDs(t, db, a); err != nil || len(want) != 2 || !slices.Equal(got[a], want) {
		t.Fatalf("a's events after reopening: %v, %v; want %v", got[a], err, want)
	}
}

// TestEventRunInterrupted: a run being written is cut short twice — its
// first group commit fails (the rows and the listing roll back), then the
// process stops with the run half written — and the run written again
// afterwards (the same run: no event came in between) is listed once,
// complete, with no row left of the attempts, and finds every event.
func TestEventRunInterrupted(t *testing.T) {
	setRuns(t, 4, 1, 0, true) // a row per group commit
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "garde.db")
	db, err := OpenSQLite(ctx, path, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	people := []garde.SubjectID{garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID()}
	group := func(rows ...garde.SubjectID) error { return commitGroup(t, db, rows...) }
	exec := func(q string) {
		t.Helper()
		if _, err := db.writer.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := group(people...); err != nil { // events 1–4: the tail is full
		t.Fatal(err)
	}
	if err := group(); err != nil { // freezes the tail
		t.Fatal(err)
	}
	exec(`CREATE TRIGGER no_runs BEFORE INSERT ON event_run_list BEGIN SELECT RAISE(ABORT, 'refused'); END`)
	if err := group(); err == nil {
		t.Fatal("the group commit that lists the run should fail")
	}
	exec(`DROP TRIGGER no_runs`)
	if db.tail.pending != nil {
		t.Fatal("the run the failed commit froze is still pending")
	}
	for range 2 { // two of the four rows
		if err := group(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil { // stopped with the run half written
		t.Fatal(err)
	}
	if db, err = OpenSQLite(ctx, path, "data"); err != nil {
		t.Fatal(err)
	}
	for range 5 { // one freezes the tail again, four write the run
		if err := group(); err != nil {
			t.Fatal(err)
		}
	}
	var list string
	var rows int
	db.reader.QueryRow(`SELECT group_concat(run || ':' || complete) FROM event_run_list`).Scan(&list)
	db.reader.QueryRow(`SELECT count(*) FROM event_runs`).Scan(&rows)
	if list != "4:1" || rows != 4 || db.tail.n != 0 || db.tail.pending != nil {
		t.Fatalf("runs %q with %d rows, %d events in the tail (pending %v); want run 4 complete, its 4 rows, and an empty tail",
			list, rows, db.tail.n, db.tail.pending != nil)
	}
	got, err := db.eventIDs(ctx, db.reader, people)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range people {
		if want := tableIDs(t, db, s); len(want) != 1 || !slices.Equal(got[s], want) {
			t.Fatalf("%s: %v, want %v", s, got[s], want)
		}
	}
}

// TestEventRunErasedWhileSorting: a person erased after the tail is frozen
// and before the run, sorted meanwhile, is written is left out of it; so is
// one erased while the run is being written, before their row is.
func TestEventRunErasedWhileSorting(t *testing.T) {
	for _, pending := range []bool{false, true} {
		t.Run(map[bool]string{false: "sorting", true: "pending"}[pending], func(t *testing.T) {
			setRuns(t, 4, 1, 0, true)
			ctx := context.Background()
			db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "garde.db"), "data")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			people := []garde.SubjectID{garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID()}
			group := func(rows ...garde.SubjectID) {
				t.Helper()
				if err := commitGroup(t, db, rows...); err != nil {
					t.Fatal(err)
				}
			}
			group(people...)
			group() // freezes the tail: the run is sorted meanwhile
			if db.tail.sorting == nil || db.tail.pending != nil {
				t.Fatal("the tail should be frozen, its run not yet pending")
			}
			erased := people[1]
			if pending {
				group() // the run's first row: the first subject's in key order
				erased = slices.MaxFunc(people, func(a, b garde.SubjectID) int { return strings.Compare(string(a), string(b)) })
				if p := db.tail.pending; p == nil || p.pos != 1 {
					t.Fatal("the run should be pending, one row written")
				}
			}
			plan := &rights.ErasePlan{Subject: erased, Members: []garde.SubjectID{erased}, Time: time.Now(),
				Message: func(*rights.Erased) (string, []byte, error) { return rights.TopicSubjectErased, []byte("{}"), nil }}
			if _, err := NewErase(db).EraseSubjects(ctx, plan); err != nil {
				t.Fatal(err)
			}
			for range 4 {
				group()
			}
			var rows, left int
			db.reader.QueryRow(`SELECT count(*) FROM event_runs`).Scan(&rows)
			db.reader.QueryRow(`SELECT count(*) FROM event_runs WHERE subject_id = ?`, string(erased)).Scan(&left)
			if rows != 3 || left != 0 || db.tail.pending != nil {
				t.Fatalf("%d rows, %d of the erased person's, pending %v; want the 3 others' in a complete run", rows, left, db.tail.pending != nil)
			}
		})
	}
}

// commitGroup writes, in one group commit, an event of each of rows,
// creating the subjects, and returns the commit's error.
func commitGroup(t *testing.T, db *DB, rows ...garde.SubjectID) error {
	t.Helper()
	ctx := context.Background()
	tx, err := NewCollect(db).BeginCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var events []collect.EventRow
	for _, s := range rows {
		var known int
		db.reader.QueryRow(`SELECT count(*) FROM subjects WHERE id = ?`, string(s)).Scan(&known)
		if known == 0 {
			tx.CreateSubject(ctx, s, false, time.Now())
		}
		events = append(events, collect.EventRow{Subject: s, Source: "web", Type: "track", Name: "E", MessageID: "m",
			Time: time.Now(), Received: time.Now(), Properties: "{}", Context: "{}"})
	}
	if err := tx.CreateEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	return tx.Commit()
}

// setRuns sets the index's sizes (runEvents, runChunk, runPerEvent) and
// sortWait for the test, as they were once it ends.
func setRuns(t *testing.T, events, chunk, perEvent int, wait bool) {
	e, c, p, w := runEvents, runChunk, runPerEvent, sortWait
	t.Cleanup(func() { runEvents, runChunk, runPerEvent, sortWait = e, c, p, w })
	runEvents, runChunk, runPerEvent, sortWait = events, chunk, perEvent, wait
}

// TestJSONList: the lists of the index are JSON arrays, as encoding/json
// writes them.
func TestJSONList(t *testing.T) {
	for _, ids := range [][]int64{nil, {}, {7}, {1, 22, -3, 9_007_199_254_740_993}} {
		want, _ := json.Marshal(ids)
		if got := jsonList(ids); got != string(want) {
			t.Errorf("jsonList(%v) = %s, want %s", ids, got, want)
		}
	}
	if got := jsonList([]garde.SubjectID{"s_a", "s_b"}); got != `["s_a","s_b"]` {
		t.Errorf("subjects: %s", got)
	}
}
