package store_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/store"
)

// TestFindSubjectsAndEventsEach: the batched reads of many profiles give
// what the one-profile reads give for each.
func TestFindSubjectsAndEventsEach(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "data.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := store.NewProfiles(db)
	// a, with members m1 and m2 (created in that order); b alone; c with
	// no events
	a, m1, m2, b, c := garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID()
	for i, s := range []struct {
		id, into garde.SubjectID
	}{{a, ""}, {m2, a}, {m1, a}, {b, ""}, {c, ""}} {
		var into any
		if s.into != "" {
			into = string(s.into)
		}
		created := map[garde.SubjectID]int{m1: 10, m2: 20}[s.id] + i
		eraseExec(t, db, `INSERT INTO subjects (id, merged_into, identified, created_at, last_seen_at) VALUES (?, ?, 1, ?, ?)`, string(s.id), into, created, created)
	}
	// interleaved events: a 3, m1 4, m2 2, b 5
	for i, s := range []garde.SubjectID{a, m1, b, m1, a, m2, b, b, m1, a, m2, b, m1, b} {
		eraseExec(t, db, `INSERT INTO events (id, subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context)
			VALUES (?, ?, 'web', 'track', 'x', ?, 1, 1, 'service', '{}', '{}')`, i+1, string(s), "m"+string(rune('a'+i)))
	}

	unknown := garde.NewSubjectID()
	got, n, err := p.FindSubjects(ctx, []garde.SubjectID{b, m2, unknown, a, c, m1, unknown, b})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("unknown: got %d, want 1", n)
	}
	var ids []garde.SubjectID
	for _, s := range got {
		ids = append(ids, s.ID)
		one, err := p.FindSubject(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(*one, s); diff != "" {
			t.Errorf("subject %s differs from FindSubject (-one +many):\n%s", s.ID, diff)
		}
	}
	if diff := cmp.Diff([]garde.SubjectID{b, a, c}, ids); diff != "" {
		t.Errorf("subjects: in the order first named, once each (-want +got):\n%s", diff)
	}
	if got, _, _ := p.FindSubjects(ctx, []garde.SubjectID{unknown}); len(got) != 0 {
		t.Errorf("an unknown id found %v", got)
	}

	for _, limit := range []int{1, 2, 3, 10} {
		each, err := p.FindEventsEach(ctx, []garde.SubjectID{a, m1, m2, b, c}, limit)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, subjects := range [][]garde.SubjectID{{a}, {m1}, {m2}, {b}, {c}} {
			es, err := p.FindEvents(ctx, subjects, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				want = append(want, e.ID)
			}
		}
		var ids []int64
		for i, e := range each {
			if i > 0 && e.ID >= each[i-1].ID {
				t.Errorf("limit %d: not newest first: %d after %d", limit, e.ID, each[i-1].ID)
			}
			ids = append(ids, e.ID)
		}
		slices.Sort(want)
		slices.Reverse(want)
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("limit %d: each subject's newest events (-want +got):\n%s", limit, diff)
		}
	}
}
