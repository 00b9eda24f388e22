package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/store"
)

func openData(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestCollectTx(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	c := store.NewCollect(db)
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	a, b, k := garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID()

	tx, err := c.BeginCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []garde.SubjectID{a, b, k} {
		if err := tx.CreateSubject(ctx, s, s == k, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.CreateIdentity(ctx, "anon", []byte("h-a"), a, now); err != nil {
		t.Fatal(err)
	}
	// b was merged into a earlier; merging a into k carries b along
	if err := tx.MergeSubject(ctx, b, a); err != nil {
		t.Fatal(err)
	}
	if err := tx.MergeSubject(ctx, a, k); err != nil {
		t.Fatal(err)
	}
	for _, s := range []garde.SubjectID{a, b} {
		canonical, _, err := tx.FindSubject(ctx, s)
		if err != nil || canonical != k {
			t.Fatalf("FindSubject(%s) = %s, %v; want %s", s, canonical, err, k)
		}
	}
	if got, _ := tx.FindIdentity(ctx, "anon", []byte("h-a")); got != a {
		t.Fatalf("FindIdentity = %q, want %q", got, a)
	}
	if got, _ := tx.FindIdentity(ctx, "anon", []byte("nope")); got != "" {
		t.Fatalf("unknown identity = %q", got)
	}
	if err := tx.CreateIdentity(ctx, "anon", []byte("h-a"), b, now); err == nil {
		t.Fatal("a second subject for the same identity was accepted")
	}
	v := map[collect.ViolationKey]int{{Source: "web", Event: "E", Field: "f", Kind: "undeclared_field"}: 2}
	if err := tx.AddViolations(ctx, v, now); err != nil {
		t.Fatal(err)
	}
	if err := tx.AddViolations(ctx, v, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindViolations(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Violation{{Source: "web", Event: "E", Field: "f", Kind: "undeclared_field", Count: 4, FirstSeen: now, LastSeen: now.Add(time.Hour)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	p, err := store.NewProfiles(db).FindSubject(ctx, b)
	if err != nil || p.ID != k || len(p.Members) != 2 || !p.Identified {
		t.Fatalf("profile subject of a merged id: %+v, %v", p, err)
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	c := store.NewCollect(db)
	tx, _ := c.BeginCollect(ctx)
	s := garde.NewSubjectID()
	tx.CreateSubject(ctx, s, false, time.Now())
	tx.CreateEvents(ctx, []collect.EventRow{{Subject: s, Source: "web", Type: "track", Name: "E", MessageID: "m", Time: time.Now(), Received: time.Now(), Properties: []byte("{}"), Context: []byte("{}")}})
	tx.Rollback()
	if _, err := store.NewProfiles(db).FindSubject(ctx, s); garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("after rollback: %v, want not found", err)
	}
}

// TestCreateEvents: rows go in several rows per statement, in order, all of
// them (full statements and the remainder).
func TestCreateEvents(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	tx, err := store.NewCollect(db).BeginCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := garde.NewSubjectID()
	rows := make([]collect.EventRow, 150)
	for i := range rows {
		rows[i] = collect.EventRow{Subject: s, Source: "web", Type: "track", Name: "E", MessageID: fmt.Sprint("m", i),
			Time: time.UnixMilli(int64(i)), Received: time.UnixMilli(int64(i)), Properties: []byte("{}"), Context: []byte("{}")}
	}
	if err := tx.CreateEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n, bad int
	db.Reader().QueryRow(`SELECT count(*), sum(message_id != 'm' || (id - 1)) FROM events`).Scan(&n, &bad)
	if n != 150 || bad != 0 {
		t.Fatalf("%d rows, %d out of order", n, bad)
	}
}
