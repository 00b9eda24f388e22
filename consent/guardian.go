package consent

// The guardian flow for minors.
//
// A person under the age of digital consent of their jurisdiction — GDPR
// Art. 8 as each member state sets it, COPPA under 13 in the United States,
// the CCPA's opt-in under 16 for sale or sharing in California — cannot give
// a consent alone (Ledger.NeedsGuardian), and Ledger.Decide refuses it.
// Guardians runs the flow that replaces it:
//
//  1. Request takes the minor's decisions as received. What a minor may do
//     alone — refuse, withdraw, object, opt out — is recorded at once. The
//     consents they asked to give are kept in a pending guardian request,
//     and the guardian is sent, through the Notifier, a signed link (JWS,
//     typ GuardianLinkType) that expires after the inventory's
//     consent.guardian_link_ttl.
//  2. Decide takes the guardian's answer through that link: each purpose
//     asked for is given (approved) or refused, recorded in the ledger with
//     source "guardian", the request's id as the record's Guardian, and the
//     minor's age with method "guardian"; the request is closed in the same
//     transaction, so that a link answers once.
//
// Until the guardian answers, every consent-based purpose stays denied:
// nothing is given, and the gate denies a consent it has not seen.
// Targeted advertising is never allowed for a known minor: a request that
// asks for it is refused whole.
//
// France, joint consent under 15 (loi Informatique et Libertés art. 45):
// the child and a holder of parental authority consent together. The
// child's consent is the request itself — the guardian is only ever asked
// about the purposes the child asked to consent to, and can approve no
// more — so a purpose the guardian approves is consented to by both, and
// the guardian's record (which names the request, which holds the child's
// decisions) proves it.
//
// Privacy: the guardian's e-mail address is used to send the message and is
// never stored. The request keeps a salted hash of it, as proof of whom was
// asked; the ledger holds the request's id only. The link carries the
// request id, its expiry and the purpose keys — no identifier of the child.

import (
	"context"
	"crypto/ed25519"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/jws"
)

// Status of a guardian request.
const (
	GuardianPending = "pending" // waiting for the guardian
	GuardianGiven   = "given"   // the guardian approved at least one purpose
	GuardianRefused = "refused" // the guardian approved none
	GuardianExpired = "expired" // closed unanswered (the message could not be sent)
)

// MaxPendingGuardian bounds the pending requests of one person: a write key
// is public, so the flow must not be a way to mail anyone at will.
const MaxPendingGuardian = 3

// GuardianCollector is the collector of a guardian's decisions: Garde's own
// guardian page (the request names the collector of the child's request).
const GuardianCollector = "guardian-link"

// GuardianAsk is what a minor asked for, as kept in a guardian request:
// the consents to give and the context of the request. It holds no
// identifier and no IP address or user agent in clear.
type GuardianAsk struct {
	Decisions map[string]Decision `json:"decisions"` // all Given
	Explicit  bool                `json:"explicit,omitempty"`
	Source    string              `json:"source"`
	Notice    Notice              `json:"notice"`
	Country   string              `json:"country,omitempty"`
	Region    string              `json:"region,omitempty"`
	Age       Age                 `json:"age"`
	Signals   Signals             `json:"signals"`
	Collector string              `json:"collector"`
	IPHash    string              `json:"ipHash,omitempty"`
	UAHash    string              `json:"uaHash,omitempty"`
}

// Purposes returns the purposes asked for, sorted.
func (a *GuardianAsk) Purposes() []string {
	keys := make([]string, 0, len(a.Decisions))
	for k := range a.Decisions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// GuardianDecision is a guardian's answer, kept with the request.
type GuardianDecision struct {
	Approved    []string `json:"approved"`
	Refused     []string `json:"refused"`
	GuardianAge Age      `json:"guardianAge"`
	ReceiptID   string   `json:"receiptId"`
}

// GuardianRequest is one request for a guardian's consent.
type GuardianRequest struct {
	ID      string
	Subject garde.SubjectID
	Ask     GuardianAsk
	// GuardianHash is the salted hash of the guardian's e-mail address
	// (never the address): proof of whom was asked.
	GuardianHash string
	Lang         string // "fr" or "en": the language the guardian was written to in
	Status       string
	Created      time.Time
	Expires      time.Time
	Decided      time.Time         // zero while pending
	Decision     *GuardianDecision // nil while pending
}

// GuardianStore keeps guardian requests. Writes run inside the collection
// writer's transactions (tx), so that they are ordered with the ledger.
type GuardianStore interface {
	// CreateGuardianRequest stores r.
	CreateGuardianRequest(ctx context.Context, tx collect.Tx, r *GuardianRequest) error
	// CountPendingGuardianRequests counts s's pending requests that have
	// not expired at now.
	CountPendingGuardianRequests(ctx context.Context, tx collect.Tx, s garde.SubjectID, now time.Time) (int, error)
	// FindGuardianRequest returns the request id (ENotFound when none).
	FindGuardianRequest(ctx context.Context, id string) (*GuardianRequest, error)
	// MarkGuardianRequest closes the request id with status, if and only
	// if it is still pending, and reports whether it did: a replayed link
	// cannot win twice.
	MarkGuardianRequest(ctx context.Context, tx collect.Tx, id, status string, at time.Time, d *GuardianDecision) (bool, error)
}

// LinkSigner signs guardian links and finds their keys: a *vault.Signer for
// vault.UseLinks.
type LinkSigner interface {
	jws.Signer
	PublicKey(kid string) (ed25519.PublicKey, bool)
}

// Guardians runs the guardian flow (see the comment at the top of this
// file). It is safe for concurrent use.
type Guardians struct {
	Ledger   *Ledger
	Store    GuardianStore
	Links    LinkSigner
	Notifier Notifier
	Clock    garde.Clock
	// BaseURL is Garde's public address; links are
	// BaseURL + "/consent/guardian/" + token.
	BaseURL string
	// API is the consent API handler: POST /v1/consent/guardian
	// authenticates and reads calls exactly as POST /v1/consent does.
	API *Handler
}

var (
	errLinkUsed    = garde.Errorf(garde.EConflict, "this guardian link was already used: the answer is recorded")
	errLinkExpired = garde.Errorf(garde.EInvalid, "link expired")
)

// Request starts the guardian flow for req, a minor's decisions as
// received (the call Ledger.Decide refused with ENoConsent), writing to the
// guardian at guardianEmail in lang ("fr" or "en"). It records at once what
// the minor may decide alone, stores the consents asked for as a pending
// request, sends the guardian the link, and returns the request's id.
//
// It refuses (and records nothing) a request that needs no guardian
// (EInvalid), one that gives a consent to targeted advertising
// (EForbidden), in the United States under COPPAAge one that gives a
// consent to sale or sharing (EForbidden: COPPA asks more than an e-mail
// for disclosures to third parties), a malformed address (EInvalid), and a
// person with MaxPendingGuardian requests pending (EConflict).
func (g *Guardians) Request(ctx context.Context, req *Request, guardianEmail string, lang string) (string, error) {
	gr, err := g.request(ctx, req, guardianEmail, lang)
	if err != nil {
		return "", err
	}
	return gr.ID, nil
}

func (g *Guardians) request(ctx context.Context, req *Request, guardianEmail string, lang string) (*GuardianRequest, error) {
	l := g.Ledger
	if g.BaseURL == "" {
		return nil, garde.Errorf(garde.EUnavailable, "the guardian flow has no public address to link to")
	}
	if err := l.Check(req); err != nil {
		return nil, err
	}
	if req.Source == SourceGuardian || req.Source == SourceSystem {
		return nil, garde.Errorf(garde.EForbidden, "a guardian request cannot have source %s", req.Source)
	}
	if !l.NeedsGuardian(req) {
		return nil, garde.Errorf(garde.EInvalid, "this person may decide alone: no guardian is needed (send the decisions to POST /v1/consent)")
	}
	asked, alone := map[string]Decision{}, map[string]Decision{}
	for key, d := range req.Decisions {
		if d != Given {
			alone[key] = d
			continue
		}
		p := l.Inventory.Purpose(key)
		if p.TargetedAdvertising {
			return nil, garde.Errorf(garde.EForbidden, "purpose %s targets advertising: it is never allowed for a minor", key)
		}
		if l.coppaChild(req) && p.SaleOrSharing {
			return nil, garde.Errorf(garde.EForbidden, "purpose %s discloses data to third parties: for a child under %d, COPPA asks a verifiable parental consent stronger than an e-mail link", key, l.Inventory.Consent.COPPAAge)
		}
		asked[key] = Given
	}
	addr, err := guardianAddress(guardianEmail)
	if err != nil {
		return nil, err
	}
	now := g.Clock.Now().UTC()
	gr := &GuardianRequest{
		ID: "gr_" + garde.RandomID(), GuardianHash: l.hash("guardian-email", addr), Lang: Lang(lang, req.Notice.Language),
		Status: GuardianPending, Created: now, Expires: l.Inventory.Consent.GuardianLinkTTL.AddTo(now),
		Ask: GuardianAsk{
			Decisions: asked, Explicit: req.Explicit, Source: req.Source, Notice: req.Notice,
			Country: strings.ToUpper(req.Country), Region: strings.ToUpper(req.Region), Age: req.Age, Signals: req.Signals,
			Collector: req.Collector, IPHash: l.hash("ip", req.IP), UAHash: l.hash("ua", req.UserAgent),
		},
	}
	token, err := SignGuardianLink(g.Links, GuardianLink{Request: gr.ID, Expires: gr.Expires.Unix(), Purposes: gr.Ask.Purposes()})
	if err != nil {
		return nil, garde.Wrap(garde.EInternal, err, "could not sign the guardian link")
	}
	msg := g.mail(gr, addr, g.linkURL(token))

	own := *req
	own.Decisions = alone
	_, err = l.decideWithin(ctx, &own, func(ctx context.Context, tx collect.Tx, s garde.SubjectID, _ []Record) (error, error) {
		n, err := g.Store.CountPendingGuardianRequests(ctx, tx, s, now)
		if err != nil {
			return nil, err
		}
		if n >= MaxPendingGuardian {
			return garde.Errorf(garde.EConflict, "this person already has %d guardian requests waiting: wait for an answer or for them to expire", n), nil
		}
		gr.Subject = s
		return nil, g.Store.CreateGuardianRequest(ctx, tx, gr)
	})
	if err != nil {
		return nil, err
	}
	if err := g.Notifier.Notify(ctx, msg); err != nil {
		// nobody can answer it: close it, so that it does not count as pending
		g.close(context.WithoutCancel(ctx), gr.ID, now)
		return nil, garde.Wrap(garde.EUnavailable, err, "could not send the message to the guardian; retry later")
	}
	return gr, nil
}

// close marks an unanswerable request expired (best effort).
func (g *Guardians) close(ctx context.Context, id string, now time.Time) {
	g.Ledger.Writer.Do(ctx, func(ctx context.Context, tx collect.Tx, _ collect.Resolve) (func(), error) {
		_, err := g.Store.MarkGuardianRequest(ctx, tx, id, GuardianExpired, now, nil)
		return nil, err
	})
}

// coppaChild reports whether req is from a child under COPPA's age in the
// United States (an unknown age counts as under).
func (l *Ledger) coppaChild(req *Request) bool {
	return strings.EqualFold(req.Country, "US") && req.Age.Status == "minor" &&
		(req.Age.Years == 0 || req.Age.Years < l.Inventory.Consent.COPPAAge)
}

// guardianAddress checks an e-mail address and returns it normalised (the
// form whose hash is kept). A display name is not accepted.
func guardianAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if s == "" || len(s) > 254 || err != nil || a.Name != "" || a.Address != s || !strings.Contains(a.Address[strings.LastIndexByte(a.Address, '@')+1:], ".") {
		return "", garde.Errorf(garde.EInvalid, "guardianEmail: want the guardian's e-mail address, such as parent@example.org")
	}
	return strings.ToLower(a.Address), nil
}

// Lang returns "fr" or "en" for a language tag, else for fallback, else "en".
func Lang(tag, fallback string) string {
	for _, t := range []string{tag, fallback} {
		t = strings.ToLower(strings.TrimSpace(t))
		switch {
		case t == "fr" || strings.HasPrefix(t, "fr-") || strings.HasPrefix(t, "fr_"):
			return "fr"
		case t == "en" || strings.HasPrefix(t, "en-") || strings.HasPrefix(t, "en_"):
			return "en"
		}
	}
	return "en"
}

func (g *Guardians) linkURL(token string) string {
	return strings.TrimRight(g.BaseURL, "/") + "/consent/guardian/" + token
}

// Decide records a guardian's answer to the request a link names: each
// purpose asked for is given when approve says so and refused otherwise.
// The records are explicit (GDPR Art. 9(2)(a)): the guardian answers purpose
// by purpose, each named and described, with an express confirmation.
// guardianAge is the guardian's own age assertion: approving anything takes
// an adult. It fails with EInvalid for a link that does not verify or has
// expired, with EConflict for a request already answered — recording
// nothing in either case.
func (g *Guardians) Decide(ctx context.Context, token string, approve map[string]bool, guardianAge Age) (*Result, error) {
	return g.decide(ctx, token, approve, guardianAge, "", "")
}

// decide is Decide with the guardian's IP address and user agent, whose
// salted hashes the records keep.
func (g *Guardians) decide(ctx context.Context, token string, approve map[string]bool, guardianAge Age, ip, ua string) (*Result, error) {
	gr, err := g.Open(ctx, token)
	if err != nil {
		return nil, err
	}
	ask := &gr.Ask
	approved := false
	for k, ok := range approve {
		if _, asked := ask.Decisions[k]; !asked {
			return nil, garde.Errorf(garde.EInvalid, "purpose %q was not asked for", garde.Truncate(k, 40))
		}
		approved = approved || ok
	}
	switch guardianAge.Status {
	case "adult", "minor", "unknown", "":
	default:
		return nil, garde.Errorf(garde.EInvalid, "guardian age status %q: want adult, minor or unknown", garde.Truncate(guardianAge.Status, 20))
	}
	if approved && guardianAge.Status != "adult" {
		return nil, garde.Errorf(garde.EForbidden, "only an adult parent or guardian can consent for a minor")
	}
	l := g.Ledger
	req := &Request{
		IDs: []collect.Identity{{Kind: subjectKind, Hash: []byte(gr.Subject)}}, Decisions: map[string]Decision{},
		Explicit: true, Source: SourceGuardian, Notice: ask.Notice, Country: ask.Country, Region: ask.Region,
		Age: Age{Status: "minor", Years: ask.Age.Years, Method: "guardian"}, Guardian: gr.ID, Signals: ask.Signals,
		Collector: GuardianCollector, IP: ip, UserAgent: ua,
	}
	d := &GuardianDecision{GuardianAge: guardianAge, Approved: []string{}, Refused: []string{}}
	for _, k := range ask.Purposes() {
		if approve[k] {
			if p := l.Inventory.Purpose(k); p != nil && p.TargetedAdvertising {
				// refused when asked; the inventory may have changed since
				return nil, garde.Errorf(garde.EForbidden, "purpose %s targets advertising: it is never allowed for a minor", k)
			}
			req.Decisions[k] = Given
			d.Approved = append(d.Approved, k)
		} else {
			req.Decisions[k] = Refused
			d.Refused = append(d.Refused, k)
		}
	}
	if err := l.Check(req); err != nil {
		return nil, err
	}
	status := GuardianRefused
	if approved {
		status = GuardianGiven
	}
	now := g.Clock.Now().UTC()
	return l.decideWithin(ctx, req, func(ctx context.Context, tx collect.Tx, _ garde.SubjectID, recs []Record) (error, error) {
		d.ReceiptID = recs[0].ReceiptID
		ok, err := g.Store.MarkGuardianRequest(ctx, tx, gr.ID, status, now, d)
		if err != nil {
			return nil, err
		}
		if !ok {
			return errLinkUsed, nil
		}
		return nil, nil
	})
}

// Open verifies a guardian link and returns the pending request it names:
// EInvalid when the link does not verify, has expired or does not match
// its request, ENotFound when the request is gone, EConflict when it was
// already answered.
func (g *Guardians) Open(ctx context.Context, token string) (*GuardianRequest, error) {
	now := g.Clock.Now()
	link, err := ParseGuardianLink(token, jws.KeyFunc(g.Links.PublicKey), now)
	if err != nil {
		return nil, err
	}
	gr, err := g.Store.FindGuardianRequest(ctx, link.Request)
	if err != nil {
		return nil, err
	}
	switch {
	case gr.Status == GuardianExpired || !now.Before(gr.Expires):
		return nil, errLinkExpired
	case gr.Status != GuardianPending:
		return nil, errLinkUsed
	case !slices.Equal(link.Purposes, gr.Ask.Purposes()):
		return nil, garde.Errorf(garde.EInvalid, "the link does not match its request")
	}
	return gr, nil
}

// decideWithin records req's decisions (there may be none) in one writer
// job, after check has run in the same transaction for the resolved
// subject with the records about to be appended. A veto from check aborts
// the job — nothing it would write is written — without failing the group
// commit, and is returned; an err from check fails the group (storage
// errors only). It is Decide without Decide's rules, which the callers
// apply; Decide is its rules and decideWithin(ctx, req, nil).
func (l *Ledger) decideWithin(ctx context.Context, req *Request, check func(ctx context.Context, tx collect.Tx, s garde.SubjectID, recs []Record) (veto, err error)) (*Result, error) {
	now := l.Clock.Now().UTC()
	recs := l.records(req, now)
	var known garde.SubjectID
	if !req.Create || (len(req.IDs) > 0 && req.IDs[0].Kind == subjectKind) {
		s, err := l.Canonical(ctx, req.IDs, true)
		if err != nil {
			return nil, err
		}
		known = s
	}
	res := &Result{}
	var veto error
	err := l.Writer.Do(ctx, func(ctx context.Context, tx collect.Tx, resolve collect.Resolve) (func(), error) {
		s := known
		if s == "" {
			var err error
			if s, err = resolve(ctx, req.IDs, now, req.Create); err != nil {
				return nil, err
			}
		}
		if s == "" {
			veto = garde.Errorf(garde.ENotFound, "no such person")
			return nil, nil
		}
		for i := range recs {
			recs[i].Subject = s
		}
		if check != nil {
			v, err := check(ctx, tx, s, recs)
			if err != nil || v != nil {
				veto = v
				return nil, err
			}
		}
		if len(recs) > 0 {
			if err := l.append(ctx, l.TxOf(tx), recs); err != nil {
				return nil, err
			}
			if l.Audit != nil {
				purposes := make([]string, len(recs))
				for i := range recs {
					purposes[i] = recs[i].Purpose
				}
				if err := l.Audit(ctx, tx, req.Collector, s, purposes); err != nil {
					return nil, err
				}
			}
		}
		res.Subject, res.Records = s, recs
		return func() {
			for i := range recs {
				l.Index.Apply(&recs[i])
			}
		}, nil
	})
	if err == nil {
		err = veto
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}
