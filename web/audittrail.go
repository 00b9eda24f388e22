package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// auditShown is how many entries the audit page shows: the latest that
// match the filters.
const auditShown = 100

type auditForm struct {
	Since, Until, Actor, Action, Purpose, Subject string
}

type auditRow struct {
	Seq                                   int64
	Time                                  time.Time
	Actor, Role, Action, Purpose, Outcome string
	Subjects                              []string
	SubjectCount                          int
	Categories                            []string
	Detail                                []string
	Source                                string
}

type auditData struct {
	Form     auditForm
	Entries  []auditRow
	Matched  int
	Shown    int
	Error    string // public message of a bad filter
	Verified *audit.Report
}

// filterOf reads the filters of the audit page. Every value goes to the
// store as a query parameter, never into the SQL text.
func filterOf(r *http.Request) (audit.Filter, auditForm, error) {
	q := r.URL.Query()
	form := auditForm{Since: q.Get("since"), Until: q.Get("until"), Actor: strings.TrimSpace(q.Get("actor")),
		Action: strings.TrimSpace(q.Get("action")), Purpose: strings.TrimSpace(q.Get("purpose")),
		Subject: strings.TrimSpace(q.Get("subject"))}
	f := audit.Filter{Actor: form.Actor, Action: form.Action, Purpose: form.Purpose, Subject: garde.SubjectID(form.Subject)}
	var err error
	if f.Since, err = parseWhen(form.Since); err != nil {
		return f, form, err
	}
	if f.Until, err = parseWhen(form.Until); err != nil {
		return f, form, err
	}
	if form.Until != "" && len(form.Until) == len(time.DateOnly) {
		f.Until = f.Until.Add(24 * time.Hour) // a day includes itself
	}
	for _, s := range []string{form.Actor, form.Action, form.Purpose, form.Subject} {
		if len(s) > 256 {
			return f, form, garde.Errorf(garde.EInvalid, "a filter is too long")
		}
	}
	return f, form, nil
}

// parseWhen reads a date (YYYY-MM-DD) or a date and time
// (YYYY-MM-DDTHH:MM, as <input type=datetime-local> sends), in UTC.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, garde.Errorf(garde.EInvalid, "dates are YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)")
}

func (c *Console) auditTrail(w http.ResponseWriter, r *http.Request) {
	c.renderAudit(w, r, nil)
}

func (c *Console) renderAudit(w http.ResponseWriter, r *http.Request, rep *audit.Report) {
	f, form, err := filterOf(r)
	d := auditData{Form: form, Verified: rep}
	if err != nil {
		d.Error = c.errorText(r, err)
		c.render(w, r, http.StatusBadRequest, "audit.html", d)
		return
	}
	// Keep the latest auditShown matches in a ring.
	ring := make([]auditRow, 0, auditShown)
	err = c.Audit.FindAudit(r.Context(), f, func(e *audit.Entry) error {
		row := rowOf(e)
		if len(ring) < auditShown {
			ring = append(ring, row)
		} else {
			ring[d.Matched%auditShown] = row
		}
		d.Matched++
		return nil
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// Newest first.
	for i := range ring {
		d.Entries = append(d.Entries, ring[(d.Matched-1-i+len(ring)*2)%len(ring)])
	}
	d.Shown = len(d.Entries)
	c.Render(w, r, "audit.html", d)
}

func rowOf(e *audit.Entry) auditRow {
	row := auditRow{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Role: e.Role, Action: e.Action, Purpose: e.Purpose,
		Outcome: e.Outcome, SubjectCount: e.SubjectCount, Categories: e.Categories, Source: e.Source}
	for _, s := range e.Subjects {
		row.Subjects = append(row.Subjects, string(s))
	}
	for k, v := range e.Detail {
		row.Detail = append(row.Detail, k+"="+v)
	}
	slices.Sort(row.Detail)
	return row
}

// verifyAudit checks the whole chain and its checkpoints and shows the
// report, naming the first bad entry.
func (c *Console) verifyAudit(w http.ResponseWriter, r *http.Request) {
	rep, err := audit.Verify(r.Context(), c.Audit, c.AuditSigner)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	detail := map[string]string{"ok": strconv.FormatBool(rep.OK), "entries": strconv.Itoa(rep.Entries)}
	if !rep.OK {
		detail["first_bad"] = strconv.FormatInt(rep.FirstBad, 10)
	}
	if !c.audited(w, r, ActionAuditVerify, detail) {
		return
	}
	c.renderAudit(w, r, &rep)
}
