package rights

import (
	"slices"
	"time"

	"github.com/garde-privacy/garde"
)

// State is where a request stands.
type State string

// States. A request is received, its requester's identity verified, then
// worked on; it ends completed or refused (with the reason told to the
// person). It may be extended once, with reasons, before it is due.
const (
	StateReceived   State = "received"
	StateVerified   State = "verified"
	StateInProgress State = "in_progress"
	StateExtended   State = "extended"
	StateCompleted  State = "completed"
	StateRefused    State = "refused"
)

// States lists every state, in the order of the flow.
var States = []State{StateReceived, StateVerified, StateInProgress, StateExtended, StateCompleted, StateRefused}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Open reports whether a request in state s still awaits an answer.
func (s State) Open() bool { return s != StateCompleted && s != StateRefused }

// transitions is the state machine: from → the states it may move to.
// An unverified request can only be verified or refused (CCPA §7021(b): a
// request not verified within the period may be denied); nothing leaves
// completed or refused.
var transitions = map[State][]State{
	StateReceived:   {StateVerified, StateRefused},
	StateVerified:   {StateInProgress, StateExtended, StateCompleted, StateRefused},
	StateInProgress: {StateExtended, StateCompleted, StateRefused},
	StateExtended:   {StateInProgress, StateCompleted, StateRefused},
}

// Allowed reports whether a request may move from one state to another.
func Allowed(from, to State) bool { return slices.Contains(transitions[from], to) }

// Transition is one step in a request's history. Reason is the operator's
// free text (an extension's or refusal's reason, told to the person); it
// should name no one.
type Transition struct {
	From   State
	To     State
	At     time.Time
	Reason string
}

// Request is one data-subject request. Its ID is opaque and safe to log.
type Request struct {
	ID           string
	Type         Type
	Jurisdiction Jurisdiction
	// Subject is empty until the requester's identity is verified.
	Subject  garde.SubjectID
	State    State
	Received time.Time
	Verified time.Time // zero until verified
	Clock
	Extended        bool
	ExtensionReason string
	RefusalReason   string
	// Paused: the clock waits for the identity (Rules.PauseWhileUnverified
	// when the request was created); the deadlines are then counted again
	// from verification, and PausedFor is how long it waited.
	Paused    bool
	PausedFor time.Duration
	History   []Transition
}

// Deadline is the date the answer is due by: the extended date once the
// request was extended.
func (r *Request) Deadline() time.Time {
	if r.Extended {
		return r.ExtendedDueBy
	}
	return r.DueBy
}

// Overdue reports whether the request still awaits an answer after its
// deadline. A request whose clock is paused for identity is not overdue
// before it is verified.
func (r *Request) Overdue(now time.Time) bool {
	if !r.State.Open() || r.Paused && r.State == StateReceived {
		return false
	}
	d := r.Deadline()
	return !d.IsZero() && now.After(d)
}

// Transition moves the request to state to at now and records the step.
// Extending and refusing need a reason (EInvalid). A move the state
// machine does not allow, a second extension, an extension of a request
// the law gives none (a CCPA opt-out), or one asked after the notice
// deadline (GDPR: within the first month; CCPA: within the first 45 days)
// is an EConflict. On error the request is unchanged.
func (r *Request) Transition(to State, reason string, now time.Time) error {
	if !to.Valid() {
		return garde.Errorf(garde.EInvalid, "unknown request state %q", to)
	}
	if !Allowed(r.State, to) {
		return garde.Errorf(garde.EConflict, "request %s is %s: it cannot become %s", r.ID, r.State, to)
	}
	if (to == StateExtended || to == StateRefused) && reason == "" {
		return garde.Errorf(garde.EInvalid, "request %s: a reason is required to make it %s", r.ID, to)
	}
	if to == StateExtended {
		switch {
		case r.Extended:
			return garde.Errorf(garde.EConflict, "request %s was already extended: a request is extended once", r.ID)
		case r.ExtendedDueBy.IsZero():
			return garde.Errorf(garde.EConflict, "request %s (%s, %s) cannot be extended", r.ID, r.Jurisdiction, r.Type)
		case now.After(r.ExtendNoticeBy) || now.After(r.DueBy):
			return garde.Errorf(garde.EConflict, "request %s: an extension had to be notified by %s",
				r.ID, r.ExtendNoticeBy.Format(time.DateOnly))
		}
	}
	r.History = append(r.History, Transition{From: r.State, To: to, At: now, Reason: reason})
	r.State = to
	switch to {
	case StateVerified:
		r.Verified = now
	case StateExtended:
		r.Extended, r.ExtensionReason = true, reason
	case StateRefused:
		r.RefusalReason = reason
	}
	return nil
}
