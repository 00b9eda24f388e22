package bundle

import (
	"context"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
)

// Source is what building a copy reads from storage beside the profile
// (the profile reader reads the subject and its traits). Every method takes
// the person's subjects: the canonical one and those merged into it.
// Implemented by store.Bundle; the PostgreSQL engine implements the same.
type Source interface {
	// EachEvent calls fn with every event of the subjects, oldest first,
	// one at a time: a subject with many events is streamed, never loaded
	// at once. fn must not keep e after it returns.
	EachEvent(ctx context.Context, subjects []garde.SubjectID, fn func(e *profile.StoredEvent) error) error
	// FindIdentities returns, per kind, how many identities (blind
	// indexes) the subjects have and since when, by kind. The hashes
	// themselves are never returned: they mean nothing to the person.
	FindIdentities(ctx context.Context, subjects []garde.SubjectID) ([]Identity, error)
	// FindConsent calls fn for every ledger record f selects, in seq order
	// (consent.Store).
	FindConsent(ctx context.Context, f consent.Filter, fn func(*consent.Record) error) error
	// FindRequests returns the requests f selects, oldest first, with
	// their histories (rights.Store).
	FindRequests(ctx context.Context, f rights.Filter) ([]rights.Request, error)
	// FindRecipients returns what was queued for destinations and vendors
	// about the subjects, oldest first.
	FindRecipients(ctx context.Context, subjects []garde.SubjectID) ([]Recipient, error)
	// FindAccesses calls fn for every audit entry that lists any of the
	// subjects, in seq order. Acts on more than audit.MaxListed people at
	// once record a digest instead of the ids and cannot be found this way.
	FindAccesses(ctx context.Context, subjects []garde.SubjectID, fn func(*audit.Entry) error) error
}

// Identity is one kind of identifier Garde recognises a person by ("user",
// "anon", "email", "phone"): only a keyed hash (blind index) of each is
// kept, so the copy tells the kind and the count, and the profile holds the
// clear values the person gave.
type Identity struct {
	Kind  string    `json:"kind"`
	Count int       `json:"count"`
	Since time.Time `json:"since"`
}

// Recipient kinds.
const (
	// RecipientTopic: a message queued in the outbox for the destinations
	// subscribed to its topic (a withdrawal, an erasure …).
	RecipientTopic = "topic"
	// RecipientVendor: data sent to a named vendor (the vendor register,
	// when it lands, adds these).
	RecipientVendor = "vendor"
)

// Recipient is one disclosure of the person's data (or of a decision about
// it) to a destination outside Garde. Until the vendor register exists,
// recipients are the outbox's messages: Kind RecipientTopic, Name the
// topic; a vendor register adds Kind RecipientVendor with the vendor's
// name and the purpose, so the copy's format does not change.
type Recipient struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Purpose string `json:"purpose,omitempty"`
	// Time is when it was queued or sent.
	Time time.Time `json:"time"`
	// Delivered is when the destination acknowledged it (zero: pending).
	Delivered time.Time `json:"delivered,omitzero"`
}
