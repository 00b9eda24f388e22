package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/collect"
)

const maxEvents = 1000

func eventLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("events")
	if s == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxEvents {
		return 0, garde.Errorf(garde.EInvalid, "events must be a number from 0 to %d", maxEvents)
	}
	return n, nil
}

// getSubject answers GET /v1/subjects/{id}: the decrypted profile and the
// newest events.
func (s *Server) getSubject(w http.ResponseWriter, r *http.Request) {
	id := garde.SubjectID(r.PathValue("id"))
	if !id.Valid() {
		api.Error(w, r, s.Log, garde.Errorf(garde.EInvalid, "not a subject id"))
		return
	}
	s.writeProfile(w, r, id)
}

// findSubject answers GET /v1/subjects?email=…|phone=…|userId=…|anonymousId=…
// through the blind indexes: the identifier is hashed, never searched in clear.
func (s *Server) findSubject(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, by := range [...]struct{ param, kind string }{
		{"userId", collect.IdentityUser}, {"email", collect.IdentityEmail},
		{"phone", collect.IdentityPhone}, {"anonymousId", collect.IdentityAnon},
	} {
		v := q.Get(by.param)
		if v == "" {
			continue
		}
		if by.kind == collect.IdentityEmail || by.kind == collect.IdentityPhone {
			if v = collect.Normalise(by.kind, v, s.Inventory.Organisation.Country); v == "" {
				api.Error(w, r, s.Log, garde.Errorf(garde.EInvalid, "%s is not valid", by.param))
				return
			}
		}
		id, err := s.Profiles.Store.FindSubjectByIdentity(r.Context(), by.kind, s.Index.BlindIndex(by.kind, v))
		if err != nil {
			api.Error(w, r, s.Log, err)
			return
		}
		s.writeProfile(w, r, id)
		return
	}
	api.Error(w, r, s.Log, garde.Errorf(garde.EInvalid, "give one of userId, email, phone or anonymousId"))
}

// writeProfile answers a purpose-bound read: only if the person's consent
// (or another ground) holds now for a named purpose, and only the fields
// those purposes may use. Reads and refusals are audited.
func (s *Server) writeProfile(w http.ResponseWriter, r *http.Request, id garde.SubjectID) {
	ctx := r.Context()
	fail := func(sc *scope, subject garde.SubjectID, err error) {
		if code := garde.ErrorCode(err); code == garde.EForbidden || code == garde.ENoConsent {
			if aerr := s.audit(ctx, r, sc, subject, nil, err); aerr != nil {
				err = aerr
			}
		}
		api.Error(w, r, s.Log, err)
	}
	sc, err := s.readScope(r)
	if err != nil {
		fail(nil, "", err)
		return
	}
	limit, err := eventLimit(r)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	p, err := s.Profiles.Read(ctx, id, limit)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	allowed := sc.purposes
	if s.Gate != nil {
		allowed = s.Gate(p.ID, sc.purposes)
	}
	if allowed.Empty() {
		fail(sc, p.ID, garde.Errorf(garde.ENoConsent, "this person's consent (or another ground) does not hold now for purpose %s", strings.Join(s.Inventory.PurposeKeys(sc.purposes), ",")))
		return
	}
	cats := s.narrow(p, allowed, sc.categories)
	if err := s.audit(ctx, r, sc, p.ID, cats, nil); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, p)
}

// violations answers GET /v1/inventory/violations: what the tracking plan
// refused or redacted, counted by place.
func (s *Server) violations(w http.ResponseWriter, r *http.Request) {
	v, err := s.Data.FindViolations(r.Context(), 1000)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, map[string]any{"violations": v})
}
