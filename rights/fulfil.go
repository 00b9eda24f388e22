package rights

import (
	"context"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
)

// JobFulfil is the durable job that carries out one verified request; its
// key is the request id, so a request is queued at most once at a time.
const JobFulfil = "rights.fulfil"

// JobArgs are a JobFulfil job's arguments: ids only, never personal data.
type JobArgs struct {
	Request string `json:"request"`
	Actor   string `json:"actor"` // who asked it run: "privacy-centre", an operator
}

// Outcome is what answering a request produced, for its requester: kept
// with the request, sealed (it holds a one-time link's token).
type Outcome struct {
	// Lang is the language the requester asked in ("fr" or "en").
	Lang string `json:"lang,omitempty"`
	// Known: whether Garde held anything about the verified person.
	Known bool `json:"known"`
	// Download is the token of the one-time link to the copy (access and
	// portability), valid until DownloadExpires.
	Download        string    `json:"download,omitempty"`
	DownloadExpires time.Time `json:"downloadExpires,omitzero"`
	// Certificate is the signed erasure certificate (erasure).
	Certificate string `json:"certificate,omitempty"`
	// Records: how many ledger records the request wrote (restriction,
	// objection, opt-out, limit).
	Records int `json:"records,omitempty"`
	// Taken: the copy was downloaded (its link works once).
	Taken bool `json:"taken,omitempty"`
}

// OutcomeStore keeps outcomes, sealed by the caller. Implemented by
// store.Requests.
type OutcomeStore interface {
	SetRequestOutcome(ctx context.Context, id string, sealed []byte) error
	// FindRequestOutcome returns nil, nil when the request has none yet.
	FindRequestOutcome(ctx context.Context, id string) ([]byte, error)
}

// Fulfiller carries out verified requests: the JobFulfil handler. Each
// step is safe to run again after a failure (an erasure retried erases
// what is left; a copy is built anew), and the request's state machine
// refuses a second completion, so a job retried after a crash never
// answers twice.
type Fulfiller struct {
	Service   *Service
	Inventory *inventory.Inventory
	Outcomes  OutcomeStore
	// Seal and Open protect outcomes at rest (the vault's derived key).
	Seal func(plaintext []byte) ([]byte, error)
	Open func(sealed []byte) ([]byte, error)
	// Erase erases a subject (the Eraser, serialised with collection).
	Erase func(ctx context.Context, s garde.SubjectID, opts EraseOptions) (*Certificate, string, error)
	// Export builds the copy of a subject's data in lang and stores it
	// behind a one-time link, returning the link's token and expiry.
	Export func(ctx context.Context, r Request, lang string) (token string, expires time.Time, err error)
	// Decide records ledger decisions (purpose key → decision) for the
	// subject, on behalf of request.
	Decide func(ctx context.Context, s garde.SubjectID, decisions map[string]string, request string) error
}

// Run carries out request id. A request already answered is left alone; a
// request not yet verified is an EForbidden (nothing is disclosed or
// deleted before the identity is known).
func (f *Fulfiller) Run(ctx context.Context, id, actor string) error {
	r, err := f.Service.Find(ctx, id)
	if err != nil {
		return err
	}
	switch r.State {
	case StateCompleted, StateRefused:
		return nil
	case StateReceived:
		return garde.Errorf(garde.EForbidden, "request %s: the requester's identity is not verified", id)
	case StateVerified, StateExtended:
		if r, err = f.Service.Start(ctx, id); err != nil {
			return err
		}
	}
	prev, err := f.FindOutcome(ctx, id)
	if err != nil {
		return err
	}
	out, err := f.answer(ctx, r, actor, prev)
	if err != nil {
		return err
	}
	out.Lang = prev.Lang
	if err := f.SaveOutcome(ctx, id, out); err != nil {
		return err
	}
	if r.Type == Rectification {
		return nil // completed when the person (or an operator) corrects
	}
	_, err = f.Service.Complete(ctx, id)
	return err
}

// answer does what the request asks.
func (f *Fulfiller) answer(ctx context.Context, r Request, actor string, prev Outcome) (Outcome, error) {
	out := Outcome{Known: r.Subject != ""}
	if !out.Known {
		// a verified address Garde knows nothing about: the answer is
		// that there is nothing (no copy, nothing to erase)
		return out, nil
	}
	switch r.Type {
	case Erasure:
		_, token, err := f.Erase(ctx, r.Subject, EraseOptions{Actor: actor, Reason: "request " + r.ID})
		if garde.ErrorCode(err) == garde.ENotFound {
			// erased by an earlier attempt whose answer was lost, or meanwhile
			return prev, nil
		}
		if err != nil && token == "" {
			return out, err
		}
		out.Certificate = token
	case Access, Portability:
		lang := prev.Lang
		if lang == "" {
			lang = "en"
		}
		token, exp, err := f.Export(ctx, r, lang)
		if err != nil {
			return out, err
		}
		out.Download, out.DownloadExpires = token, exp
	case Restriction, Objection, OptOutSaleSharing, LimitSensitive:
		d := LedgerDecisions(f.Inventory, r.Type)
		if len(d) > 0 {
			if err := f.Decide(ctx, r.Subject, d, r.ID); err != nil {
				return out, err
			}
		}
		out.Records = len(d)
	case Rectification:
	}
	return out, nil
}

// SaveOutcome seals and keeps a request's outcome.
func (f *Fulfiller) SaveOutcome(ctx context.Context, id string, out Outcome) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	sealed, err := f.Seal(b)
	if err != nil {
		return err
	}
	return f.Outcomes.SetRequestOutcome(ctx, id, sealed)
}

// FindOutcome returns a request's outcome (zero when it has none yet).
func (f *Fulfiller) FindOutcome(ctx context.Context, id string) (Outcome, error) {
	var out Outcome
	sealed, err := f.Outcomes.FindRequestOutcome(ctx, id)
	if err != nil || sealed == nil {
		return out, err
	}
	b, err := f.Open(sealed)
	if err != nil {
		return out, garde.Wrap(garde.EInternal, err, "request outcome does not open")
	}
	return out, json.Unmarshal(b, &out)
}

// Ledger decisions, as consent.Decision strings (rights does not depend on
// the consent package).
const (
	decisionRestricted = "restricted"
	decisionObjected   = "objected"
	decisionOptedOut   = "opted_out"
	decisionWithdrawn  = "withdrawn"
	allPurposes        = "*"
)

// LedgerDecisions returns the consent-ledger decisions (purpose key →
// decision) that carry out a request of type t, which the consent gate
// then enforces everywhere:
//   - restriction (GDPR Art. 18): "restricted" for every purpose at once
//     (stored, not processed);
//   - objection (Art. 21): "objected" for every purpose based on
//     legitimate interests (absolute for direct marketing);
//   - opt-out of sale or sharing (CCPA): "opted_out" for every purpose
//     flagged sale_or_sharing;
//   - limit use of sensitive data (CCPA): "withdrawn" for every purpose
//     that needs explicit consent (the special categories').
//
// Other types write no decision.
func LedgerDecisions(inv *inventory.Inventory, t Type) map[string]string {
	d := map[string]string{}
	if t == Restriction {
		d[allPurposes] = decisionRestricted
		return d
	}
	for _, p := range inv.Purposes {
		switch {
		case t == Objection && p.LegalBasis == inventory.LegitimateInterests:
			d[p.Key] = decisionObjected
		case t == OptOutSaleSharing && p.SaleOrSharing:
			d[p.Key] = decisionOptedOut
		case t == LimitSensitive && p.ExplicitConsent:
			d[p.Key] = decisionWithdrawn
		}
	}
	return d
}
