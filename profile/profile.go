// Package profile reads a subject back: the profile's traits and the events,
// with personal values opened with the subject's own key. A subject merged
// into another is read as part of it. This is the operator read of the
// spine; purpose-bound reads (who may see which fields, for which purpose)
// wrap it.
package profile

import (
	"context"
	"errors"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
)

// Subject is what the store knows of a subject outside its data.
type Subject struct {
	ID         garde.SubjectID
	Members    []garde.SubjectID // subjects merged into this one
	Identified bool
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// StoredTrait is a trait as stored: sealed, or clear JSON.
type StoredTrait struct {
	Subject   garde.SubjectID
	Name      string
	Category  string
	Purposes  string
	Sealed    bool
	Value     []byte
	UpdatedAt time.Time
}

// StoredEvent is an event as stored.
type StoredEvent struct {
	ID         int64
	Subject    garde.SubjectID
	Source     string
	Type       string
	Name       string
	MessageID  string
	Time       time.Time
	Received   time.Time
	Purposes   string
	Properties []byte
	Context    []byte
	Sealed     []byte
}

// Store is what reading a profile needs from storage.
type Store interface {
	// FindSubject returns the canonical subject of id (following a merge)
	// with its members, or a garde.ENotFound error.
	FindSubject(ctx context.Context, id garde.SubjectID) (*Subject, error)
	// FindSubjectByIdentity returns the subject of a blind index, or ENotFound.
	FindSubjectByIdentity(ctx context.Context, kind string, hash []byte) (garde.SubjectID, error)
	FindTraits(ctx context.Context, subjects []garde.SubjectID) ([]StoredTrait, error)
	// FindEvents returns the newest events of the subjects, newest first.
	FindEvents(ctx context.Context, subjects []garde.SubjectID, limit int) ([]StoredEvent, error)
	// FindSubjects is FindSubject for many ids in one go: the canonical
	// subjects they name (following merges), each once, in the order of
	// the first id naming it, with their members. Ids that name no subject
	// are left out and counted in unknown (each distinct id once).
	FindSubjects(ctx context.Context, ids []garde.SubjectID) (subjects []Subject, unknown int, err error)
	// FindEventsEach returns the newest events of each of the subjects (at
	// most limit of each), newest first overall.
	FindEventsEach(ctx context.Context, subjects []garde.SubjectID, limit int) ([]StoredEvent, error)
}

// Opener opens sealed values: one (a trait), or an event's sealed fields
// (garde.SealedFields, any format). The vault implements it.
type Opener interface {
	Open(ctx context.Context, s garde.SubjectID, field string, sealed []byte) ([]byte, error)
	OpenFields(ctx context.Context, s garde.SubjectID, sealed []byte, fn func(path string, plaintext []byte) error) error
}

// Profile is a subject read back in clear.
type Profile struct {
	ID         garde.SubjectID   `json:"id"`
	Members    []garde.SubjectID `json:"merged,omitempty"`
	Identified bool              `json:"identified"`
	CreatedAt  time.Time         `json:"createdAt"`
	LastSeenAt time.Time         `json:"lastSeenAt"`
	Traits     map[string]any    `json:"traits"`
	Events     []Event           `json:"events"`
}

// Event is an event read back in clear.
type Event struct {
	ID         int64          `json:"id"`
	Type       string         `json:"type"`
	Name       string         `json:"name,omitempty"`
	Source     string         `json:"source"`
	MessageID  string         `json:"messageId"`
	Timestamp  time.Time      `json:"timestamp"`
	ReceivedAt time.Time      `json:"receivedAt"`
	Purposes   string         `json:"purposes"`
	Properties map[string]any `json:"properties"`
	Context    map[string]any `json:"context"`
}

// Reader reads profiles.
type Reader struct {
	Store  Store
	Opener Opener
	// Allowed is the consent gate at read time: it returns, of the stored
	// purposes (comma-separated keys), those the subject's data may be
	// processed for now ("" for none). Data whose purposes are all refused
	// now is not returned, whenever it was collected. Nil allows all.
	Allowed func(s garde.SubjectID, purposes string) string
}

func (r *Reader) allowed(s garde.SubjectID, purposes string) string {
	if r.Allowed == nil {
		return purposes
	}
	return r.Allowed(s, purposes)
}

// Read returns the profile of id with its newest events (at most limit).
func (r *Reader) Read(ctx context.Context, id garde.SubjectID, limit int) (*Profile, error) {
	s, err := r.Store.FindSubject(ctx, id)
	if err != nil {
		return nil, err
	}
	all := append([]garde.SubjectID{s.ID}, s.Members...)
	p := newProfile(s)
	traits, err := r.Store.FindTraits(ctx, all)
	if err != nil {
		return nil, err
	}
	for i := range traits {
		if err := r.addTrait(ctx, p, &traits[i]); err != nil {
			return nil, err
		}
	}
	events, err := r.Store.FindEvents(ctx, all, limit)
	if err != nil {
		return nil, err
	}
	p.Events = make([]Event, 0, len(events))
	for i := range events {
		if err := r.addEvent(ctx, p, &events[i]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// MaxMany is the most ids ReadMany reads in one call.
const MaxMany = 1000

// ReadMany reads the profiles of ids as Read does each, with one query per
// kind of row for all of them rather than one per profile. Profiles come
// in the order of ids, each canonical subject once (an id merged into
// another names the same profile); ids that name no subject are left out
// and counted in unknown. keep, when not nil, is asked once about each
// canonical subject before any of its data is read: those it refuses are
// left out, never opened. At most MaxMany ids (garde.EInvalid beyond).
func (r *Reader) ReadMany(ctx context.Context, ids []garde.SubjectID, limit int, keep func(garde.SubjectID) bool) (profiles []*Profile, unknown int, err error) {
	if len(ids) > MaxMany {
		return nil, 0, garde.Errorf(garde.EInvalid, "at most %d subjects a read", MaxMany)
	}
	if len(ids) == 0 {
		return []*Profile{}, 0, nil
	}
	subjects, unknown, err := r.Store.FindSubjects(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	profiles = make([]*Profile, 0, len(subjects))
	owner := make(map[garde.SubjectID]*Profile, len(subjects))
	all := make([]garde.SubjectID, 0, len(subjects))
	for i := range subjects {
		if keep != nil && !keep(subjects[i].ID) {
			continue
		}
		p := newProfile(&subjects[i])
		profiles = append(profiles, p)
		owner[p.ID] = p
		all = append(all, p.ID)
		for _, m := range p.Members {
			owner[m] = p
			all = append(all, m)
		}
	}
	if len(profiles) == 0 {
		return profiles, unknown, nil
	}
	traits, err := r.Store.FindTraits(ctx, all)
	if err != nil {
		return nil, 0, err
	}
	for i := range traits {
		if err := r.addTrait(ctx, owner[traits[i].Subject], &traits[i]); err != nil {
			return nil, 0, err
		}
	}
	if limit <= 0 {
		for _, p := range profiles {
			p.Events = []Event{}
		}
		return profiles, unknown, nil
	}
	events, err := r.Store.FindEventsEach(ctx, all, limit)
	if err != nil {
		return nil, 0, err
	}
	// each member's newest limit events, newest first overall: a profile's
	// first limit of them are its newest limit, as Read's single query has
	seen := make(map[*Profile]int, len(profiles))
	for i := range events {
		p := owner[events[i].Subject]
		if seen[p] == limit {
			continue
		}
		seen[p]++
		if p.Events == nil {
			p.Events = make([]Event, 0, min(limit, 16))
		}
		if err := r.addEvent(ctx, p, &events[i]); err != nil {
			return nil, 0, err
		}
	}
	for _, p := range profiles {
		if p.Events == nil {
			p.Events = []Event{}
		}
	}
	return profiles, unknown, nil
}

func newProfile(s *Subject) *Profile {
	return &Profile{ID: s.ID, Members: s.Members, Identified: s.Identified, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, Traits: map[string]any{}}
}

// addTrait opens a stored trait into p, unless the consent gate refuses
// all its purposes now. The canonical subject's own traits win over those
// of merged members; traits come oldest first, so later ones overwrite.
func (r *Reader) addTrait(ctx context.Context, p *Profile, t *StoredTrait) error {
	if _, set := p.Traits[t.Name]; set && t.Subject != p.ID {
		return nil
	}
	if r.allowed(p.ID, t.Purposes) == "" {
		return nil
	}
	raw := t.Value
	if t.Sealed {
		var err error
		if raw, err = r.Opener.Open(ctx, t.Subject, "traits."+t.Name, t.Value); err != nil {
			return err
		}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return garde.Wrap(garde.EInternal, err, "a stored trait is corrupt")
	}
	p.Traits[t.Name] = v
	return nil
}

// addEvent opens a stored event into p with the purposes the consent gate
// allows now, unless it allows none of them.
func (r *Reader) addEvent(ctx context.Context, p *Profile, se *StoredEvent) error {
	if se.Purposes = r.allowed(p.ID, se.Purposes); se.Purposes == "" {
		return nil
	}
	e, err := r.open(ctx, se)
	if err != nil {
		return err
	}
	p.Events = append(p.Events, e)
	return nil
}

// open turns a stored event into a clear one.
func (r *Reader) open(ctx context.Context, se *StoredEvent) (Event, error) {
	e := Event{ID: se.ID, Type: se.Type, Name: se.Name, Source: se.Source, MessageID: se.MessageID,
		Timestamp: se.Time, ReceivedAt: se.Received, Purposes: se.Purposes,
		Properties: map[string]any{}, Context: map[string]any{}}
	if err := json.Unmarshal(se.Properties, &e.Properties); err != nil {
		return e, garde.Wrap(garde.EInternal, err, "a stored event is corrupt")
	}
	if err := json.Unmarshal(se.Context, &e.Context); err != nil {
		return e, garde.Wrap(garde.EInternal, err, "a stored event is corrupt")
	}
	err := r.Opener.OpenFields(ctx, se.Subject, se.Sealed, func(path string, plain []byte) error {
		var v any
		if err := json.Unmarshal(plain, &v); err != nil {
			return garde.Wrap(garde.EInternal, err, "a stored event is corrupt")
		}
		setPath(&e, path, v)
		return nil
	})
	if errors.Is(err, garde.ErrSealedFields) {
		err = garde.Wrap(garde.EInternal, err, "a stored event is corrupt")
	}
	return e, err
}

// setPath puts an opened value back where it was sent: "properties.email",
// "traits.name" (group traits are stored as properties), "context.ip",
// "context.page.url" (kept flat, as declared).
func setPath(e *Event, path string, v any) {
	switch {
	case len(path) > len("properties.") && path[:len("properties.")] == "properties.":
		e.Properties[path[len("properties."):]] = v
	case len(path) > len("traits.") && path[:len("traits.")] == "traits.":
		e.Properties[path[len("traits."):]] = v
	case len(path) > len("context.") && path[:len("context.")] == "context.":
		e.Context[path[len("context."):]] = v
	}
}
