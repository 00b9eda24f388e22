package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
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

	// created rows are written together, at the latest at commit: a second
	// subject for the same identity fails the transaction there
	tx, err = c.BeginCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateIdentity(ctx, "anon", []byte("h-a"), b, now); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("a second subject for the same identity was accepted")
	}
	tx.Rollback()
	if got, _ := store.NewProfiles(db).FindSubject(ctx, a); got.ID != k {
		t.Fatalf("after the refused commit, a belongs to %q", got.ID)
	}
}

func TestRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	c := store.NewCollect(db)
	tx, _ := c.BeginCollect(ctx)
	s := garde.NewSubjectID()
	tx.CreateSubject(ctx, s, false, time.Now())
	tx.CreateEvents(ctx, []collect.EventRow{{Subject: s, Source: "web", Type: "track", Name: "E", MessageID: "m", Time: time.Now(), Received: time.Now(), Properties: "{}", Context: "{}"}})
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
			Time: time.UnixMilli(int64(i)), Received: time.UnixMilli(int64(i)), Properties: "{}", Context: "{}"}
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

// heldSync is the SQLite store of the collection path whose Sync waits for
// the test to release it (nil: sync for real; an error: fail).
type heldSync struct {
	*store.Collect
	release chan error
}

func (h *heldSync) Sync() error {
	if err := <-h.release; err != nil {
		return err
	}
	return h.Collect.Sync()
}

// TestGroupAckAfterSync: a group commit is acknowledged only once Sync has
// made it durable (and fails if Sync does), while the writer connection
// goes back to synchronous FULL for every other transaction.
func TestGroupAckAfterSync(t *testing.T) {
	db := openData(t)
	st := &heldSync{Collect: store.NewCollect(db), release: make(chan error)}
	w := collect.NewWriter(st, nil, nil, func(inventory.PurposeSet) string { return "service" }, collect.WriterOptions{},
		slog.New(slog.NewTextHandler(io.Discard, nil)), collect.NewMetrics(prometheus.NewRegistry()))
	defer w.Close()
	submit := submitter(w)
	count := func() (n int) {
		db.Reader().QueryRow(`SELECT count(*) FROM events`).Scan(&n)
		return n
	}

	done := submit("a")
	for deadline := time.Now().Add(5 * time.Second); count() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the group never committed")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("acknowledged (%v) before Sync", err)
	case <-time.After(50 * time.Millisecond):
	}
	var sync int
	if err := db.Writer().QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("writer connection left at synchronous %d (%v), want 2 (FULL)", sync, err)
	}
	st.release <- nil
	if err := <-done; err != nil {
		t.Fatalf("after Sync: %v", err)
	}

	done = submit("b")
	st.release <- errors.New("the disk is gone")
	if err := <-done; garde.ErrorCode(err) != garde.EUnavailable {
		t.Fatalf("a failed Sync answered %v, want unavailable", err)
	}
}

// gatedBegin holds every group commit at its start until the gate lets
// it through, and counts them.
type gatedBegin struct {
	*store.Collect
	gate   chan struct{}
	groups atomic.Int64
}

func (g *gatedBegin) BeginCollect(ctx context.Context) (collect.Tx, error) {
	<-g.gate
	g.groups.Add(1)
	return g.Collect.BeginCollect(ctx)
}

// TestGroupLinger: once a group held several submissions (callers are
// concurrent), the writer waits for more before committing a small group
// (WriterOptions.Linger, here an hour: the group commits when it holds
// LingerEvents); a lone caller's submissions never wait.
func TestGroupLinger(t *testing.T) {
	st := &gatedBegin{Collect: store.NewCollect(openData(t)), gate: make(chan struct{}, 100)}
	reg := prometheus.NewRegistry()
	w := collect.NewWriter(st, nil, nil, func(inventory.PurposeSet) string { return "service" },
		collect.WriterOptions{Linger: time.Hour, LingerEvents: 3}, slog.New(slog.NewTextHandler(io.Discard, nil)), collect.NewMetrics(reg))
	defer w.Close()
	submit := submitter(w)
	acked := func(name string, done chan error, within time.Duration) bool {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return true
		case <-time.After(within):
			return false
		}
	}
	queued := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "garde_writer_queue_events" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no writer queue gauge")
		return 0
	}
	pending := func(n float64) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); queued() != n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%v events pending, want %v", queued(), n)
			}
		}
	}
	groups := st.groups.Load

	// a lone caller: one submission at a time, none waits
	for _, name := range []string{"a", "b"} {
		st.gate <- struct{}{}
		if !acked(name, submit(name), 5*time.Second) {
			t.Fatalf("a lone caller's submission %s waited", name)
		}
	}
	// two submissions queued while the writer is held: one group of two
	c := submit("c")
	pending(1)
	time.Sleep(20 * time.Millisecond) // the writer has taken c and waits at the gate
	d, e := submit("d"), submit("e")
	pending(3)
	time.Sleep(20 * time.Millisecond) // (counted before queued)
	st.gate <- struct{}{}
	st.gate <- struct{}{}
	for name, done := range map[string]chan error{"c": c, "d": d, "e": e} {
		if !acked(name, done, 5*time.Second) {
			t.Fatalf("%s was not acknowledged", name)
		}
	}
	if n := groups(); n != 4 {
		t.Fatalf("%d group commits, want 4 (a, b, c, then d and e together)", n)
	}
	// callers are concurrent now: a small group waits until it holds 3
	st.gate <- struct{}{}
	f := submit("f")
	if acked("f", f, 100*time.Millisecond) {
		t.Fatal("f was committed alone: the writer did not wait for more")
	}
	g, h := submit("g"), submit("h")
	for name, done := range map[string]chan error{"f": f, "g": g, "h": h} {
		if !acked(name, done, 5*time.Second) {
			t.Fatalf("%s was not acknowledged", name)
		}
	}
	if n := groups(); n != 5 {
		t.Fatalf("%d group commits, want 5 (f, g and h together)", n)
	}
}

// submitter returns a function that submits one event of a new anonymous
// visitor to w on a goroutine of its own, and gives the answer's channel.
func submitter(w *collect.Writer) func(anon string) chan error {
	now := time.Now()
	return func(anon string) chan error {
		rec := collect.Record{Source: "web", Type: "track", Name: "E", MessageID: anon, StoreEvent: true, Time: now, Received: now,
			IDs: []collect.Identity{{Kind: collect.IdentityAnon, Hash: []byte(anon)}}, Purposes: 1, Serves: 1,
			Properties: "{}", Context: "{}"}
		done := make(chan error, 1)
		go func() { done <- w.Submit(context.Background(), []collect.Record{rec}, &collect.Tally{}) }()
		return done
	}
}

// countingStore counts the collection path's identity look-ups and
// last-seen updates.
type countingStore struct {
	*store.Collect
	one, many, touch atomic.Int64
}

func (c *countingStore) BeginCollect(ctx context.Context) (collect.Tx, error) {
	tx, err := c.Collect.BeginCollect(ctx)
	return &countingTx{Tx: tx, c: c}, err
}

type countingTx struct {
	collect.Tx
	c *countingStore
}

func (t *countingTx) FindIdentity(ctx context.Context, kind string, hash []byte) (garde.SubjectID, error) {
	t.c.one.Add(1)
	return t.Tx.FindIdentity(ctx, kind, hash)
}

func (t *countingTx) TouchSubject(ctx context.Context, s garde.SubjectID, seen time.Time) error {
	t.c.touch.Add(1)
	return t.Tx.TouchSubject(ctx, s, seen)
}

func (t *countingTx) FindIdentities(ctx context.Context, ids []collect.Identity, found func(collect.Identity, garde.SubjectID)) error {
	t.c.many.Add(1)
	return t.Tx.FindIdentities(ctx, ids, found)
}

// TestPrefetchIdentities: a group of people the writer does not know is
// resolved with identities looked up together, none one by one, whether
// they are new (created) or stored before the writer started (found); the
// same people again are resolved from the cache. A person created has
// their last-seen time written with them: no update follows, while one
// found is updated once.
func TestPrefetchIdentities(t *testing.T) {
	db := openData(t)
	now := time.Now()
	recs := func(n int) []collect.Record {
		var out []collect.Record
		for i := range n {
			out = append(out, collect.Record{Source: "web", Type: "track", Name: "E", MessageID: fmt.Sprint("m", i), StoreEvent: true,
				Time: now, Received: now, Purposes: 1, Serves: 1, Properties: "{}", Context: "{}",
				IDs: []collect.Identity{{Kind: collect.IdentityUser, Hash: []byte(fmt.Sprint("user-", i))}, {Kind: collect.IdentityAnon, Hash: []byte(fmt.Sprint("anon-", i))}}})
		}
		return out
	}
	count := func(q string) (n int) {
		if err := db.Reader().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for round, want := range []struct{ many, touch int64 }{{1, 0}, {1, 100}} {
		st := &countingStore{Collect: store.NewCollect(db)}
		w := collect.NewWriter(st, nil, nil, func(inventory.PurposeSet) string { return "service" }, collect.WriterOptions{},
			slog.New(slog.NewTextHandler(io.Discard, nil)), collect.NewMetrics(prometheus.NewRegistry()))
		for range 2 { // the second time, the cache knows them all
			if err := w.Submit(context.Background(), recs(100), &collect.Tally{}); err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		if st.one.Load() != 0 || st.many.Load() != want.many {
			t.Errorf("round %d: %d look-ups one by one, %d together; want 0 and %d", round, st.one.Load(), st.many.Load(), want.many)
		}
		if st.touch.Load() != want.touch {
			t.Errorf("round %d: %d last-seen updates, want %d", round, st.touch.Load(), want.touch)
		}
		if s, i := count(`SELECT count(*) FROM subjects`), count(`SELECT count(*) FROM identities`); s != 100 || i != 200 {
			t.Fatalf("round %d: %d subjects, %d identities; want 100 and 200", round, s, i)
		}
	}
	if n := count(`SELECT count(DISTINCT subject_id) FROM events`); n != 100 {
		t.Errorf("events of %d subjects, want 100", n)
	}
}
