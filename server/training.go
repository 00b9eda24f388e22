package server

import (
	"net/http"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
)

// trainingBody records a completed training (POST).
type trainingBody struct {
	Course      string    `json:"course"`
	CompletedAt time.Time `json:"completedAt"`
	ValidUntil  time.Time `json:"validUntil,omitzero"`
}

// getTraining answers GET /v1/operators/{id}/training: the operator's
// data-protection training status (valid, expiry, warning, reason).
func (s *Server) getTraining(w http.ResponseWriter, r *http.Request) {
	st, err := s.Auth.TrainingStatus(r.Context(), r.PathValue("id"), s.Clock.Now())
	if err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	api.JSON(w, http.StatusOK, st)
}

// postTraining answers POST /v1/operators/{id}/training: records a
// completion (administrators only; audited).
func (s *Server) postTraining(w http.ResponseWriter, r *http.Request) {
	var b trainingBody
	if err := decode(r, &b, "a training record {course, completedAt, validUntil}"); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	t := access.Training{OperatorID: r.PathValue("id"), Course: b.Course, CompletedAt: b.CompletedAt, ValidUntil: b.ValidUntil}
	if err := s.Auth.RecordTraining(r.Context(), t); err != nil {
		api.Error(w, r, s.Log, err)
		return
	}
	k, _ := r.Context().Value(operatorKey{}).(*access.APIKey)
	if s.Audit != nil {
		if err := s.Audit(r.Context(), audit.Entry{Actor: "apikey:" + k.ID, Role: k.Role, Action: "training.record",
			RequestID: api.RequestID(r.Context()), Source: api.RemoteHost(r), Outcome: audit.OutcomeOK,
			Detail: map[string]string{"operator": t.OperatorID, "course": t.Course}}); err != nil {
			api.Error(w, r, s.Log, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// admin requires an API key whose role administers Garde.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, _ := r.Context().Value(operatorKey{}).(*access.APIKey)
		if role := s.Inventory.Role(k.Role); role == nil || !role.Admin {
			api.Error(w, r, s.Log, garde.Errorf(garde.EForbidden, "role %s does not administer Garde", k.Role))
			return
		}
		h(w, r)
	}
}
