package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

type trainingRow struct {
	ID, Name, Email string
	Status          access.TrainingStatus
	Records         []access.Training
}

type operatorOption struct{ ID, Label string }

type trainingData struct {
	Operators []trainingRow
	Options   []operatorOption
	Today     string
	Done      string
}

func (c *Console) training(w http.ResponseWriter, r *http.Request) {
	ops, err := c.Operators.FindOperators(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	now := c.now()
	d := trainingData{Today: now.UTC().Format(time.DateOnly), Done: done(r, "recorded")}
	for _, o := range ops {
		recs, err := c.Operators.FindTrainings(r.Context(), o.ID)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		st, err := c.Auth.TrainingStatus(r.Context(), o.ID, now)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Operators = append(d.Operators, trainingRow{ID: o.ID, Name: o.Name, Email: o.Email, Status: st, Records: recs})
		label := o.Name
		if label == "" {
			label = o.Email
		}
		d.Options = append(d.Options, operatorOption{o.ID, label})
	}
	c.Render(w, r, "training.html", d)
}

// recordTraining records a completed course for an operator.
func (c *Console) recordTraining(w http.ResponseWriter, r *http.Request) {
	t := access.Training{OperatorID: r.PostFormValue("operator"), Course: strings.TrimSpace(r.PostFormValue("course"))}
	if !validKey(t.Course) {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "the course must be a key (lower-case letters, digits and _)"))
		return
	}
	var err error
	if t.CompletedAt, err = time.Parse(time.DateOnly, r.PostFormValue("completed")); err != nil {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "the completion date must be a date (YYYY-MM-DD)"))
		return
	}
	if t.CompletedAt.After(c.now()) {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "the completion date cannot be in the future"))
		return
	}
	if v := r.PostFormValue("valid_until"); v != "" {
		if t.ValidUntil, err = time.Parse(time.DateOnly, v); err != nil {
			c.fail(w, r, garde.Errorf(garde.EInvalid, "the validity must be a date (YYYY-MM-DD)"))
			return
		}
	}
	if err := c.Auth.RecordTraining(r.Context(), t); err != nil {
		c.fail(w, r, err)
		return
	}
	if c.audited(w, r, ActionTrainingRecord, map[string]string{"operator": t.OperatorID, "course": t.Course}) {
		http.Redirect(w, r, "/console/training?done=recorded", http.StatusSeeOther)
	}
}
