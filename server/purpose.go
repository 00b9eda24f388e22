package server

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
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
	key        *access.APIKey
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
	if named == "" {
		return nil, garde.Errorf(garde.EForbidden, "a read of personal data must name its purpose (?purpose=… or %s)", PurposeHeader)
	}
	role := s.Inventory.Role(k.Role)
	if role == nil {
		return nil, garde.Errorf(garde.EForbidden, "the key's role %q is not declared in the inventory", k.Role)
	}
	sc := &scope{key: k, role: role}
	for key := range strings.SplitSeq(named, ",") {
		p := s.Inventory.Purpose(strings.TrimSpace(key))
		if p == nil {
			return nil, garde.Errorf(garde.EForbidden, "unknown purpose %q", garde.Truncate(key, 40))
		}
		if !role.Purposes.Has(p.Index) {
			return nil, garde.Errorf(garde.EForbidden, "role %s may not read personal data for purpose %s", role.Key, p.Key)
		}
		if !k.AllowsPurpose(p.Key) {
			return nil, garde.Errorf(garde.EForbidden, "this API key is limited to other purposes than %s", p.Key)
		}
		sc.purposes = sc.purposes.With(p.Index)
	}
	sc.categories = map[string]bool{}
	for _, c := range s.Inventory.CategoriesOf(sc.purposes) {
		sc.categories[c] = true
	}
	return sc, nil
}

// narrow keeps, of a profile read back, only what the allowed purposes
// may use: events stored for one of them, and of those events and of the
// traits only the fields declared for one of them in a category they use.
func (s *Server) narrow(p *profile.Profile, allowed inventory.PurposeSet, categories map[string]bool) []string {
	inv := s.Inventory
	keep := func(f *inventory.Field) bool {
		return f != nil && f.Purposes&allowed != 0 && f.Category != nil && categories[f.Category.Key]
	}
	used := map[string]bool{}
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
	cats := make([]string, 0, len(used))
	for c := range used {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	return cats
}

// audit records a read (or its refusal) in the audit log.
func (s *Server) audit(ctx context.Context, r *http.Request, sc *scope, subject garde.SubjectID, categories []string, refused error) error {
	if s.Audit == nil {
		return nil
	}
	e := audit.Entry{Action: audit.ActionSubjectRead, RequestID: api.RequestID(ctx), Source: api.RemoteHost(r), Outcome: audit.OutcomeOK, Categories: categories}
	if sc != nil {
		keys := s.Inventory.PurposeKeys(sc.purposes)
		e.Actor, e.Role, e.Purpose = "apikey:"+sc.key.ID, sc.role.Key, keys[0]
		if len(keys) > 1 {
			e.Detail = map[string]string{"purposes": strings.Join(keys, ",")}
		}
	} else if k, _ := ctx.Value(operatorKey{}).(*access.APIKey); k != nil {
		e.Actor, e.Role = "apikey:"+k.ID, k.Role
	}
	if subject != "" {
		e.Subjects = []garde.SubjectID{subject}
	}
	if refused != nil {
		e.Outcome = audit.OutcomeRefused
		if e.Detail == nil {
			e.Detail = map[string]string{}
		}
		e.Detail["code"] = garde.ErrorCode(refused)
	}
	return s.Audit(ctx, e)
}
