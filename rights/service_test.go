package rights_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

// testClock is a settable clock.
type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

func newService(t *testing.T, now time.Time) (*rights.Service, *testClock) {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &testClock{now}
	return rights.NewService(store.NewRequests(db), clk), clk
}

func ids(rs []rights.Request) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// TestServiceFlow: a GDPR request is created, verified, extended within
// the first month, completed; each step is in its history and the store
// returns what the service returned.
func TestServiceFlow(t *testing.T) {
	ctx := context.Background()
	paris := mustZone(t, "Europe/Paris")
	s, clk := newService(t, time.Date(2026, 1, 31, 15, 0, 0, 0, paris))
	r, err := s.Create(ctx, rights.Draft{Type: rights.Erasure, Jurisdiction: rights.GDPR})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != rights.StateReceived || !r.DueBy.Equal(eod(paris, 2026, 3, 2)) || r.Subject != "" {
		t.Fatalf("created %+v", r)
	}
	subject := garde.NewSubjectID()
	clk.now = clk.now.Add(24 * time.Hour)
	if r, err = s.Verify(ctx, r.ID, subject); err != nil {
		t.Fatal(err)
	}
	if r.Subject != subject || !r.Verified.Equal(clk.now) || r.PausedFor != 0 || !r.DueBy.Equal(eod(paris, 2026, 3, 2)) {
		t.Errorf("verified %+v", r)
	}
	if _, err := s.Start(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Extend(ctx, r.ID, ""); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("extend without reason: got %v, want %s", err, garde.EInvalid)
	}
	clk.now = time.Date(2026, 3, 2, 18, 0, 0, 0, paris) // the last day of the first month
	if r, err = s.Extend(ctx, r.ID, "backups on tape"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Extend(ctx, r.ID, "again"); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("second extension: got %v, want %s", err, garde.EConflict)
	}
	clk.now = time.Date(2026, 4, 20, 9, 0, 0, 0, paris)
	if r, err = s.Complete(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refuse(ctx, r.ID, "too late"); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("refuse a completed request: got %v, want %s", err, garde.EConflict)
	}
	found, err := s.Find(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, found); diff != "" {
		t.Errorf("found (-returned +found):\n%s", diff)
	}
	var steps []rights.State
	for _, h := range found.History {
		steps = append(steps, h.To)
	}
	want := []rights.State{rights.StateReceived, rights.StateVerified, rights.StateInProgress, rights.StateExtended, rights.StateCompleted}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if found.ExtensionReason != "backups on tape" || !found.Extended || !found.ExtendedDueBy.Equal(eod(paris, 2026, 4, 28)) {
		t.Errorf("extension: %v %q %v", found.Extended, found.ExtensionReason, found.ExtendedDueBy)
	}
	if _, err := s.Find(ctx, "r_nope"); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("find unknown: got %v, want %s", err, garde.ENotFound)
	}
}

// TestServiceCreateInvalid: bad drafts are EInvalid and store nothing.
func TestServiceCreateInvalid(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s, _ := newService(t, now)
	for _, c := range []struct {
		name string
		d    rights.Draft
	}{
		{"unknown type", rights.Draft{Type: "telepathy", Jurisdiction: rights.GDPR}},
		{"empty type", rights.Draft{Jurisdiction: rights.GDPR}},
		{"unknown jurisdiction", rights.Draft{Type: rights.Access, Jurisdiction: "LGPD"}},
		{"restriction under the CCPA", rights.Draft{Type: rights.Restriction, Jurisdiction: rights.CCPA}},
		{"malformed subject", rights.Draft{Type: rights.Access, Jurisdiction: rights.GDPR, Subject: "alice@example.com"}},
		{"received in the future", rights.Draft{Type: rights.Access, Jurisdiction: rights.GDPR, Received: now.Add(time.Hour)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := s.Create(ctx, c.d); garde.ErrorCode(err) != garde.EInvalid {
				t.Errorf("got %v, want %s", err, garde.EInvalid)
			}
		})
	}
	if all, err := s.List(ctx, rights.ListFilter{}); err != nil || len(all) != 0 {
		t.Errorf("stored %d requests (%v), want none", len(all), err)
	}
	if _, err := s.Verify(ctx, "r_x", "bob"); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("verify with a malformed subject: got %v, want %s", err, garde.EInvalid)
	}
	if _, err := s.List(ctx, rights.ListFilter{State: "lost"}); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("list by unknown state: got %v, want %s", err, garde.EInvalid)
	}
}

// TestServiceOverdue: the overdue queue at a given time, the CCPA 90-day
// cap once extended, and a paused GDPR clock counted from verification.
func TestServiceOverdue(t *testing.T) {
	ctx := context.Background()
	la := mustZone(t, "America/Los_Angeles")
	paris := mustZone(t, "Europe/Paris")
	received := time.Date(2026, 3, 2, 9, 0, 0, 0, la)
	s, clk := newService(t, received)
	cfg := rights.DefaultConfig()
	cfg.GDPR.PauseWhileUnverified = true
	s.Jurisdictions = cfg

	mk := func(j rights.Jurisdiction, typ rights.Type) rights.Request {
		t.Helper()
		r, err := s.Create(ctx, rights.Draft{Type: typ, Jurisdiction: j})
		if err != nil {
			t.Fatal(err)
		}
		clk.now = clk.now.Add(time.Minute) // the queue is in order of receipt
		return r
	}
	know := mk(rights.CCPA, rights.Access)              // due 16 April, 90 days: 31 May
	optOut := mk(rights.CCPA, rights.OptOutSaleSharing) // due 23 March
	done := mk(rights.CCPA, rights.Erasure)             // answered in time
	paused := mk(rights.GDPR, rights.Access)            // waits for identity
	if !paused.Paused || !know.ConfirmBy.Equal(eod(la, 2026, 3, 16)) {
		t.Fatalf("paused %v, confirm by %v", paused.Paused, know.ConfirmBy)
	}
	step := func(fn func(string) (rights.Request, error), id string) {
		t.Helper()
		if _, err := fn(id); err != nil {
			t.Fatal(err)
		}
	}
	subject := garde.NewSubjectID()
	verify := func(id string) (rights.Request, error) { return s.Verify(ctx, id, subject) }
	step(verify, know.ID)
	step(verify, done.ID)
	step(func(id string) (rights.Request, error) { return s.Complete(ctx, id) }, done.ID)
	step(verify, optOut.ID)

	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, la) }
	check := func(name string, now time.Time, want ...string) {
		t.Helper()
		got, err := s.Overdue(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = []string{}
		}
		if diff := cmp.Diff(want, ids(got)); diff != "" {
			t.Errorf("%s: overdue (-want +got):\n%s", name, diff)
		}
		for _, r := range got {
			if !r.Overdue(now) {
				t.Errorf("%s: the store says %s is overdue, the request does not", name, r.ID)
			}
		}
	}
	check("before any deadline", at(2026, 3, 23))
	check("opt-out late", at(2026, 3, 24), optOut.ID)
	check("know late; GDPR paused", at(2026, 4, 17), know.ID, optOut.ID)

	// the GDPR request is verified on 10 April: due 10 May (a Sunday) → 11 May
	clk.now = time.Date(2026, 4, 10, 11, 0, 0, 0, paris)
	v, err := s.Verify(ctx, paused.ID, subject)
	if err != nil {
		t.Fatal(err)
	}
	if !v.DueBy.Equal(eod(paris, 2026, 5, 11)) || v.PausedFor != clk.now.Sub(paused.Received) {
		t.Errorf("after the pause: due %v, paused for %v", v.DueBy, v.PausedFor)
	}
	check("GDPR clock from verification", at(2026, 5, 12), know.ID, optOut.ID, paused.ID)

	// the CCPA request extended on day 45 is late only after day 90
	clk.now = time.Date(2026, 4, 16, 20, 0, 0, 0, la)
	if _, err := s.Extend(ctx, know.ID, "data in three systems"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Extend(ctx, optOut.ID, "volume"); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("extend an opt-out: got %v, want %s", err, garde.EConflict)
	}
	check("extended to 90 days", time.Date(2026, 5, 31, 23, 0, 0, 0, la), optOut.ID, paused.ID)
	check("after 90 days", time.Date(2026, 6, 1, 0, 0, 1, 0, la), know.ID, optOut.ID, paused.ID)

	clk.now = time.Date(2026, 6, 1, 0, 0, 1, 0, la)
	listed, err := s.List(ctx, rights.ListFilter{Overdue: true, Jurisdiction: rights.CCPA})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{know.ID, optOut.ID}, ids(listed)); diff != "" {
		t.Errorf("list --overdue (-want +got):\n%s", diff)
	}
	if listed[0].DueBy.Location().String() != "America/Los_Angeles" {
		t.Errorf("deadlines shown in %v, want the controller's zone", listed[0].DueBy.Location())
	}
}
