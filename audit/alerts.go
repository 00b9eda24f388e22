package audit

import (
	"context"
	"fmt"
	"time"
)

// Insider-threat alerts
//
// A Detector watches the log (Observe, or Run tailing a Reader) and raises
// an Alert when an actor's reads depart from the rules or from the actor's
// own habits:
//
//	bulk_read     one read of more than Rules.BulkSubjects subjects
//	large_export  one export of more than Rules.ExportSubjects subjects
//	odd_hours     a read outside working hours or days (Rules.Location)
//	new_purpose   a read for a purpose the actor never used, once the
//	              actor has Rules.MinHistory days of history
//	refusals      more than Rules.RefusalsPerHour refused acts in an hour
//	volume        more subjects read for a purpose in a day than the
//	              actor's baseline mean + Rules.Sigmas standard deviations,
//	              once that baseline has Rules.MinHistory days
//
// Reads are successful entries whose Action is ActionExport or ends in
// ".read". Entries of ActorSystem and of collection sources ("source:…")
// are not watched: they are Garde's own jobs and people's devices.
//
// Baselines are exponentially weighted (Rules.EWMAAlpha) over the actor's
// active days — days with at least one read for the purpose — so weekends
// and holidays neither dilute nor inflate them; during the first 1/alpha
// days the weights are those of a plain running mean, so that a young
// baseline is not dominated by its first day. A day that raised a volume
// alert is folded in as its threshold, not its volume, so that one spike
// does not at once make the next look normal. Days are calendar days in
// Rules.Location. Baselines and the seq of the last entry observed are
// stored with the alerts they lead to, in one transaction
// (AlertStore.SaveBaselines), so that a restart neither forgets them nor
// raises an alert twice. The refusal window and the odd-hours cooldown are
// kept in memory only: a restart forgets at most an hour of them.
//
// # Privacy rule
//
// An alert's Message names actor ids, counts, purposes and hours — never a
// subject id or any personal value; Entries link the audit entries that
// tell the rest to whoever may read the log. An acknowledgement's comment is
// free text, kept with the alert only: its audit entry carries the alert's
// id and the comment's SHA-256, which binds the stored comment to the
// tamper-evident log without copying it there.

// Alert rules (Alert.Rule).
const (
	RuleBulkRead    = "bulk_read"
	RuleLargeExport = "large_export"
	RuleOddHours    = "odd_hours"
	RuleNewPurpose  = "new_purpose"
	RuleRefusals    = "refusals"
	RuleVolume      = "volume"
)

// Alert severities (Alert.Severity).
const (
	SeverityMedium = "medium"
	SeverityHigh   = "high"
)

// ActionAlertAck is the action of the entry that records an
// acknowledgement (Detector.Acknowledge).
const ActionAlertAck = "alert.ack"

// MaxLinked is the most audit seqs an alert lists; an alert about more
// entries lists the latest ones (the audit log, filtered by actor, purpose
// and day, holds them all).
const MaxLinked = 100

// Alert is one insider-threat alert.
type Alert struct {
	ID   int64     `json:"id"`   // set by the store
	Time time.Time `json:"time"` // when it was raised
	// Actor is the audit actor the alert is about.
	Actor    string `json:"actor"`
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	// Message says what happened with ids, counts, purposes and hours only.
	Message string `json:"message"`
	// Entries are the seqs of the audit entries that triggered the alert,
	// in seq order, at most MaxLinked.
	Entries      []int64   `json:"entries"`
	Acknowledged bool      `json:"acknowledged"`
	AckBy        string    `json:"ack_by,omitempty"`
	AckComment   string    `json:"ack_comment,omitempty"`
	AckAt        time.Time `json:"ack_at,omitzero"`
}

// AlertFilter selects alerts; its zero value selects them all. Conditions
// add up (AND).
type AlertFilter struct {
	Open  *bool // only open (true) or only acknowledged (false) alerts
	Actor string
	Limit int // at most this many; 0: no limit
}

// Baseline is an actor's reading habit for one purpose: the exponentially
// weighted mean and variance of the subjects read per active day.
type Baseline struct {
	Actor   string
	Purpose string // BaselineAll: the actor's reads for every purpose
	Mean    float64
	Var     float64
	// Days is the number of past active days folded into Mean and Var.
	Days int
	// FirstDay and LastDay are the first active day and the day being
	// counted, as yyyymmdd in the rules' time zone; Today is the number
	// of subjects read on LastDay so far.
	FirstDay, LastDay int
	Today             int64
	// AlertedDay is the last day a volume alert was raised (0: never).
	AlertedDay int
}

// BaselineAll is the Purpose of an actor's all-purpose baseline, which
// dates the actor's history for the new-purpose rule. It cannot be a
// purpose key.
const BaselineAll = "*"

// DetectorState is what a Detector keeps across restarts.
type DetectorState struct {
	// LastSeq is the seq of the last entry observed: entries at or
	// before it are skipped.
	LastSeq   int64
	Baselines []Baseline
}

// AlertStore stores alerts and the detector's state. The store implements
// it (store.NewAlerts), with parameterised queries.
type AlertStore interface {
	// CreateAlerts stores alerts and sets their ID, in one transaction.
	CreateAlerts(ctx context.Context, alerts []Alert) error
	// FindAlerts returns the alerts f selects, newest first.
	FindAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// FindAlertByID returns an alert, or a garde.ENotFound error.
	FindAlertByID(ctx context.Context, id int64) (Alert, error)
	// AckAlert marks an open alert acknowledged by by, with comment, at
	// at: a garde.ENotFound error when there is no such alert,
	// garde.EConflict when it is acknowledged already (the first
	// acknowledgement stands).
	AckAlert(ctx context.Context, id int64, by, comment string, at time.Time) error
	// LoadBaselines returns the state SaveBaselines last stored (every
	// baseline, and the last seq); the zero state at first.
	LoadBaselines(ctx context.Context) (DetectorState, error)
	// SaveBaselines stores, in one transaction, s.LastSeq, the baselines
	// in s (replacing those of the same actor and purpose; the others
	// are kept) and the alerts raised with them, as CreateAlerts does:
	// either all of it is stored or none of it.
	SaveBaselines(ctx context.Context, s DetectorState, raised []Alert) error
}

// Rules configures a Detector. The zero value of a field means its
// default.
type Rules struct {
	// BulkSubjects: a read of more subjects in one entry raises
	// bulk_read (default 500).
	BulkSubjects int
	// ExportSubjects: an export of more subjects raises large_export
	// (default 1000).
	ExportSubjects int
	// Working hours are [WorkStart, WorkEnd) (default 8 and 19), on
	// WorkDays (default Monday to Friday), in Location (default
	// Europe/Paris; a binary for images without a zone database should
	// import time/tzdata).
	WorkStart, WorkEnd int
	WorkDays           []time.Weekday
	Location           *time.Location
	// RefusalsPerHour: more refused acts by one actor within an hour
	// raise refusals (default 5).
	RefusalsPerHour int
	// EWMAAlpha weighs each new day in a baseline (default 0.1).
	EWMAAlpha float64
	// Sigmas: a day's volume above mean + Sigmas standard deviations
	// raises volume (default 4). The deviation is taken as at least the
	// square root of the mean, and at least 1, so that a perfectly
	// regular history does not make every small excess an alert.
	Sigmas float64
	// MinHistory is the number of active days of history an actor needs
	// before new_purpose, and a baseline needs before volume, can fire
	// (default 7).
	MinHistory int
	// Cooldown: after an odd_hours alert, the actor's further odd-hours
	// reads within Cooldown raise no new alert (default 1 hour); those
	// of the same Observe call are linked to it.
	Cooldown time.Duration
}

// rules is Rules with its defaults applied.
type rules struct {
	Rules
	workDays [7]bool
}

func (r Rules) resolve() (*rules, error) {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&r.BulkSubjects, 500)
	def(&r.ExportSubjects, 1000)
	def(&r.RefusalsPerHour, 5)
	def(&r.MinHistory, 7)
	if r.WorkStart == 0 && r.WorkEnd == 0 {
		r.WorkStart, r.WorkEnd = 8, 19
	}
	if r.WorkStart < 0 || r.WorkEnd > 24 || r.WorkStart >= r.WorkEnd {
		return nil, fmt.Errorf("audit: alert rules: working hours must satisfy 0 <= start < end <= 24")
	}
	if r.EWMAAlpha <= 0 || r.EWMAAlpha > 1 {
		r.EWMAAlpha = 0.1
	}
	if r.Sigmas <= 0 {
		r.Sigmas = 4
	}
	if r.Cooldown <= 0 {
		r.Cooldown = time.Hour
	}
	if r.Location == nil {
		loc, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			return nil, fmt.Errorf("audit: alert rules: no time zone Europe/Paris (set Rules.Location or import time/tzdata): %w", err)
		}
		r.Location = loc
	}
	if len(r.WorkDays) == 0 {
		r.WorkDays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	rs := &rules{Rules: r}
	for _, d := range r.WorkDays {
		rs.workDays[d%7] = true
	}
	return rs, nil
}

// working reports whether local time t is within working hours.
func (r *rules) working(t time.Time) bool {
	h := t.Hour()
	return r.workDays[t.Weekday()] && r.WorkStart <= h && h < r.WorkEnd
}

// dayOf returns t's calendar day in the rules' zone as yyyymmdd.
func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}
