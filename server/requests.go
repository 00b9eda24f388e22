package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/rights/verify"
)

// The operator API of data-subject requests: the queue, one request, and
// the steps an operator takes (record a request received by letter or
// phone, verify the requester with evidence, extend, refuse). Roles that
// administer Garde or oversee it (the DPO) handle requests.

// requestRoutes lists the request routes.
func (s *Server) requestRoutes() []Route {
	if s.Requests == nil {
		return nil
	}
	return []Route{
		{Pattern: "GET /v1/requests", Admin: true, handler: s.handlesRequests(s.listRequests)},
		{Pattern: "POST /v1/requests", Admin: true, handler: s.handlesRequests(s.createRequest)},
		{Pattern: "GET /v1/requests/{id}", Admin: true, handler: s.handlesRequests(s.getRequest)},
		{Pattern: "POST /v1/requests/{id}/verify", Admin: true, handler: s.handlesRequests(s.verifyRequest)},
		{Pattern: "POST /v1/requests/{id}/extend", Admin: true, handler: s.handlesRequests(s.stepRequest(s.Requests.Extend))},
		{Pattern: "POST /v1/requests/{id}/refuse", Admin: true, handler: s.handlesRequests(s.stepRequest(s.Requests.Refuse))},
		{Pattern: "POST /v1/requests/{id}/rectify", Admin: true, handler: s.handlesRequests(s.rectifyRequest)},
	}
}

// handlesRequests requires a role that administers or oversees Garde.
func (s *Server) handlesRequests(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, _ := r.Context().Value(operatorKey{}).(*access.APIKey)
		if role := s.Inventory.Role(k.Role); role == nil || !role.Admin && !role.Oversight {
			api.Error(w, r, s.Log, garde.Errorf(garde.EForbidden, "role %s does not handle people's requests (admin and oversight roles do)", k.Role))
			return
		}
		h(w, r)
	}
}

// requestView is a request as the API shows it.
type requestView struct {
	ID              string              `json:"id"`
	Type            rights.Type         `json:"type"`
	Jurisdiction    rights.Jurisdiction `json:"jurisdiction"`
	Subject         garde.SubjectID     `json:"subject,omitempty"`
	State           rights.State        `json:"state"`
	Received        time.Time           `json:"received"`
	Verified        time.Time           `json:"verified,omitzero"`
	ConfirmBy       time.Time           `json:"confirmBy,omitzero"`
	DueBy           time.Time           `json:"dueBy"`
	Deadline        time.Time           `json:"deadline"`
	Overdue         bool                `json:"overdue"`
	Extended        bool                `json:"extended"`
	ExtensionReason string              `json:"extensionReason,omitempty"`
	RefusalReason   string              `json:"refusalReason,omitempty"`
	Paused          bool                `json:"paused,omitempty"`
	History         []rights.Transition `json:"history,omitempty"`
}

func (s *Server) view(r rights.Request, history bool) requestView {
	v := requestView{ID: r.ID, Type: r.Type, Jurisdiction: r.Jurisdiction, Subject: r.Subject, State: r.State,
		Received: r.Received, Verified: r.Verified, ConfirmBy: r.ConfirmBy, DueBy: r.DueBy, Deadline: r.Deadline(),
		Overdue: r.Overdue(s.Clock.Now()), Extended: r.Extended, ExtensionReason: r.ExtensionReason,
		RefusalReason: r.RefusalReason, Paused: r.Paused}
	if history {
		v.History = r.History
	}
	return v
}

// listRequests answers GET /v1/requests?state=&type=&jurisdiction=&overdue=1&limit=.
func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := rights.ListFilter{State: rights.State(q.Get("state")), Type: rights.Type(q.Get("type")),
		Jurisdiction: rights.Jurisdiction(q.Get("jurisdiction")), Overdue: q.Get("overdue") == "1" || q.Get("overdue") == "true", Limit: 500}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			api.Error(w, r, s.Log, garde.Errorf(garde.EInvalid, "limit must be 1 to 500"))
			return
		}
		f.Limit = n
	}
	rs, err := s.Requests.List(r.Context(), f)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	out := make([]requestView, len(rs))
	for i, rq := range rs {
		out[i] = s.view(rq, false)
	}
	api.JSON(w, http.StatusOK, map[string]any{"requests": out})
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) {
	rq, err := s.Requests.Find(r.Context(), r.PathValue("id"))
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, s.view(rq, true))
}

// decode reads a small JSON body into v, refusing unknown fields.
func decode(r *http.Request, v any, what string) error {
	d := json.NewDecoder(io.LimitReader(r.Body, 8192))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return garde.Wrap(garde.EInvalid, err, "body is not "+what)
	}
	return nil
}

// createRequest answers POST /v1/requests: a request received by another
// channel (letter, phone, the brand's own form), recorded by an operator.
func (s *Server) createRequest(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Type         rights.Type         `json:"type"`
		Jurisdiction rights.Jurisdiction `json:"jurisdiction"`
		Received     time.Time           `json:"received"`
	}
	if err := decode(r, &b, "a request {type, jurisdiction, received}"); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	rq, err := s.Requests.Create(r.Context(), rights.Draft{Type: b.Type, Jurisdiction: b.Jurisdiction, Received: b.Received})
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	if err := s.auditRequest(r, "request.create", rq, nil); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusCreated, s.view(rq, true))
}

// verifyRequest answers POST /v1/requests/{id}/verify: the operator
// verified the requester (evidence, audited) as subject; the request is
// then answered by the durable jobs.
func (s *Server) verifyRequest(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Subject  garde.SubjectID `json:"subject"`
		Method   string          `json:"method"`
		Evidence string          `json:"evidence"`
	}
	if err := decode(r, &b, "a verification {subject, method, evidence}"); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	k, _ := r.Context().Value(operatorKey{}).(*access.APIKey)
	ev := verify.Evidence{Operator: "apikey:" + k.ID, Method: b.Method, Note: b.Evidence}
	if err := ev.Validate(); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	if b.Subject == "" || !b.Subject.Valid() {
		api.Error(w, r, s.Log, garde.Errorf(garde.EInvalid, "subject: the verified person's subject id"))
		return
	}
	rq, err := s.Requests.Verify(r.Context(), r.PathValue("id"), b.Subject)
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	err = s.auditRequest(r, "request.verify", rq, map[string]string{"method": b.Method, "evidence": b.Evidence})
	if err == nil && s.Enqueue != nil {
		err = s.Enqueue(r.Context(), rights.JobArgs{Request: rq.ID, Actor: "apikey:" + k.ID})
	}
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, s.view(rq, true))
}

// stepRequest answers extend and refuse: {reason}, told to the person.
func (s *Server) stepRequest(step func(ctx context.Context, id, reason string) (rights.Request, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Reason string `json:"reason"`
		}
		if err := decode(r, &b, "{reason}"); err != nil {
			api.Error(w, r, s.Log, err)
			return
		}
		if b.Reason == "" || len(b.Reason) > 1000 {
			api.Error(w, r, s.Log, garde.Errorf(garde.EInvalid, "reason: the reason told to the person, 1 to 1000 bytes"))
			return
		}
		rq, err := step(r.Context(), r.PathValue("id"), b.Reason)
		if err != nil {
			api.Error(w, r, s.Log, err)
			return
		}
		if err := s.auditRequest(r, "request."+string(rq.State), rq, nil); err != nil {
			api.Error(w, r, s.Log, err)
			return
		}
		api.JSON(w, http.StatusOK, s.view(rq, true))
	}
}

// auditRequest records an operator's step on a request.
func (s *Server) auditRequest(r *http.Request, action string, rq rights.Request, detail map[string]string) error {
	if s.Audit == nil {
		return nil
	}
	k, _ := r.Context().Value(operatorKey{}).(*access.APIKey)
	if detail == nil {
		detail = map[string]string{}
	}
	detail["request"], detail["type"] = rq.ID, string(rq.Type)
	e := audit.Entry{Actor: "apikey:" + k.ID, Role: k.Role, Action: action, RequestID: api.RequestID(r.Context()),
		Source: api.RemoteHost(r), Outcome: audit.OutcomeOK, Detail: detail}
	if rq.Subject != "" {
		e.Subjects = []garde.SubjectID{rq.Subject}
	}
	return s.Audit(r.Context(), e)
}

// rectifyRequest answers POST /v1/requests/{id}/rectify {field, value}:
// the operator corrects one declared trait of a verified rectification
// request's person (the old value is erased, the act audited) and the
// request is completed.
func (s *Server) rectifyRequest(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Field string  `json:"field"`
		Value *string `json:"value"`
	}
	if err := decode(r, &b, "a correction {field, value}"); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	if b.Value == nil {
		api.Error(w, r, s.Log, garde.Errorf(garde.EInvalid, "value: the corrected value is required"))
		return
	}
	rq, err := s.Requests.Find(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
	case rq.Type != rights.Rectification:
		err = garde.Errorf(garde.EInvalid, "request %s is not a rectification", rq.ID)
	case rq.State == rights.StateReceived:
		err = garde.Errorf(garde.EForbidden, "verify the requester before changing their data")
	case !rq.State.Open():
		err = garde.Errorf(garde.EConflict, "request %s is %s", rq.ID, rq.State)
	case rq.Subject == "":
		err = garde.Errorf(garde.ENotFound, "the requester is not someone Garde knows")
	}
	if err == nil {
		err = s.Rectify(r.Context(), rq.Subject, b.Field, *b.Value)
	}
	if err == nil {
		err = s.auditRequest(r, "request.rectify", rq, map[string]string{"field": b.Field})
	}
	if err == nil && rq.State != rights.StateInProgress {
		rq, err = s.Requests.Start(r.Context(), rq.ID)
	}
	if err == nil {
		rq, err = s.Requests.Complete(r.Context(), rq.ID)
	}
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, s.view(rq, true))
}
