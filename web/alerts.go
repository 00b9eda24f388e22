package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
)

// AlertStore is what the alerts page needs: the alerts, and an
// acknowledgement that is audited before it is stored (audit.Detector's
// Acknowledge). DetectorAlerts adapts an audit.Detector to it.
type AlertStore interface {
	// FindAlerts returns the alerts f selects, newest first.
	FindAlerts(ctx context.Context, f audit.AlertFilter) ([]audit.Alert, error)
	// Acknowledge acknowledges alert id on behalf of by with a comment,
	// after appending its audit entry with appendAudit (which may complete
	// the entry): garde.EInvalid for a bad comment, garde.ENotFound for no
	// such alert, garde.EConflict when it is acknowledged already.
	Acknowledge(ctx context.Context, id int64, by, comment string, appendAudit func(context.Context, audit.Entry) error) error
}

// DetectorAlerts is the AlertStore of an insider-threat detector: its
// store's alerts, and its audited acknowledgement.
func DetectorAlerts(d *audit.Detector) AlertStore { return detectorAlerts{d} }

type detectorAlerts struct{ d *audit.Detector }

func (a detectorAlerts) FindAlerts(ctx context.Context, f audit.AlertFilter) ([]audit.Alert, error) {
	return a.d.Store.FindAlerts(ctx, f)
}

func (a detectorAlerts) Acknowledge(ctx context.Context, id int64, by, comment string, appendAudit func(context.Context, audit.Entry) error) error {
	return a.d.Acknowledge(ctx, id, by, comment, appendAudit)
}

// alertsShown is the most alerts the page lists.
const alertsShown = 200

type alertsData struct {
	All    bool
	Alerts []audit.Alert
	Done   string
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request) {
	d := alertsData{All: r.URL.Query().Get("status") == "all", Done: done(r, "acknowledged")}
	if c.Alerts != nil {
		f := audit.AlertFilter{Limit: alertsShown}
		if !d.All {
			open := true
			f.Open = &open
		}
		var err error
		if d.Alerts, err = c.Alerts.FindAlerts(r.Context(), f); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	c.Render(w, r, "alerts.html", d)
}

// ackAlert acknowledges an alert with a comment. The comment is free text
// and stays with the alert; the audit entry, written first, carries the
// alert's id and the comment's SHA-256 (see audit.Detector.Acknowledge).
func (c *Console) ackAlert(w http.ResponseWriter, r *http.Request) {
	if c.Alerts == nil {
		c.notFound(w, r)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.notFound(w, r)
		return
	}
	v := viewerOf(r)
	complete := func(ctx context.Context, e audit.Entry) error {
		e.Role, e.Source, e.RequestID = v.op.Role, api.RemoteHost(r), api.RequestID(r.Context())
		return c.Record(ctx, e)
	}
	if err := c.Alerts.Acknowledge(r.Context(), id, "operator:"+v.op.ID, r.PostFormValue("comment"), complete); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/alerts?done=acknowledged", http.StatusSeeOther)
}
