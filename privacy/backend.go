package privacy

import (
	"context"
	"time"
)

// Backend is what the privacy centre asks of Garde. It is implemented over
// the rights service, the identity verification, the consent ledger and
// the bundle downloads (cmd/garde wires it); the pages only render.
//
// Every method that names a request needs the requester's identity to be
// verified for it (Confirm) — except Ask and Take, whose capability is the
// address's mailbox and the one-time link. Errors are garde errors; their
// messages are safe to show.
type Backend interface {
	// Ask records a request (or, for KindConsents, a verification alone) and
	// sends a one-time code to the address. Known and unknown addresses get
	// the same answer. EInvalid: an unknown kind or jurisdiction, a malformed
	// address; ETooMany: too many codes for the address or the IP.
	Ask(ctx context.Context, a Ask) (requestID string, err error)
	// AskSigned records a request (or a consents session) for a person the
	// brand's own site vouches for with a signed token (rights/verify's
	// site token): verified at once, no code needed. EInvalid: a token that
	// is malformed, expired, replayed or not signed by the brand's keys;
	// EUnavailable: no brand keys configured.
	AskSigned(ctx context.Context, a Ask, token string) (requestID string, err error)
	// Confirm checks the code typed for the request; on success the
	// requester is verified for it. EInvalid: wrong or expired code;
	// ETooMany: too many attempts.
	Confirm(ctx context.Context, requestID, code, ip string) error
	// Status is the request as the person may see it.
	Status(ctx context.Context, requestID string) (Status, error)
	// Consents lists the person's consent per purpose that asks for it.
	Consents(ctx context.Context, requestID string) ([]Consent, error)
	// Decide gives (give) or withdraws consent to one purpose, as a ledger
	// record whose source is the privacy centre's form.
	Decide(ctx context.Context, requestID string, d Decision) error
	// Fields lists the person's traits that can be corrected.
	Fields(ctx context.Context, requestID string) ([]Field, error)
	// Rectify corrects one trait; an undeclared field is EInvalid and
	// nothing changes.
	Rectify(ctx context.Context, requestID, field, value string) error
	// Take returns the copy of the person's data behind a one-time link
	// token, once; ENotFound afterwards, and for any wrong or expired
	// token.
	Take(ctx context.Context, token string) (zip []byte, err error)
}

// Kinds of what a person may ask for in the centre: the rights' request
// types (rights.Type values), and consents (see and change one's
// consents, which is not a request).
const (
	KindAccess        = "access"
	KindPortability   = "portability"
	KindRectification = "rectification"
	KindErasure       = "erasure"
	KindRestriction   = "restriction"
	KindObjection     = "objection"
	KindOptOut        = "opt_out_sale_sharing"
	KindConsents      = "consents"
)

// Ask is a person's request before verification.
type Ask struct {
	Kind         string
	Jurisdiction string // "GDPR" or "CCPA" (rights.Jurisdiction)
	Email        string
	Lang         string // "fr" or "en"
	IP           string
}

// Status is a request as its requester sees it.
type Status struct {
	ID       string
	Kind     string
	State    string // received, verified, in_progress, completed, refused, extended
	Received time.Time
	DueBy    time.Time // the deadline (the extended one once extended)
	Reason   string    // why it was refused or extended
	// Known: whether Garde holds anything about the verified person.
	Known bool
	// Download: the one-time link's token once the copy is ready ("").
	Download        string
	DownloadExpires time.Time
	// Certificate: the signed erasure certificate once erased ("").
	Certificate string
}

// Consent is the person's state for one purpose.
type Consent struct {
	Purpose     string
	Description string // in the person's language, from the inventory
	LegalBasis  string
	Given       bool
	Expires     time.Time // zero unless given
}

// Decision is a change of consent from the centre.
type Decision struct {
	Purpose   string
	Give      bool
	Lang      string
	IP        string
	UserAgent string
}

// Field is one correctable trait.
type Field struct {
	Name     string
	Category string
	Value    string // as stored, in clear, for the person only
}
