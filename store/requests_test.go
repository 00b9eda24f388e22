package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

var requestT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// newRequest is a request of type typ received i minutes after requestT0.
func newRequest(id string, j rights.Jurisdiction, typ rights.Type, i int) rights.Request {
	received := requestT0.Add(time.Duration(i) * time.Minute)
	return rights.Request{
		ID: id, Type: typ, Jurisdiction: j, State: rights.StateReceived, Received: received,
		Clock:   rights.Deadlines(j, typ, received, nil),
		History: []rights.Transition{{To: rights.StateReceived, At: received}},
	}
}

func requestIDs(rs []rights.Request) []string {
	ids := []string{}
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestRequestStore: a request round-trips with its history, to the
// nanosecond of its deadlines; updates are optimistic; filters select
// what they say and take hostile values as values.
func TestRequestStore(t *testing.T) {
	ctx := context.Background()
	s := store.NewRequests(openData(t))
	const hostile = `x'); DROP TABLE requests; --`
	subject := garde.NewSubjectID()

	a := newRequest("r_a", rights.GDPR, rights.Access, 0)
	b := newRequest("r_b", rights.CCPA, rights.Erasure, 1)
	c := newRequest("r_c", rights.CCPA, rights.OptOutSaleSharing, 2)
	d := newRequest("r_d", rights.GDPR, rights.Objection, 3)
	d.Paused = true
	for _, r := range []*rights.Request{&a, &b, &c, &d} {
		if err := s.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRequest(ctx, &a); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("create twice: got %v, want %s", err, garde.EConflict)
	}

	// a: verified, extended with a hostile reason, refused
	steps := []struct {
		to     rights.State
		reason string
	}{{rights.StateVerified, ""}, {rights.StateExtended, hostile}, {rights.StateRefused, "l'abus manifeste; \"quoted\""}}
	for i, st := range steps {
		if err := a.Transition(st.to, st.reason, requestT0.Add(time.Duration(i+1)*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if st.to == rights.StateVerified {
			a.Subject = subject
		}
		if err := s.UpdateRequest(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.FindRequestByID(ctx, "r_a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("round trip (-saved +found):\n%s", diff)
	}
	if got.DueBy.UnixNano()%1e9 != 999999999 {
		t.Errorf("deadline %v lost its last nanosecond", got.DueBy)
	}

	t.Run("stale update", func(t *testing.T) {
		stale, _ := s.FindRequestByID(ctx, "r_b")
		fresh := stale
		fresh.History = append([]rights.Transition(nil), stale.History...)
		if err := fresh.Transition(rights.StateVerified, "", requestT0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRequest(ctx, &fresh); err != nil {
			t.Fatal(err)
		}
		if err := stale.Transition(rights.StateRefused, "cannot verify", requestT0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRequest(ctx, &stale); garde.ErrorCode(err) != garde.EConflict {
			t.Errorf("got %v, want %s", err, garde.EConflict)
		}
		now, _ := s.FindRequestByID(ctx, "r_b")
		if now.State != rights.StateVerified || len(now.History) != 2 {
			t.Errorf("after a stale update: %s with %d steps", now.State, len(now.History))
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if _, err := s.FindRequestByID(ctx, hostile); garde.ErrorCode(err) != garde.ENotFound {
			t.Errorf("find: got %v, want %s", err, garde.ENotFound)
		}
		ghost := newRequest(hostile, rights.GDPR, rights.Access, 9)
		ghost.Transition(rights.StateVerified, "", requestT0)
		if err := s.UpdateRequest(ctx, &ghost); garde.ErrorCode(err) != garde.ENotFound {
			t.Errorf("update: got %v, want %s", err, garde.ENotFound)
		}
	})

	// b is now verified; c and d received (d paused); a refused.
	afterAll := requestT0.AddDate(1, 0, 0)
	for _, f := range []struct {
		name string
		f    rights.Filter
		want []string
	}{
		{"all, in order of receipt", rights.Filter{}, []string{"r_a", "r_b", "r_c", "r_d"}},
		{"limit", rights.Filter{Limit: 2}, []string{"r_a", "r_b"}},
		{"state", rights.Filter{States: []rights.State{rights.StateReceived}}, []string{"r_c", "r_d"}},
		{"states", rights.Filter{States: []rights.State{rights.StateRefused, rights.StateVerified}}, []string{"r_a", "r_b"}},
		{"type", rights.Filter{Types: []rights.Type{rights.OptOutSaleSharing, rights.Objection}}, []string{"r_c", "r_d"}},
		{"jurisdiction", rights.Filter{Jurisdiction: rights.CCPA}, []string{"r_b", "r_c"}},
		{"subject", rights.Filter{Subject: subject}, []string{"r_a"}},
		{"overdue: open, not paused", rights.Filter{OverdueAt: afterAll}, []string{"r_b", "r_c"}},
		{"overdue before any deadline", rights.Filter{OverdueAt: requestT0.AddDate(0, 0, 7)}, []string{}},
		{"overdue: opt-out after 15 business days", rights.Filter{OverdueAt: time.Date(2026, 3, 24, 8, 0, 0, 0, time.UTC)}, []string{"r_c"}},
		{"hostile state", rights.Filter{States: []rights.State{hostile}}, []string{}},
		{"hostile type", rights.Filter{Types: []rights.Type{`access' OR '1'='1`}}, []string{}},
		{"hostile jurisdiction", rights.Filter{Jurisdiction: `GDPR' OR 1=1 --`}, []string{}},
		{"hostile subject", rights.Filter{Subject: `' OR subject_id <> '' --`}, []string{}},
	} {
		t.Run(f.name, func(t *testing.T) {
			rs, err := s.FindRequests(ctx, f.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(f.want, requestIDs(rs)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	all, err := s.FindRequests(ctx, rights.Filter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("after the hostile filters: %d requests, %v", len(all), err)
	}
	if diff := cmp.Diff(a, all[0]); diff != "" {
		t.Errorf("listed (-saved +listed):\n%s", diff)
	}
}
