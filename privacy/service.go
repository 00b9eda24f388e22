package privacy

import (
	"context"
	"maps"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
)

// Codes sends and checks one-time codes (*verify.Codes).
type Codes interface {
	Start(ctx context.Context, requestID, address string, identity []byte, lang, ip string) error
	Check(ctx context.Context, requestID, code, ip string) (identity []byte, err error)
}

// SiteTokens verifies a token from the brand's site (*verify.Tokens) and
// returns the brand's userId for the person.
type SiteTokens interface {
	VerifiedUser(ctx context.Context, token string) (userID string, err error)
}

// Subjects finds the person an address belongs to (store.Profiles).
type Subjects interface {
	FindSubjectByIdentity(ctx context.Context, kind string, hash []byte) (garde.SubjectID, error)
}

// Service is the privacy centre's Backend over Garde's services: requests
// and their legal clocks, one-time codes, the durable jobs that answer
// requests, the consent ledger, and the one-time download links.
type Service struct {
	Inventory *inventory.Inventory
	Requests  *rights.Service
	Fulfil    *rights.Fulfiller
	Codes     Codes
	// Tokens verifies tokens from the brand's own site (nil: none
	// accepted).
	Tokens   SiteTokens
	Index    collect.Indexer
	Subjects Subjects
	// Enqueue queues the durable job that answers a verified request.
	Enqueue func(ctx context.Context, args rights.JobArgs) error
	Ledger  *consent.Ledger
	Consent *consent.Index
	Notices *consent.Notices
	// Profiles reads the person's traits (no consent gate: the person sees
	// everything held about them).
	Profiles *profile.Reader
	// SetTrait overwrites one trait (collect.Writer.SetTrait); Rectified,
	// if set, runs after (audit, write-ahead-log checkpoint).
	SetTrait  func(ctx context.Context, s garde.SubjectID, t collect.Trait) error
	Rectified func(ctx context.Context, s garde.SubjectID, field, category string) error
	// Take serves a one-time download (bundle.Downloads.Take).
	Download func(ctx context.Context, token string) (zip []byte, requestID string, err error)
	Clock    garde.Clock

	mu sync.Mutex
	// verified consent sessions (KindConsents, which is not a request):
	// id → the person and until when; lost on restart (the person
	// verifies again)
	sessions map[string]session
}

type session struct {
	subject garde.SubjectID
	until   time.Time
}

// Actor names the privacy centre in records.
const Actor = "privacy-centre"

// sessionTTL bounds a consents session, like the pages' cookie.
const sessionTTL = 30 * time.Minute

var _ Backend = (*Service)(nil)

// Ask implements Backend.
func (s *Service) Ask(ctx context.Context, a Ask) (string, error) {
	addr, err := parseAddress(a.Email)
	if err != nil {
		return "", err
	}
	lang := language(a.Lang)
	var id string
	switch t := rights.Type(a.Kind); {
	case a.Kind == KindConsents:
		id = "v_" + garde.RandomID()
	case t.Valid():
		r, err := s.Requests.Create(ctx, rights.Draft{Type: t, Jurisdiction: rights.Jurisdiction(strings.ToUpper(a.Jurisdiction))})
		if err != nil {
			return "", err
		}
		id = r.ID
		// the language the answer (the copy's summary) is written in
		if err := s.Fulfil.SaveOutcome(ctx, id, rights.Outcome{Lang: lang}); err != nil {
			return "", err
		}
	default:
		return "", garde.Errorf(garde.EInvalid, "unknown request type %q", garde.Truncate(a.Kind, 40))
	}
	identity := s.Index.BlindIndex(collect.IdentityEmail, collect.Normalise(collect.IdentityEmail, addr, s.Inventory.Organisation.Country))
	if err := s.Codes.Start(ctx, id, addr, identity, lang, a.IP); err != nil {
		return "", err
	}
	return id, nil
}

// AskSigned implements Backend.
func (s *Service) AskSigned(ctx context.Context, a Ask, token string) (string, error) {
	if s.Tokens == nil {
		return "", garde.Errorf(garde.EUnavailable, "this privacy centre takes no signed links from the brand's site")
	}
	if a.Kind != KindConsents && !rights.Type(a.Kind).Valid() {
		return "", garde.Errorf(garde.EInvalid, "unknown request type %q", garde.Truncate(a.Kind, 40))
	}
	user, err := s.Tokens.VerifiedUser(ctx, token)
	if err != nil {
		return "", err
	}
	subject, err := s.Subjects.FindSubjectByIdentity(ctx, collect.IdentityUser, s.Index.BlindIndex(collect.IdentityUser, user))
	if garde.ErrorCode(err) == garde.ENotFound {
		subject, err = "", nil
	}
	if err != nil {
		return "", err
	}
	if a.Kind == KindConsents {
		id := "v_" + garde.RandomID()
		s.remember(id, subject)
		return id, nil
	}
	r, err := s.Requests.Create(ctx, rights.Draft{Type: rights.Type(a.Kind), Jurisdiction: rights.Jurisdiction(strings.ToUpper(a.Jurisdiction))})
	if err != nil {
		return "", err
	}
	if err := s.Fulfil.SaveOutcome(ctx, r.ID, rights.Outcome{Lang: language(a.Lang)}); err != nil {
		return "", err
	}
	if _, err := s.Requests.Verify(ctx, r.ID, subject); err != nil {
		return "", err
	}
	return r.ID, s.Enqueue(ctx, rights.JobArgs{Request: r.ID, Actor: Actor})
}

// parseAddress accepts one bare address.
func parseAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || len(s) > 254 || a.Address != s {
		return "", garde.Errorf(garde.EInvalid, "this is not an email address")
	}
	return a.Address, nil
}

func language(l string) string {
	if l == "fr" {
		return "fr"
	}
	return "en"
}

// Confirm implements Backend: the code proves the address; the person is
// whoever Garde knows under it (perhaps no one), and the request goes to
// the durable jobs that answer it.
func (s *Service) Confirm(ctx context.Context, id, code, ip string) error {
	identity, err := s.Codes.Check(ctx, id, code, ip)
	if err != nil {
		return err
	}
	subject, err := s.Subjects.FindSubjectByIdentity(ctx, collect.IdentityEmail, identity)
	if garde.ErrorCode(err) == garde.ENotFound {
		subject, err = "", nil
	}
	if err != nil {
		return err
	}
	if strings.HasPrefix(id, "v_") {
		s.remember(id, subject)
		return nil
	}
	if _, err := s.Requests.Verify(ctx, id, subject); err != nil {
		return err
	}
	return s.Enqueue(ctx, rights.JobArgs{Request: id, Actor: Actor})
}

// remember keeps a verified consents session.
func (s *Service) remember(id string, subject garde.SubjectID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == nil {
		s.sessions = map[string]session{}
	}
	now := s.Clock.Now()
	for k, v := range s.sessions {
		if now.After(v.until) {
			delete(s.sessions, k)
		}
	}
	s.sessions[id] = session{subject: subject, until: now.Add(sessionTTL)}
}

// subject returns the verified person of a request or consents session
// ("" when the address names no one); EForbidden if not verified.
func (s *Service) subject(ctx context.Context, id string) (garde.SubjectID, error) {
	if strings.HasPrefix(id, "v_") {
		s.mu.Lock()
		defer s.mu.Unlock()
		v, ok := s.sessions[id]
		if !ok || s.Clock.Now().After(v.until) {
			return "", garde.Errorf(garde.EForbidden, "verify your address again")
		}
		return v.subject, nil
	}
	r, err := s.Requests.Find(ctx, id)
	if err != nil {
		return "", err
	}
	if r.State == rights.StateReceived {
		return "", garde.Errorf(garde.EForbidden, "the address is not verified yet")
	}
	return r.Subject, nil
}

// Status implements Backend.
func (s *Service) Status(ctx context.Context, id string) (Status, error) {
	if strings.HasPrefix(id, "v_") {
		subject, err := s.subject(ctx, id)
		return Status{ID: id, Kind: KindConsents, State: string(rights.StateVerified), Known: subject != ""}, err
	}
	r, err := s.Requests.Find(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{ID: r.ID, Kind: string(r.Type), State: string(r.State), Received: r.Received, DueBy: r.Deadline(),
		Reason: r.RefusalReason}
	if r.State == rights.StateExtended {
		st.Reason = r.ExtensionReason
	}
	if r.State == rights.StateReceived {
		return st, nil
	}
	out, err := s.Fulfil.FindOutcome(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st.Known = r.Subject != ""
	st.Download, st.DownloadExpires, st.Certificate = out.Download, out.DownloadExpires, out.Certificate
	if out.Taken || (!out.DownloadExpires.IsZero() && s.Clock.Now().After(out.DownloadExpires)) {
		st.Download = ""
	}
	return st, nil
}

// Consents implements Backend: every purpose based on consent.
func (s *Service) Consents(ctx context.Context, id string) ([]Consent, error) {
	subject, err := s.subject(ctx, id)
	if err != nil || subject == "" {
		return nil, err
	}
	lang := s.lang(ctx, id)
	state := s.Consent.State(subject, s.Clock.Now())
	var out []Consent
	for _, ps := range state.Purposes {
		p := s.Inventory.Purpose(ps.Purpose)
		if p == nil || p.LegalBasis != inventory.Consent {
			continue
		}
		c := Consent{Purpose: p.Key, Description: text(p.Description, lang), LegalBasis: string(p.LegalBasis), Given: ps.Allowed}
		if ps.Allowed {
			c.Expires = ps.Expires
		}
		out = append(out, c)
	}
	return out, nil
}

// Decide implements Backend: a ledger record whose source is the centre's
// form, with the notice the centre shows (the current one).
func (s *Service) Decide(ctx context.Context, id string, d Decision) error {
	subject, err := s.subject(ctx, id)
	if err != nil {
		return err
	}
	if subject == "" {
		return garde.Errorf(garde.ENotFound, "Garde holds no consent for this address")
	}
	p := s.Inventory.Purpose(d.Purpose)
	if p == nil || p.LegalBasis != inventory.Consent {
		return garde.Errorf(garde.EInvalid, "no purpose %q asks for consent", garde.Truncate(d.Purpose, 40))
	}
	decision := consent.Withdrawn
	if d.Give {
		decision = consent.Given
	}
	req := &consent.Request{
		IDs: []collect.Identity{consent.SubjectIdentity(subject)}, Decisions: map[string]consent.Decision{p.Key: decision},
		Explicit: true, Source: consent.SourceForm, Notice: consent.Notice{Language: language(d.Lang)},
		Collector: Actor, IP: d.IP, UserAgent: d.UserAgent,
	}
	if err := s.Notices.Fill(ctx, &req.Notice); err != nil {
		return err
	}
	_, err = s.Ledger.Decide(ctx, req)
	return err
}

// Fields implements Backend: the declared traits held, in clear.
func (s *Service) Fields(ctx context.Context, id string) ([]Field, error) {
	subject, err := s.subject(ctx, id)
	if err != nil || subject == "" {
		return nil, err
	}
	p, err := s.Profiles.Read(ctx, subject, 1)
	if garde.ErrorCode(err) == garde.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Field
	for _, name := range slices.Sorted(maps.Keys(s.Inventory.Plan.Traits)) {
		f := s.Inventory.Plan.Traits[name]
		field := Field{Name: name}
		if f.Category != nil {
			field.Category = f.Category.Key
		}
		if v, ok := p.Traits[name]; ok {
			field.Value = display(v)
		}
		out = append(out, field)
	}
	return out, nil
}

func display(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Rectify implements Backend: the trait is overwritten (its old value
// erased: secure delete and a checkpoint of the write-ahead log), and a
// rectification request is completed.
func (s *Service) Rectify(ctx context.Context, id, name, value string) error {
	subject, err := s.subject(ctx, id)
	if err != nil {
		return err
	}
	if _, err := TraitOf(s.Inventory, name, value); err != nil {
		return err
	}
	if subject == "" {
		return garde.Errorf(garde.ENotFound, "Garde holds nothing to correct for this address")
	}
	if err := s.RectifySubject(ctx, subject, name, value); err != nil {
		return err
	}
	if r, err := s.Requests.Find(ctx, id); err == nil && r.Type == rights.Rectification && r.State.Open() {
		if r.State != rights.StateInProgress {
			if _, err := s.Requests.Start(ctx, id); err != nil {
				return err
			}
		}
		if _, err := s.Requests.Complete(ctx, id); err != nil && garde.ErrorCode(err) != garde.EConflict {
			return err
		}
	}
	return nil
}

// RectifySubject overwrites one declared trait of subject (for the person
// here, and for an operator through the request API).
func (s *Service) RectifySubject(ctx context.Context, subject garde.SubjectID, name, value string) error {
	t, err := TraitOf(s.Inventory, name, value)
	if err != nil {
		return err
	}
	if kind := t.Name; kind == collect.IdentityEmail || kind == collect.IdentityPhone {
		// an identifier: its new blind index replaces the old value's,
		// which must find the person no more
		n := collect.Normalise(kind, value, s.Inventory.Organisation.Country)
		if n == "" {
			return garde.Errorf(garde.EInvalid, "the new %s is not valid", kind)
		}
		if s.Index != nil {
			t.Identity = &collect.Identity{Kind: kind, Hash: s.Index.BlindIndex(kind, n)}
		}
	}
	if err := s.SetTrait(ctx, subject, t); err != nil {
		return err
	}
	if s.Rectified != nil {
		return s.Rectified(ctx, subject, t.Name, t.Category)
	}
	return nil
}

// TraitOf builds the trait that sets a declared field to value (typed by
// the tracking plan). An undeclared field or a value of the wrong type is
// an EInvalid.
func TraitOf(inv *inventory.Inventory, name, value string) (collect.Trait, error) {
	f := inv.Plan.Traits[name]
	if f == nil {
		return collect.Trait{}, garde.Errorf(garde.EInvalid, "%q is not a field Garde keeps", garde.Truncate(name, 40))
	}
	if len(value) > 1000 {
		return collect.Trait{}, garde.Errorf(garde.EInvalid, "the value of %s is too long", name)
	}
	var v any = value
	var err error
	switch f.Type {
	case inventory.TypeString, inventory.TypeAny:
	case inventory.TypeBoolean:
		v, err = strconv.ParseBool(strings.TrimSpace(value))
	default: // numbers, objects, arrays: written as JSON
		err = json.Unmarshal([]byte(value), &v)
	}
	var raw []byte
	if err == nil && f.Type.Accepts(v) {
		raw, err = json.Marshal(v)
	}
	if raw == nil || err != nil {
		return collect.Trait{}, garde.Errorf(garde.EInvalid, "%s takes a %s", name, f.Type)
	}
	t := collect.Trait{Name: name, Set: f.Purposes, Purposes: strings.Join(inv.PurposeKeys(f.Purposes), ","),
		Personal: f.Personal(), JSON: raw}
	if f.Category != nil {
		t.Category = f.Category.Key
	}
	return t, nil
}

// Take implements Backend.
func (s *Service) Take(ctx context.Context, token string) ([]byte, error) {
	zip, id, err := s.Download(ctx, token)
	if err != nil {
		return nil, err
	}
	if out, err := s.Fulfil.FindOutcome(ctx, id); err == nil && out.Download != "" {
		out.Taken = true
		_ = s.Fulfil.SaveOutcome(ctx, id, out)
	}
	return zip, nil
}

// lang is the language a request was made in.
func (s *Service) lang(ctx context.Context, id string) string {
	if out, err := s.Fulfil.FindOutcome(ctx, id); err == nil && out.Lang != "" {
		return out.Lang
	}
	return "en"
}

func text(t inventory.Text, lang string) string {
	if lang == "fr" && t.FR != "" {
		return t.FR
	}
	return t.EN
}
