package access

import (
	"context"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// Training is one completed course. An operator whose data-protection
// training is missing or expired may sign in but reads no personal data.
type Training struct {
	OperatorID  string
	Course      string // a course key, e.g. "data_protection"
	CompletedAt time.Time
	ValidUntil  time.Time
}

// TrainingStatus tells whether an operator's gating training is valid.
// Reason is safe to show: it says why access is refused or what to renew.
type TrainingStatus struct {
	Valid    bool
	Expires  time.Time // zero when missing
	WarnSoon bool      // valid, but expires within the warning period
	Reason   string
}

// RecordTraining stores a completed course. ValidUntil defaults to
// CompletedAt plus TrainingValidity.
func (a *Auth) RecordTraining(ctx context.Context, t Training) error {
	t.Course = strings.TrimSpace(t.Course)
	if t.OperatorID == "" || t.Course == "" || t.CompletedAt.IsZero() {
		return garde.Errorf(garde.EInvalid, "a training record needs an operator, a course and a completion date")
	}
	if t.ValidUntil.IsZero() {
		t.ValidUntil = t.CompletedAt.Add(a.cfg.TrainingValidity)
	}
	if !t.ValidUntil.After(t.CompletedAt) {
		return garde.Errorf(garde.EInvalid, "a training must be valid until after its completion")
	}
	if _, err := a.store.FindOperatorByID(ctx, t.OperatorID); err != nil {
		return err
	}
	return a.store.CreateTraining(ctx, t)
}

// TrainingStatus returns the status, at now, of an operator's gating
// training (Config.TrainingCourse).
func (a *Auth) TrainingStatus(ctx context.Context, operatorID string, now time.Time) (TrainingStatus, error) {
	records, err := a.store.FindTrainings(ctx, operatorID)
	if err != nil {
		return TrainingStatus{}, err
	}
	return EvaluateTraining(records, a.cfg.TrainingCourse, a.cfg.TrainingName, a.cfg.TrainingWarn, now), nil
}

// EvaluateTraining decides the status of course at now from an operator's
// records: the record valid the longest counts; it is valid from its
// completion until ValidUntil; it warns within warn of its end. name is the
// course's name in the reason ("data-protection training").
func EvaluateTraining(records []Training, course, name string, warn time.Duration, now time.Time) TrainingStatus {
	var best *Training
	for i := range records {
		t := &records[i]
		if t.Course != course || t.CompletedAt.After(now) {
			continue
		}
		if best == nil || t.ValidUntil.After(best.ValidUntil) {
			best = t
		}
	}
	if best == nil {
		return TrainingStatus{Reason: name + " missing"}
	}
	day := best.ValidUntil.UTC().Format(time.DateOnly)
	if !now.Before(best.ValidUntil) {
		return TrainingStatus{Expires: best.ValidUntil, Reason: name + " expired on " + day}
	}
	st := TrainingStatus{Valid: true, Expires: best.ValidUntil}
	if best.ValidUntil.Sub(now) <= warn {
		st.WarnSoon, st.Reason = true, name+" expires on "+day+"; renew it"
	}
	return st
}
