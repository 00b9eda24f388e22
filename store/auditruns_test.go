package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// setAuditRuns sets the size of segments, the key runs' threshold, chunk
// and wait for the test, as they were once it ends.
func setAuditRuns(t *testing.T, segment int, bytes int64, chunk int, wait bool) {
	s, b, c, w := segmentBytes, auditRunBytes, auditRunChunk, auditRunWait
	t.Cleanup(func() { segmentBytes, auditRunBytes, auditRunChunk, auditRunWait = s, b, c, w })
	segmentBytes, auditRunBytes, auditRunChunk, auditRunWait = segment, bytes, chunk, wait
}

// TestAuditKeyRuns appends random entries (some in transactions rolled
// back), with runs of a few segments written a few rows per append, and
// reopens the database now and then (a run pending is then left
// incomplete); after each step, a look-up by every key finds exactly the
// committed entries that have it, and the log verifies.
func TestAuditKeyRuns(t *testing.T) {
	ctx := context.Background()
	setAuditRuns(t, 1200, 3000, 3, true) // 3000 and 4500 in turn
	path := t.TempDir() + "/garde.db"
	db, err := OpenSQLite(ctx, path, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	signer := edSigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))}
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	log := &audit.Log{Signer: signer, CheckpointEvery: 40,
		Clock: garde.ClockFunc(func() time.Time { now = now.Add(time.Second); return now })}
	people := make([]garde.SubjectID, 30)
	for i := range people {
		people[i] = garde.NewSubjectID()
	}
	actors, actions, purposes := []string{"op_1", "op_2", "op_3"}, []string{audit.ActionSubjectRead, audit.ActionExport, audit.ActionEventsWrite}, []string{"", "analytics", "email_marketing"}
	r := rand.New(rand.NewPCG(7, 11))
	var committed []audit.Entry
	a := NewAudit(db)
	var reopenedPending, lookedUpPending int

	// check looks every key up (all: else a few at random)
	check := func(step int, all bool) {
		t.Helper()
		var pending int
		db.reader.QueryRowContext(ctx, `SELECT count(*) FROM audit_key_run_list WHERE NOT complete`).Scan(&pending)
		if pending > 0 {
			lookedUpPending++
		}
		var unlisted int
		db.reader.QueryRowContext(ctx, `SELECT count(*) FROM audit_key_runs WHERE run NOT IN (SELECT run FROM audit_key_run_list)`).Scan(&unlisted)
		if pending > 1 || unlisted > 0 {
			t.Fatalf("step %d: %d incomplete runs, %d rows of runs not listed; want one at most and none", step, pending, unlisted)
		}
		filters := []audit.Filter{}
		for _, s := range people {
			filters = append(filters, audit.Filter{Subject: s})
		}
		for _, x := range actors {
			filters = append(filters, audit.Filter{Actor: x})
		}
		for _, x := range actions {
			filters = append(filters, audit.Filter{Action: x})
		}
		filters = append(filters, audit.Filter{Purpose: "analytics"}, audit.Filter{Actor: "op_2", Subject: people[3]})
		if !all {
			r.Shuffle(len(filters), func(i, j int) { filters[i], filters[j] = filters[j], filters[i] })
			filters = filters[:4]
		}
		for _, f := range filters {
			var got, want []int64
			if err := a.FindAudit(ctx, f, func(e *audit.Entry) error { got = append(got, e.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			for _, e := range committed {
				if (f.Subject == "" || slices.Contains(e.Subjects, f.Subject)) && (f.Actor == "" || e.Actor == f.Actor) &&
					(f.Action == "" || e.Action == f.Action) && (f.Purpose == "" || e.Purpose == f.Purpose) {
					want = append(want, e.Seq)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: %+v found %v, want %v", step, f, got, want)
			}
		}
		var many []int64
		if err := findAccesses(ctx, db.reader, people[:4], func(e *audit.Entry) error { many = append(many, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, e := range committed {
			if slices.ContainsFunc(people[:4], func(s garde.SubjectID) bool { return slices.Contains(e.Subjects, s) }) {
				want = append(want, e.Seq)
			}
		}
		if !slices.Equal(many, want) {
			t.Fatalf("step %d: accesses of four found %v, want %v", step, many, want)
		}
	}

	due := false // a reopening with a run pending
	for step := range 300 {
		due = due || step%45 == 0
		var pending int
		db.reader.QueryRowContext(ctx, `SELECT count(*) FROM audit_key_run_list WHERE NOT complete`).Scan(&pending)
		switch {
		case due && pending > 0 || step%100 == 99:
			if pending > 0 {
				reopenedPending++
				due = false
			}
			db.Close()
			// a threshold of its own (another version, say): the run
			// left incomplete is then not the next one, and goes
			auditRunBytes = 7500 - auditRunBytes
			again, err := OpenSQLite(ctx, path, "data")
			if err != nil {
				t.Fatal(err)
			}
			db = again
			a = NewAudit(db)
		default:
			es := make([]audit.Entry, 1+r.IntN(3))
			for i := range es {
				e := audit.Entry{Actor: actors[r.IntN(3)], Role: "dpo", Action: actions[r.IntN(3)], Purpose: purposes[r.IntN(3)],
					RequestID: fmt.Sprintf("req-%d", step), Outcome: audit.OutcomeOK}
				for range r.IntN(6) {
					if s := people[r.IntN(len(people))]; !slices.Contains(e.Subjects, s) {
						e.Subjects = append(e.Subjects, s)
					}
				}
				es[i] = e
			}
			tx, err := db.writer.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := log.Append(ctx, a.Tx(tx), es...); err != nil {
				tx.Rollback()
				t.Fatal(err)
			}
			if r.IntN(7) == 0 {
				tx.Rollback()
			} else {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				committed = append(committed, es...)
			}
		}
		check(step, step%20 == 0)
	}
	var runs int
	db.reader.QueryRowContext(ctx, `SELECT count(*) FROM audit_key_run_list WHERE complete`).Scan(&runs)
	if runs < 10 || reopenedPending < 2 || lookedUpPending < 50 {
		t.Fatalf("%d complete runs, %d reopenings with a run pending, %d look-ups with one: the test did not test much", runs, reopenedPending, lookedUpPending)
	}
	if rep, err := audit.Verify(ctx, a, signer); err != nil || !rep.OK || rep.Entries != len(committed) {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
	t.Logf("%d complete runs, %d reopenings and %d look-ups with a run pending", runs, reopenedPending, lookedUpPending)
}

// TestAuditIndexAtOpen: a tail of many runs' worth (a log older than the
// runs, or appended by another process) is made runs when the database is
// opened, and look-ups find the same; migration 17's Down gives back the
// keys table of before, as the runs name the keys.
func TestAuditIndexAtOpen(t *testing.T) {
	ctx := context.Background()
	setAuditRuns(t, 1200, 1<<40, 3, true)
	path := t.TempDir() + "/garde.db"
	db, err := OpenSQLite(ctx, path, "data")
	if err != nil {
		t.Fatal(err)
	}
	people := []garde.SubjectID{garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID()}
	log := &audit.Log{Signer: edSigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))}}
	a := NewAudit(db)
	for i := range 120 {
		e := audit.Entry{Actor: fmt.Sprintf("op_%d", i%4), Role: "dpo", Action: audit.ActionSubjectRead, Outcome: audit.OutcomeOK,
			Subjects: people[:i%4]}
		if err := a.Append(ctx, log, e); err != nil {
			t.Fatal(err)
		}
	}
	find := func(a *Audit, f audit.Filter) []int64 {
		var got []int64
		if err := a.FindAudit(ctx, f, func(e *audit.Entry) error { got = append(got, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	filters := []audit.Filter{{Subject: people[2]}, {Actor: "op_1"}, {Action: audit.ActionSubjectRead}, {Subject: people[0], Actor: "op_3"}}
	var want [][]int64
	for _, f := range filters {
		want = append(want, find(a, f))
	}
	db.Close()

	auditRunBytes = 3000
	if db, err = OpenSQLite(ctx, path, "data"); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var runs, pending int
	var left int64
	db.reader.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE NOT complete) FROM audit_key_run_list`).Scan(&runs, &pending)
	db.reader.QueryRowContext(ctx, `SELECT COALESCE(sum(length(body)), 0) FROM audit_segments
		WHERE first_seq > (`+qLastKeyRun+`) AND first_seq < (SELECT max(first_seq) FROM audit_segments)`).Scan(&left)
	if runs < 3 || pending != 0 || left >= auditRunBytes {
		t.Fatalf("at open: %d runs, %d incomplete, %d bytes of closed segments left in the tail; want 3 or more, none, less than %d",
			runs, pending, left, auditRunBytes)
	}
	a = NewAudit(db)
	for i, f := range filters {
		if got := find(a, f); len(got) == 0 || !slices.Equal(got, want[i]) {
			t.Errorf("%+v after open: %v, want %v", f, got, want[i])
		}
	}
	if rep, err := audit.Verify(ctx, a, log.Signer.(edSigner)); err != nil || !rep.OK || rep.Entries != 120 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}

	// Down to 16: the keys table as it was, one row per segment and key
	var keys []string
	db.Close()
	w, p := migrateDataTo(t, path, 17)
	defer w.Close()
	if _, err := p.DownTo(ctx, 16); err != nil {
		t.Fatal(err)
	}
	rows, err := w.QueryContext(ctx, `SELECT first_seq || ' ' || key FROM audit_keys ORDER BY first_seq, key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	var wantKeys []string
	segs, err := w.QueryContext(ctx, `SELECT first_seq, body FROM audit_segments ORDER BY first_seq`)
	if err != nil {
		t.Fatal(err)
	}
	for segs.Next() {
		var first int64
		var body []byte
		segs.Scan(&first, &body)
		var ks []string
		eachFrame(body, func(r audit.RawEntry) error {
			v, err := audit.ParseView(r.Canonical)
			if err != nil {
				t.Fatal(err)
			}
			entryKeys(&v, func(kind byte, val []byte) { ks = append(ks, fmt.Sprintf("%d %c=%s", first, kind, val)) })
			return nil
		})
		slices.Sort(ks)
		wantKeys = append(wantKeys, slices.Compact(ks)...)
	}
	segs.Close()
	if len(keys) == 0 || !slices.Equal(keys, wantKeys) {
		t.Errorf("audit_keys after Down: %d rows, want %d:\n%v\n%v", len(keys), len(wantKeys), keys, wantKeys)
	}
}

// TestAuditKeyRunsTwoHandles: two handles on one file (the CLI beside the
// server) append in turn, each writing the runs it read: a run the other
// handle wrote meanwhile is found stale and left, and look-ups and verify
// see every entry.
func TestAuditKeyRunsTwoHandles(t *testing.T) {
	ctx := context.Background()
	setAuditRuns(t, 1200, 2500, 2, true)
	path := t.TempDir() + "/garde.db"
	var dbs [2]*DB
	var audits [2]*Audit
	for i := range dbs {
		db, err := OpenSQLite(ctx, path, "data")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i], audits[i] = db, NewAudit(db)
	}
	log := &audit.Log{Signer: edSigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))}}
	people := []garde.SubjectID{garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID()}
	var stale int
	for i := range 240 {
		h := i / 3 % 2 // three appends through one handle, three through the other
		e := audit.Entry{Actor: fmt.Sprintf("op_%d", i%3), Role: "dpo", Action: audit.ActionSubjectRead, Outcome: audit.OutcomeOK,
			Subjects: people[:i%5]}
		before := dbs[h].auditRuns.pending
		if err := audits[h].Append(ctx, log, e); err != nil {
			t.Fatalf("append %d through handle %d: %v", i, h, err)
		}
		if before != nil && dbs[h].auditRuns.pending == nil {
			var complete bool
			dbs[h].reader.QueryRowContext(ctx, `SELECT complete FROM audit_key_run_list WHERE run = ?`, before.run).Scan(&complete)
			if complete {
				stale++ // (or completed by this very append: counted too, which is fine)
			}
		}
	}
	var runs int
	dbs[0].reader.QueryRowContext(ctx, `SELECT count(*) FROM audit_key_run_list WHERE complete`).Scan(&runs)
	if runs < 5 {
		t.Fatalf("%d complete runs: the test did not test much", runs)
	}
	for h, a := range audits {
		for k, s := range people[:3] {
			var got []int64
			if err := a.FindAudit(ctx, audit.Filter{Subject: s}, func(e *audit.Entry) error { got = append(got, e.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			var want []int64
			for i := range 240 {
				if k < i%5 {
					want = append(want, int64(i+1))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("handle %d, subject %d: %v, want %v", h, k, got, want)
			}
		}
		if rep, err := audit.Verify(ctx, a, log.Signer.(edSigner)); err != nil || !rep.OK || rep.Entries != 240 {
			t.Fatalf("verify through handle %d: %+v, %v", h, rep, err)
		}
	}
	t.Logf("%d complete runs; %d pending runs dropped once complete", runs, stale)
}

// TestAuditKeyRunStale: a run read before another handle completed one
// (prev no longer the last complete run), or one complete already, is
// stale: writing it writes nothing.
func TestAuditKeyRunStale(t *testing.T) {
	ctx := context.Background()
	setAuditRuns(t, 1200, 1<<40, 3, true)
	db, err := OpenSQLite(ctx, t.TempDir()+"/garde.db", "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, log := NewAudit(db), &audit.Log{Signer: edSigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))}}
	for i := range 60 {
		if err := a.Append(ctx, log, audit.Entry{Actor: fmt.Sprintf("op_%d", i), Role: "dpo", Action: audit.ActionSubjectRead, Outcome: audit.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	auditRunBytes = 2000
	b, err := db.readKeyRun(ctx)
	if err != nil || b.run == nil {
		t.Fatalf("read a run: %+v, %v", b, err)
	}
	write := func(p *keyRun) bool {
		t.Helper()
		tx, err := db.writer.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		stale, err := writeKeyRun(ctx, tx, func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, q) }, p, len(p.rows))
		if err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return stale
	}
	rows := func() (n int) {
		db.reader.QueryRowContext(ctx, `SELECT count(*) FROM audit_key_runs`).Scan(&n)
		return n
	}
	behind := *b.run
	if write(b.run) || rows() != len(b.run.rows) {
		t.Fatalf("the first run: stale, or %d rows written, want %d", rows(), len(b.run.rows))
	}
	if !write(b.run) {
		t.Error("a complete run written again is not stale")
	}
	// the next run as read before the first was complete: its prev is 0
	next, err := db.readKeyRun(ctx)
	if err != nil || next.run == nil {
		t.Fatalf("read the next run: %+v, %v", next, err)
	}
	moved := *next.run
	moved.prev = behind.prev
	before := rows()
	if !write(&moved) || rows() != before {
		t.Errorf("a run that no longer follows the last complete one: not stale, or rows written (%d, was %d)", rows(), before)
	}
}
