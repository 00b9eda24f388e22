package server

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
)

// PurposeHeader names the purpose of a read for API keys (the query
// parameter `purpose` works too).
const PurposeHeader = "X-Garde-Purpose"

// scope is what one purpose-bound read may return: the purposes named
// (each granted by the caller's role and key), and the data categories
// those purposes use.
type scope struct {
	actor      string // "apikey:…", or an operator's id
	role       *inventory.Role
	purposes   inventory.PurposeSet
	categories map[string]bool
}

// readScope checks the purposes a read names against the caller's role and
// key. Every refusal is a 403 whose message names the rule.
func (s *Server) readScope(r *http.Request) (*scope, error) {
	k, _ := r.Context().Value(operatorKey{}).(*access.APIKey)
	if k == nil {
		return nil, garde.Errorf(garde.EUnauthorized, "an API key is required")
	}
	named := r.URL.Query().Get("purpose")
	if named == "" {
		named = r.Header.Get(PurposeHeader)
	}
	return s.scopeFor("apikey:"+k.ID, k.Role, named, func(p *inventory.Purpose) error {
		if !k.AllowsPurpose(p.Key) {
			return garde.Errorf(garde.EForbidden, "this API key is limited to other purposes than %s", p.Key)
		}
		return nil
	})
}

// scopeFor checks the purposes named (comma-separated) against roleKey and
// then against allows, if set (an API key's own purposes).
func (s *Server) scopeFor(actor, roleKey, named string, allows func(*inventory.Purpose) error) (*scope, error) {
	if named == "" {
		return nil, garde.Errorf(garde.EForbidden, "a read of personal data must name its purpose (?purpose=… or %s)", PurposeHeader)
	}
	role := s.Inventory.Role(roleKey)
	if role == nil {
		return nil, garde.Errorf(garde.EForbidden, "the role %q is not declared in the inventory", roleKey)
	}
	sc := &scope{actor: actor, role: role}
	for key := range strings.SplitSeq(named, ",") {
		p := s.Inventory.Purpose(strings.TrimSpace(key))
		if p == nil {
			return nil, garde.Errorf(garde.EForbidden, "unknown purpose %q", garde.Truncate(key, 40))
		}
		if !role.Purposes.Has(p.Index) {
			return nil, garde.Errorf(garde.EForbidden, "role %s may not read personal data for purpose %s", role.Key, p.Key)
		}
		if allows != nil {
			if err := allows(p); err != nil {
				return nil, err
			}
		}
		sc.purposes = sc.purposes.With(p.Index)
	}
	sc.categories = map[string]bool{}
	for _, c := range s.Inventory.CategoriesOf(sc.purposes) {
		sc.categories[c] = true
	}
	return sc, nil
}

// apply applies a read's policy to one profile read back: of the purposes
// the read names, those the person's consent (or another ground) allows
// now — none: false, the profile must not be returned — and, for them,
// narrow. The categories reached are added to used.
func (s *Server) apply(sc *scope, p *profile.Profile, used map[string]bool) bool {
	allowed := s.allowed(sc, p.ID)
	if allowed.Empty() {
		return false
	}
	s.narrow(p, allowed, sc.categories, used)
	return true
}

// allowed returns, of the purposes a read names, those the person's
// consent (or another ground) allows now.
func (s *Server) allowed(sc *scope, id garde.SubjectID) inventory.PurposeSet {
	if s.Gate == nil {
		return sc.purposes
	}
	return s.Gate(id, sc.purposes)
}

// narrow keeps, of a profile read back, only what the allowed purposes
// may use: events stored for one of them, and of those events and of the
// traits only the fields declared for one of them in a category they use.
// The categories of the fields kept are added to used.
func (s *Server) narrow(p *profile.Profile, allowed inventory.PurposeSet, categories map[string]bool, used map[string]bool) {
	inv := s.Inventory
	keep := func(f *inventory.Field) bool {
		return f != nil && f.Purposes&allowed != 0 && f.Category != nil && categories[f.Category.Key]
	}
	for name := range p.Traits {
		if f := inv.Plan.Traits[name]; keep(f) {
			used[f.Category.Key] = true
		} else {
			delete(p.Traits, name)
		}
	}
	events := p.Events[:0]
	for _, e := range p.Events {
		var ep inventory.PurposeSet
		for k := range strings.SplitSeq(e.Purposes, ",") {
			if pp := inv.Purpose(k); pp != nil {
				ep = ep.With(pp.Index)
			}
		}
		if ep&allowed == 0 {
			continue
		}
		e.Purposes = strings.Join(inv.PurposeKeys(ep&allowed), ",")
		var props map[string]*inventory.Field
		switch {
		case e.Type == "track" && inv.Plan.Events[e.Name] != nil:
			props = inv.Plan.Events[e.Name].Properties
		case (e.Type == "page" || e.Type == "screen") && inv.Plan.Page != nil:
			props = inv.Plan.Page.Properties
		case e.Type == "group":
			props = inv.Plan.GroupTraits
		}
		for k := range e.Properties {
			if f := props[k]; keep(f) {
				used[f.Category.Key] = true
			} else {
				delete(e.Properties, k)
			}
		}
		for k := range e.Context {
			if f := inv.Plan.Context[k]; keep(f) {
				used[f.Category.Key] = true
			} else {
				delete(e.Context, k)
			}
		}
		events = append(events, e)
	}
	p.Events = events
}

// sortedKeys returns the keys of set, sorted.
func sortedKeys(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}

// refuse answers a refused read, audited as auditRefusal says.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, sc *scope, subject garde.SubjectID, err error) {
	api.Error(w, r, s.Log, s.auditRefusal(r, sc, subject, err))
}

// auditRefusal records a refusal of the purpose or of the person's consent
// in the audit log (subject: the person refused, "" for none) and returns
// err, or the audit log's error.
func (s *Server) auditRefusal(r *http.Request, sc *scope, subject garde.SubjectID, err error) error {
	if code := garde.ErrorCode(err); code == garde.EForbidden || code == garde.ENoConsent {
		e := s.readEntry(r, sc, err)
		if subject != "" {
			e.Subjects = []garde.SubjectID{subject}
		}
		if aerr := s.appendAudit(r.Context(), e); aerr != nil {
			return aerr
		}
	}
	return err
}

// readOne reads one profile under sc: only if the person's consent (or
// another ground) holds now for a purpose sc names (else ENoConsent,
// audited), narrowed to what those purposes may use, and audited.
func (s *Server) readOne(r *http.Request, sc *scope, id garde.SubjectID, limit int) (*profile.Profile, error) {
	ctx := r.Context()
	p, err := s.Profiles.Read(ctx, id, limit)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	if !s.apply(sc, p, used) {
		return nil, s.auditRefusal(r, sc, p.ID, garde.Errorf(garde.ENoConsent, "this person's consent (or another ground) does not hold now for purpose %s", strings.Join(s.Inventory.PurposeKeys(sc.purposes), ",")))
	}
	e := s.readEntry(r, sc, nil)
	e.Subjects, e.Categories = []garde.SubjectID{p.ID}, sortedKeys(used)
	if err := s.appendAudit(ctx, e); err != nil {
		return nil, err
	}
	return p, nil
}

// subjectBy finds the subject an identifier of kind belongs to, through its
// blind index: the value is hashed, never searched in clear. name is the
// identifier as the caller named it, for the error of a malformed email
// or phone number.
func (s *Server) subjectBy(ctx context.Context, kind, value, name string) (garde.SubjectID, error) {
	if kind == collect.IdentityEmail || kind == collect.IdentityPhone {
		if value = collect.Normalise(kind, value, s.Inventory.Organisation.Country); value == "" {
			return "", garde.Errorf(garde.EInvalid, "%s is not valid", name)
		}
	}
	return s.Profiles.Store.FindSubjectByIdentity(ctx, kind, s.Index.BlindIndex(kind, value))
}

// readEntry is the audit entry of a read (or of its refusal) under sc (nil
// when the API key's scope itself was refused; without a role or purposes
// when an operator's was); the caller adds the subjects and categories.
// Detail is never nil.
func (s *Server) readEntry(r *http.Request, sc *scope, refused error) audit.Entry {
	ctx := r.Context()
	e := audit.Entry{Action: audit.ActionSubjectRead, RequestID: api.RequestID(ctx), Source: api.RemoteHost(r),
		Outcome: audit.OutcomeOK, Detail: map[string]string{}}
	if sc != nil {
		e.Actor = sc.actor
		if sc.role != nil {
			e.Role = sc.role.Key
		}
		if keys := s.Inventory.PurposeKeys(sc.purposes); len(keys) > 0 {
			e.Purpose = keys[0]
			if len(keys) > 1 {
				e.Detail["purposes"] = strings.Join(keys, ",")
			}
		}
	} else if k, _ := ctx.Value(operatorKey{}).(*access.APIKey); k != nil {
		e.Actor, e.Role = "apikey:"+k.ID, k.Role
	}
	if refused != nil {
		e.Outcome = audit.OutcomeRefused
		e.Detail["code"] = garde.ErrorCode(refused)
	}
	return e
}

// appendAudit records e in the audit log (durable when it returns).
func (s *Server) appendAudit(ctx context.Context, e audit.Entry) error {
	if s.Audit == nil {
		return nil
	}
	return s.Audit(ctx, e)
}
