package rights_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
)

// gdprRequest is a GDPR access request received on 2 March 2026 (due 2
// April, extendable to 2 June), in state st.
func gdprRequest(t testing.TB, st rights.State) rights.Request {
	received := time.Date(2026, 3, 2, 10, 0, 0, 0, mustZone(t, "Europe/Paris"))
	return rights.Request{
		ID: "r_test", Type: rights.Access, Jurisdiction: rights.GDPR, State: st, Received: received,
		Clock:   rights.Deadlines(rights.GDPR, rights.Access, received, nil),
		History: []rights.Transition{{To: rights.StateReceived, At: received}},
	}
}

// TestTransitionTable tries every move between two states: the allowed
// ones succeed, every other is an EConflict.
func TestTransitionTable(t *testing.T) {
	allowed := map[[2]rights.State]bool{
		{rights.StateReceived, rights.StateVerified}:    true,
		{rights.StateReceived, rights.StateRefused}:     true,
		{rights.StateVerified, rights.StateInProgress}:  true,
		{rights.StateVerified, rights.StateExtended}:    true,
		{rights.StateVerified, rights.StateCompleted}:   true,
		{rights.StateVerified, rights.StateRefused}:     true,
		{rights.StateInProgress, rights.StateExtended}:  true,
		{rights.StateInProgress, rights.StateCompleted}: true,
		{rights.StateInProgress, rights.StateRefused}:   true,
		{rights.StateExtended, rights.StateInProgress}:  true,
		{rights.StateExtended, rights.StateCompleted}:   true,
		{rights.StateExtended, rights.StateRefused}:     true,
	}
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	n := 0
	for _, from := range rights.States {
		for _, to := range rights.States {
			ok := allowed[[2]rights.State{from, to}]
			n++
			t.Run(fmt.Sprintf("%s to %s", from, to), func(t *testing.T) {
				r := gdprRequest(t, from)
				err := r.Transition(to, "the request covers ten years of archives", now)
				if got := rights.Allowed(from, to); got != ok {
					t.Errorf("Allowed: got %v, want %v", got, ok)
				}
				if ok {
					if err != nil {
						t.Fatalf("got %v, want nil", err)
					}
					if r.State != to {
						t.Errorf("state %s, want %s", r.State, to)
					}
					last := r.History[len(r.History)-1]
					if diff := cmp.Diff(rights.Transition{From: from, To: to, At: now, Reason: "the request covers ten years of archives"}, last); diff != "" {
						t.Errorf("history (-want +got):\n%s", diff)
					}
					return
				}
				if code := garde.ErrorCode(err); code != garde.EConflict {
					t.Errorf("got %v, want %s", err, garde.EConflict)
				}
				if r.State != from || len(r.History) != 1 {
					t.Errorf("a refused move changed the request: %s, %d steps", r.State, len(r.History))
				}
			})
		}
	}
	if n != 36 {
		t.Errorf("tried %d moves, want 36", n)
	}
}

// TestTransitionRules: reasons, the single extension, its deadline, and
// what each move records.
func TestTransitionRules(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	lastDay := time.Date(2026, 4, 2, 23, 0, 0, 0, paris) // the due date, 2 April
	nextDay := time.Date(2026, 4, 3, 0, 0, 1, 0, paris)
	optOut := func() rights.Request {
		r := gdprRequest(t, rights.StateInProgress)
		r.Jurisdiction, r.Type = rights.CCPA, rights.OptOutSaleSharing
		r.Clock = rights.Deadlines(rights.CCPA, rights.OptOutSaleSharing, r.Received, nil)
		return r
	}
	extended := func() rights.Request {
		r := gdprRequest(t, rights.StateInProgress)
		if err := r.Transition(rights.StateExtended, "many archives", time.Date(2026, 3, 20, 9, 0, 0, 0, paris)); err != nil {
			t.Fatal(err)
		}
		if err := r.Transition(rights.StateInProgress, "", time.Date(2026, 3, 21, 9, 0, 0, 0, paris)); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct {
		name   string
		req    rights.Request
		to     rights.State
		reason string
		at     time.Time
		code   string
	}{
		{"unknown state", gdprRequest(t, rights.StateVerified), "lost", "", lastDay, garde.EInvalid},
		{"refusal without reason", gdprRequest(t, rights.StateVerified), rights.StateRefused, "", lastDay, garde.EInvalid},
		{"extension without reason", gdprRequest(t, rights.StateVerified), rights.StateExtended, "", lastDay, garde.EInvalid},
		{"extension on the due date", gdprRequest(t, rights.StateInProgress), rights.StateExtended, "volume", lastDay, ""},
		{"GDPR extension after the first month", gdprRequest(t, rights.StateInProgress), rights.StateExtended, "volume", nextDay, garde.EConflict},
		{"second extension", extended(), rights.StateExtended, "still more", lastDay, garde.EConflict},
		{"CCPA opt-out extension", optOut(), rights.StateExtended, "volume", lastDay, garde.EConflict},
		{"completion after the due date", gdprRequest(t, rights.StateInProgress), rights.StateCompleted, "", nextDay, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.req
			before.History = append([]rights.Transition(nil), c.req.History...)
			err := c.req.Transition(c.to, c.reason, c.at)
			if c.code == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if garde.ErrorCode(err) != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
			if diff := cmp.Diff(before, c.req); diff != "" {
				t.Errorf("a refused move changed the request (-before +after):\n%s", diff)
			}
		})
	}

	t.Run("effects", func(t *testing.T) {
		r := gdprRequest(t, rights.StateReceived)
		at := time.Date(2026, 3, 3, 9, 0, 0, 0, paris)
		steps := []struct {
			to     rights.State
			reason string
		}{{rights.StateVerified, ""}, {rights.StateExtended, "many archives"}, {rights.StateRefused, "manifestly unfounded"}}
		for i, s := range steps {
			if err := r.Transition(s.to, s.reason, at.Add(time.Duration(i)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if !r.Verified.Equal(at) || !r.Extended || r.ExtensionReason != "many archives" || r.RefusalReason != "manifestly unfounded" {
			t.Errorf("got verified %v, extended %v %q, refused %q", r.Verified, r.Extended, r.ExtensionReason, r.RefusalReason)
		}
		if !r.Deadline().Equal(r.ExtendedDueBy) {
			t.Errorf("deadline %v, want the extended %v", r.Deadline(), r.ExtendedDueBy)
		}
		if len(r.History) != 4 {
			t.Errorf("%d steps, want 4", len(r.History))
		}
	})
}

// TestOverdue: open after the end of its deadline's day; the extended date
// once extended; never once answered; not while paused for identity.
func TestOverdue(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	endOfDue := time.Date(2026, 4, 2, 23, 59, 59, 999999999, paris)
	after := endOfDue.Add(time.Nanosecond)
	withState := func(st rights.State, edit func(*rights.Request)) rights.Request {
		r := gdprRequest(t, st)
		if edit != nil {
			edit(&r)
		}
		return r
	}
	extended := func(r *rights.Request) { r.Extended = true }
	paused := func(r *rights.Request) { r.Paused = true }
	for _, c := range []struct {
		name string
		req  rights.Request
		now  time.Time
		want bool
	}{
		{"received, last instant of the due day", withState(rights.StateReceived, nil), endOfDue, false},
		{"received, just after", withState(rights.StateReceived, nil), after, true},
		{"in progress, just after", withState(rights.StateInProgress, nil), after, true},
		{"extended, within the extension", withState(rights.StateExtended, extended), after, false},
		{"extended then in progress, after the extension", withState(rights.StateInProgress, extended), time.Date(2026, 6, 3, 0, 0, 0, 0, paris), true},
		{"completed late", withState(rights.StateCompleted, nil), after, false},
		{"refused", withState(rights.StateRefused, nil), after, false},
		{"paused for identity", withState(rights.StateReceived, paused), after, false},
		{"paused, then verified", withState(rights.StateVerified, paused), after, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.req.Overdue(c.now); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
