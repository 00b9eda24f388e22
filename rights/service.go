package rights

import (
	"context"
	"time"

	"github.com/garde-privacy/garde"
)

// Store keeps requests and their history. Implemented by store.Requests.
type Store interface {
	// CreateRequest stores a new request with its history; an existing ID
	// is an EConflict.
	CreateRequest(ctx context.Context, r *Request) error
	// FindRequestByID returns the request with its history in order, or an
	// ENotFound.
	FindRequestByID(ctx context.Context, id string) (Request, error)
	// FindRequests returns the requests f selects, oldest receipt first,
	// with their histories.
	FindRequests(ctx context.Context, f Filter) ([]Request, error)
	// UpdateRequest saves r after one Transition: its state, verification,
	// clock, extension and refusal fields, and its last history entry. It
	// is an EConflict unless the stored request still has
	// len(r.History)-1 steps (someone else moved it meanwhile), an
	// ENotFound if there is no such request.
	UpdateRequest(ctx context.Context, r *Request) error
}

// Filter selects requests. Zero fields select everything.
type Filter struct {
	States       []State
	Types        []Type
	Jurisdiction Jurisdiction
	Subject      garde.SubjectID
	// OverdueAt, if set, keeps only requests that are open, not paused for
	// identity, and whose deadline (the extended one once extended) is
	// before it.
	OverdueAt time.Time
	Limit     int // 0: no limit
}

// ListFilter is what an operator lists by.
type ListFilter struct {
	State        State // "": any
	Type         Type  // "": any
	Jurisdiction Jurisdiction
	Overdue      bool // only those overdue now
	Limit        int
}

// Draft is a new request.
type Draft struct {
	Type         Type
	Jurisdiction Jurisdiction
	// Subject, when the request comes from an already identified person
	// (the brand's signed-in site); the request is still "received" until
	// Verify.
	Subject garde.SubjectID
	// Received: when the request reached the controller (a letter opened
	// late was still received on its day). Zero: now.
	Received time.Time
}

// Service runs the requests: it creates them with their legal clock and
// moves them through the state machine, one audited-by-history step at a
// time. It discloses or deletes nothing itself.
type Service struct {
	Store         Store
	Clock         garde.Clock
	Jurisdictions Config
}

// NewService returns a service over st with the default rules of every
// jurisdiction.
func NewService(st Store, clock garde.Clock) *Service {
	return &Service{Store: st, Clock: clock, Jurisdictions: DefaultConfig()}
}

// Create records a new request and starts its clock. An unknown type or
// jurisdiction, a type the jurisdiction does not know, a malformed subject
// or a receipt in the future is an EInvalid.
func (s *Service) Create(ctx context.Context, d Draft) (Request, error) {
	now := s.Clock.Now()
	switch {
	case !d.Type.Valid():
		return Request{}, garde.Errorf(garde.EInvalid, "unknown request type %q", d.Type)
	case !d.Jurisdiction.Valid():
		return Request{}, garde.Errorf(garde.EInvalid, "unknown jurisdiction %q", d.Jurisdiction)
	case !Supported(d.Jurisdiction, d.Type):
		return Request{}, garde.Errorf(garde.EInvalid, "%s is not a %s right", d.Type, d.Jurisdiction)
	case d.Subject != "" && !d.Subject.Valid():
		return Request{}, garde.Errorf(garde.EInvalid, "malformed subject id")
	case d.Received.After(now):
		return Request{}, garde.Errorf(garde.EInvalid, "a request cannot be received in the future")
	}
	if d.Received.IsZero() {
		d.Received = now
	}
	rules := s.Jurisdictions.Rules(d.Jurisdiction)
	r := Request{
		ID:           "r_" + garde.RandomID(),
		Type:         d.Type,
		Jurisdiction: d.Jurisdiction,
		Subject:      d.Subject,
		State:        StateReceived,
		Received:     d.Received,
		Clock:        rules.Deadlines(d.Jurisdiction, d.Type, d.Received),
		Paused:       rules.PauseWhileUnverified,
		History:      []Transition{{To: StateReceived, At: d.Received}},
	}
	if err := s.Store.CreateRequest(ctx, &r); err != nil {
		return Request{}, err
	}
	return s.localise(r), nil
}

// Find returns one request.
func (s *Service) Find(ctx context.Context, id string) (Request, error) {
	r, err := s.Store.FindRequestByID(ctx, id)
	if err != nil {
		return Request{}, err
	}
	return s.localise(r), nil
}

// List returns the requests f selects, oldest first.
func (s *Service) List(ctx context.Context, f ListFilter) ([]Request, error) {
	sf := Filter{Jurisdiction: f.Jurisdiction, Limit: f.Limit}
	if f.State != "" {
		if !f.State.Valid() {
			return nil, garde.Errorf(garde.EInvalid, "unknown request state %q", f.State)
		}
		sf.States = []State{f.State}
	}
	if f.Type != "" {
		if !f.Type.Valid() {
			return nil, garde.Errorf(garde.EInvalid, "unknown request type %q", f.Type)
		}
		sf.Types = []Type{f.Type}
	}
	if f.Jurisdiction != "" && !f.Jurisdiction.Valid() {
		return nil, garde.Errorf(garde.EInvalid, "unknown jurisdiction %q", f.Jurisdiction)
	}
	if f.Overdue {
		sf.OverdueAt = s.Clock.Now()
	}
	return s.find(ctx, sf)
}

// Overdue returns the requests still unanswered after their deadline at
// now, for the alert path.
func (s *Service) Overdue(ctx context.Context, now time.Time) ([]Request, error) {
	return s.find(ctx, Filter{OverdueAt: now})
}

func (s *Service) find(ctx context.Context, f Filter) ([]Request, error) {
	rs, err := s.Store.FindRequests(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range rs {
		rs[i] = s.localise(rs[i])
	}
	return rs, nil
}

// Verify records that the requester is subject (verified by code, signed
// token or an operator's evidence); subject "" records a requester who
// proved their address but whom Garde does not know (the answer is then
// that nothing is held). Where the jurisdiction's clock waits for the
// identity, the deadlines are counted again from now.
func (s *Service) Verify(ctx context.Context, id string, subject garde.SubjectID) (Request, error) {
	if subject != "" && !subject.Valid() {
		return Request{}, garde.Errorf(garde.EInvalid, "malformed subject id")
	}
	return s.step(ctx, id, func(r *Request, now time.Time) error {
		if err := r.Transition(StateVerified, "", now); err != nil {
			return err
		}
		r.Subject = subject
		if r.Paused {
			confirm := r.ConfirmBy // the acknowledgement is due from receipt regardless
			r.Clock = s.Jurisdictions.Rules(r.Jurisdiction).Deadlines(r.Jurisdiction, r.Type, now)
			r.ConfirmBy = confirm
			r.PausedFor = now.Sub(r.Received)
		}
		return nil
	})
}

// Start marks a verified (or extended) request as being worked on.
func (s *Service) Start(ctx context.Context, id string) (Request, error) {
	return s.transition(ctx, id, StateInProgress, "")
}

// Extend extends the request once, with reasons to be told to the person:
// only before its due date, and under the GDPR only within the first
// month (Art. 12(3)).
func (s *Service) Extend(ctx context.Context, id, reason string) (Request, error) {
	return s.transition(ctx, id, StateExtended, reason)
}

// Refuse refuses the request, with the reason told to the person.
func (s *Service) Refuse(ctx context.Context, id, reason string) (Request, error) {
	return s.transition(ctx, id, StateRefused, reason)
}

// Complete records that the request was answered.
func (s *Service) Complete(ctx context.Context, id string) (Request, error) {
	return s.transition(ctx, id, StateCompleted, "")
}

func (s *Service) transition(ctx context.Context, id string, to State, reason string) (Request, error) {
	return s.step(ctx, id, func(r *Request, now time.Time) error { return r.Transition(to, reason, now) })
}

// step loads a request, applies one transition and saves it; a concurrent
// step makes it an EConflict.
func (s *Service) step(ctx context.Context, id string, fn func(*Request, time.Time) error) (Request, error) {
	r, err := s.Store.FindRequestByID(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if err := fn(&r, s.Clock.Now()); err != nil {
		return Request{}, err
	}
	if err := s.Store.UpdateRequest(ctx, &r); err != nil {
		return Request{}, err
	}
	return s.localise(r), nil
}

// localise shows the deadlines in the controller's zone, where they are
// dates.
func (s *Service) localise(r Request) Request {
	loc := s.Jurisdictions.Location(r.Jurisdiction)
	for _, t := range []*time.Time{&r.ConfirmBy, &r.DueBy, &r.ExtendedDueBy, &r.ExtendNoticeBy} {
		if !t.IsZero() {
			*t = t.In(loc)
		}
	}
	return r
}
