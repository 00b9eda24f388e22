package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
)

// Events returned with each profile: GET reads of one profile take
// ?events= from 0 to 1,000 (100 by default), bulk reads from 0 to 100 (10
// by default) for each of their profiles.
const (
	maxEvents         = 1000
	defaultEvents     = 100
	maxBulkEvents     = 100
	defaultBulkEvents = 10
)

func eventLimit(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("events")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, garde.Errorf(garde.EInvalid, "events must be a number from 0 to %d", max)
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
		id, err := s.subjectBy(r.Context(), by.kind, v, by.param)
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
	sc, err := s.readScope(r)
	if err != nil {
		s.refuse(w, r, nil, "", err)
		return
	}
	limit, err := eventLimit(r, defaultEvents, maxEvents)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	p, err := s.readOne(r, sc, id, limit)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, p)
}

// bulkAnswer is the answer of a bulk read: the profiles that may be read,
// and how many were left out — never which.
type bulkAnswer struct {
	Profiles []*profile.Profile `json:"profiles"`
	// Withheld counts the people whose consent (or another ground) does
	// not hold now for any purpose the read names.
	Withheld int `json:"withheld"`
	// NotFound counts the ids that name no subject.
	NotFound int `json:"notFound"`
}

// readSubjects answers POST /v1/subjects/read {"ids":[…]}: the
// purpose-bound read of up to 1,000 profiles at once (a campaign's
// audience, a support team's batch). The single read's rules hold for each
// profile: the purpose is named and granted by the role and the key (else
// 403 naming the rule), only the fields those purposes may use come back,
// and people whose consent does not hold now for any of them are left out,
// counted but not named. One audit entry records the read — the subjects'
// ids, or beyond audit.MaxListed their count and digest — and is durable
// before the answer.
func (s *Server) readSubjects(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sc, err := s.readScope(r)
	if err != nil {
		s.refuse(w, r, nil, "", err)
		return
	}
	limit, err := eventLimit(r, defaultBulkEvents, maxBulkEvents)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	ids, err := decodeReadRequest(r.Body)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	// consent is checked before anything is read: the data of people
	// whose consent does not hold is never opened
	var a bulkAnswer
	allowed := make(map[garde.SubjectID]inventory.PurposeSet, len(ids))
	keep := func(id garde.SubjectID) bool {
		if allowed[id] = s.allowed(sc, id); allowed[id].Empty() {
			a.Withheld++
			return false
		}
		return true
	}
	if a.Profiles, a.NotFound, err = s.Profiles.ReadMany(ctx, ids, limit, keep); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	read := make([]garde.SubjectID, len(a.Profiles))
	used := map[string]bool{}
	for i, p := range a.Profiles {
		s.narrow(p, allowed[p.ID], sc.categories, used)
		read[i] = p.ID
	}
	e := s.readEntry(r, sc, nil)
	e.Subjects, e.Categories = read, sortedKeys(used)
	e.Detail["ids"] = strconv.Itoa(len(ids))
	e.Detail["withheld"] = strconv.Itoa(a.Withheld)
	e.Detail["not_found"] = strconv.Itoa(a.NotFound)
	if err := s.appendAudit(ctx, e); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, a)
}

// maxReadBody bounds the body of a bulk read: 1,000 quoted subject ids of
// 28 characters fill about 31 KB.
const maxReadBody = 64 << 10

// decodeReadRequest reads the body of a bulk read, {"ids":[…]}: 1 to
// profile.MaxMany well-formed subject ids, returned in order without
// repeats. Unknown fields, trailing data and malformed ids are
// garde.EInvalid (naming the position of a bad id, never the id); a body
// over 64 KB is garde.ETooLarge.
func decodeReadRequest(body io.Reader) ([]garde.SubjectID, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxReadBody+1))
	if err != nil {
		return nil, garde.Wrap(garde.EInvalid, err, "the body could not be read")
	}
	if len(b) > maxReadBody {
		return nil, garde.Errorf(garde.ETooLarge, "the body is over %d KB", maxReadBody>>10)
	}
	var req struct {
		IDs []*string `json:"ids"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		return nil, garde.Wrap(garde.EInvalid, err, `body is not {"ids":[subject ids]}`)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, garde.Errorf(garde.EInvalid, `body is not {"ids":[subject ids]}: trailing data`)
	}
	if len(req.IDs) == 0 {
		return nil, garde.Errorf(garde.EInvalid, "ids: give 1 to %d subject ids", profile.MaxMany)
	}
	if len(req.IDs) > profile.MaxMany {
		return nil, garde.Errorf(garde.EInvalid, "ids: at most %d subject ids a read (got %d)", profile.MaxMany, len(req.IDs))
	}
	ids := make([]garde.SubjectID, 0, len(req.IDs))
	seen := make(map[garde.SubjectID]bool, len(req.IDs))
	for i, v := range req.IDs {
		if v == nil || !garde.SubjectID(*v).Valid() {
			return nil, garde.Errorf(garde.EInvalid, "ids[%d] is not a subject id", i)
		}
		if id := garde.SubjectID(*v); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
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
