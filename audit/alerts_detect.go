package audit

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
)

// Detector raises insider-threat alerts from audit entries (see Rules and
// the rules above). Its state is loaded from Store on first use; Rules are
// read then too, and later changes to them are ignored. One Detector may
// serve every goroutine; Observe calls are serialised.
type Detector struct {
	Rules
	Store AlertStore
	// Webhook, if set, receives every alert raised, after it is stored.
	Webhook *Webhook
	// Clock dates alerts and acknowledgements (rules use the entries'
	// times); nil: the system clock.
	Clock garde.Clock
	// Log reports Run's errors; nil: slog.Default().
	Log *slog.Logger

	mu sync.Mutex
	st *detectorState // nil until loaded, and after a failed save
}

type detectorState struct {
	rules   *rules
	lastSeq int64
	actors  map[string]*actorState
	batch   int // counts Observe calls, to link odd-hours reads to an alert of the same call
}

type actorState struct {
	all      *baseline // BaselineAll
	purposes map[string]*baseline
	refusals []refusal // within the last hour
	oddUntil time.Time // odd_hours cooldown
	oddBatch int       // the batch of oddAlert
	oddAlert int       // index of the batch's odd_hours alert
}

type baseline struct {
	Baseline
	seqs  []int64 // today's, at most MaxLinked (memory only)
	dirty bool
}

type refusal struct {
	t   time.Time
	seq int64
}

func (d *Detector) now() time.Time {
	c := d.Clock
	if c == nil {
		c = garde.SystemClock{}
	}
	return c.Now().UTC().Truncate(time.Millisecond)
}

// state returns the detector's state, loading it if need be. d.mu is held.
func (d *Detector) state(ctx context.Context) (*detectorState, error) {
	if d.st != nil {
		return d.st, nil
	}
	rs, err := d.Rules.resolve()
	if err != nil {
		return nil, err
	}
	saved, err := d.Store.LoadBaselines(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: load baselines: %w", err)
	}
	st := &detectorState{rules: rs, lastSeq: saved.LastSeq, actors: map[string]*actorState{}}
	for _, b := range saved.Baselines {
		a := st.actor(b.Actor)
		nb := &baseline{Baseline: b}
		if b.Purpose == BaselineAll {
			a.all = nb
		} else {
			a.purposes[b.Purpose] = nb
		}
	}
	d.st = st
	return st, nil
}

func (st *detectorState) actor(id string) *actorState {
	a := st.actors[id]
	if a == nil {
		a = &actorState{purposes: map[string]*baseline{}}
		st.actors[id] = a
	}
	return a
}

// LastSeq returns the seq of the last entry observed (Run reads on from
// there).
func (d *Detector) LastSeq(ctx context.Context) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, err := d.state(ctx)
	if err != nil {
		return 0, err
	}
	return st.lastSeq, nil
}

// Observe applies the rules to entries, in seq order, and returns the
// alerts they raise, stored (IDs set) together with the updated baselines,
// then handed to the Webhook. Entries at or before the last seq observed
// are skipped (entries without a seq, 0, never are), so that feeding an
// entry twice raises nothing twice. If storing fails, Observe returns the
// error, raises nothing and forgets its state: the next call reloads it
// from the store, and the entries can be observed again.
func (d *Detector) Observe(ctx context.Context, entries ...Entry) ([]Alert, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, err := d.state(ctx)
	if err != nil {
		return nil, err
	}
	st.batch++
	now := d.now()
	o := observation{st: st, r: st.rules, now: now}
	moved := false
	for i := range entries {
		e := &entries[i]
		if e.Seq != 0 && e.Seq <= st.lastSeq {
			continue
		}
		if e.Seq > st.lastSeq {
			st.lastSeq, moved = e.Seq, true
		}
		o.entry(e)
	}
	if !moved && len(o.alerts) == 0 && len(o.dirty) == 0 {
		return nil, nil
	}
	save := DetectorState{LastSeq: st.lastSeq, Baselines: make([]Baseline, 0, len(o.dirty))}
	slices.SortFunc(o.dirty, func(a, b *baseline) int {
		return cmp.Or(strings.Compare(a.Actor, b.Actor), strings.Compare(a.Purpose, b.Purpose))
	})
	for _, b := range o.dirty {
		save.Baselines = append(save.Baselines, b.Baseline)
	}
	if err := d.Store.SaveBaselines(ctx, save, o.alerts); err != nil {
		d.st = nil
		return nil, fmt.Errorf("audit: save alerts and baselines: %w", err)
	}
	for _, b := range o.dirty {
		b.dirty = false
	}
	if d.Webhook != nil {
		for _, a := range o.alerts {
			d.Webhook.Send(a)
		}
	}
	return o.alerts, nil
}

// observation is one Observe call's work.
type observation struct {
	st     *detectorState
	r      *rules
	now    time.Time
	alerts []Alert
	dirty  []*baseline
}

// watched reports whether an actor's acts are subject to the rules.
func watched(actor string) bool {
	return actor != ActorSystem && !strings.HasPrefix(actor, "source:")
}

// isRead reports whether e is a read of personal data.
func isRead(e *Entry) bool {
	return e.Action == ActionExport || strings.HasSuffix(e.Action, ".read")
}

// count is the number of subjects e is about.
func count(e *Entry) int64 {
	return int64(max(e.SubjectCount, len(e.Subjects)))
}

func (o *observation) entry(e *Entry) {
	if !watched(e.Actor) {
		return
	}
	a := o.st.actor(e.Actor)
	if e.Outcome == OutcomeRefused {
		o.refused(a, e)
		return
	}
	if !isRead(e) {
		return
	}
	n := count(e)
	local := e.Time.In(o.r.Location)
	day := dayOf(local)
	purpose := e.Purpose
	if purpose == "" {
		purpose = "none"
	}

	if e.Action == ActionExport {
		if n > int64(o.r.ExportSubjects) {
			o.raise(e.Actor, RuleLargeExport, SeverityHigh, []int64{e.Seq},
				"%s exported %d subjects for purpose %s (threshold %d)", e.Actor, n, purpose, o.r.ExportSubjects)
		}
	} else if n > int64(o.r.BulkSubjects) {
		o.raise(e.Actor, RuleBulkRead, SeverityHigh, []int64{e.Seq},
			"%s read %d subjects in one request for purpose %s (threshold %d)", e.Actor, n, purpose, o.r.BulkSubjects)
	}

	if !o.r.working(local) {
		o.oddHours(a, e, local, purpose)
	}

	if a.all == nil {
		a.all = &baseline{Baseline: Baseline{Actor: e.Actor, Purpose: BaselineAll}}
	}
	o.add(a.all, day, n, 0)
	b := a.purposes[purpose]
	if b == nil {
		if a.all.Days >= o.r.MinHistory {
			o.raise(e.Actor, RuleNewPurpose, SeverityMedium, []int64{e.Seq},
				"%s read subjects for purpose %s, which it never used in %d active days", e.Actor, purpose, a.all.Days)
		}
		b = &baseline{Baseline: Baseline{Actor: e.Actor, Purpose: purpose}}
		a.purposes[purpose] = b
	}
	o.add(b, day, n, e.Seq)

	if b.Days >= o.r.MinHistory && b.AlertedDay != day {
		limit, sd := b.limit(o.r.Sigmas)
		if float64(b.Today) > limit {
			b.AlertedDay = day
			o.raise(e.Actor, RuleVolume, SeverityHigh, slices.Clone(b.seqs),
				"%s read %d subjects for purpose %s today, against a usual %.0f ± %.0f a day (threshold %.0f)",
				e.Actor, b.Today, purpose, b.Mean, sd, math.Floor(limit))
		}
	}
}

// add counts n subjects read on day in b, first folding the day b was
// counting into its mean and variance if day is a later one.
func (o *observation) add(b *baseline, day int, n int64, seq int64) {
	switch {
	case b.LastDay == 0:
		b.FirstDay, b.LastDay = day, day
	case day > b.LastDay:
		x := float64(b.Today)
		if b.AlertedDay == b.LastDay {
			// A day that raised an alert counts as its threshold, so
			// that one spike neither hides the next nor teaches the
			// baseline at once to accept it.
			x, _ = b.limit(o.r.Sigmas)
			x = min(x, float64(b.Today))
		}
		b.fold(x, o.r.EWMAAlpha)
		b.LastDay, b.Today, b.seqs = day, 0, b.seqs[:0]
	}
	b.Today += n
	if seq != 0 {
		if len(b.seqs) == MaxLinked {
			b.seqs = append(b.seqs[:0], b.seqs[1:]...)
		}
		b.seqs = append(b.seqs, seq)
	}
	if !b.dirty {
		b.dirty = true
		o.dirty = append(o.dirty, b)
	}
}

// limit returns the volume above which a day raises an alert, and the
// deviation it allows for.
func (b *baseline) limit(sigmas float64) (limit, sd float64) {
	sd = max(math.Sqrt(b.Var), math.Sqrt(b.Mean), 1)
	return b.Mean + sigmas*sd, sd
}

// fold adds one day's volume x to the weighted mean and variance: weight
// alpha, or 1/days while that is larger (a plain running mean and
// population variance for young baselines).
func (b *baseline) fold(x, alpha float64) {
	b.Days++
	w := max(alpha, 1/float64(b.Days))
	diff := x - b.Mean
	b.Mean += w * diff
	b.Var = (1 - w) * (b.Var + w*diff*diff)
}

func (o *observation) oddHours(a *actorState, e *Entry, local time.Time, purpose string) {
	if e.Time.Before(a.oddUntil) {
		if a.oddBatch == o.st.batch {
			al := &o.alerts[a.oddAlert]
			if len(al.Entries) < MaxLinked && e.Seq != 0 {
				al.Entries = append(al.Entries, e.Seq)
			}
		}
		return
	}
	a.oddUntil = e.Time.Add(o.r.Cooldown)
	a.oddBatch, a.oddAlert = o.st.batch, len(o.alerts)
	o.raise(e.Actor, RuleOddHours, SeverityMedium, []int64{e.Seq},
		"%s read subjects for purpose %s on %s at %02dh (%s), outside working hours %02dh-%02dh on working days",
		e.Actor, purpose, local.Weekday(), local.Hour(), o.r.Location, o.r.WorkStart, o.r.WorkEnd)
}

func (o *observation) refused(a *actorState, e *Entry) {
	from := e.Time.Add(-time.Hour)
	keep := a.refusals[:0]
	for _, r := range a.refusals {
		if r.t.After(from) {
			keep = append(keep, r)
		}
	}
	a.refusals = append(keep, refusal{t: e.Time, seq: e.Seq})
	if len(a.refusals) <= o.r.RefusalsPerHour {
		return
	}
	seqs := make([]int64, 0, len(a.refusals))
	for _, r := range a.refusals {
		if r.seq != 0 {
			seqs = append(seqs, r.seq)
		}
	}
	o.raise(e.Actor, RuleRefusals, SeverityMedium, seqs,
		"%s was refused %d times within an hour (threshold %d)", e.Actor, len(a.refusals), o.r.RefusalsPerHour)
	a.refusals = a.refusals[:0]
}

func (o *observation) raise(actor, rule, severity string, seqs []int64, format string, args ...any) {
	seqs = slices.DeleteFunc(seqs, func(s int64) bool { return s == 0 })
	if len(seqs) > MaxLinked {
		seqs = seqs[len(seqs)-MaxLinked:]
	}
	if seqs == nil {
		seqs = []int64{}
	}
	o.alerts = append(o.alerts, Alert{
		Time: o.now, Actor: actor, Rule: rule, Severity: severity,
		Message: fmt.Sprintf(format, args...), Entries: seqs,
	})
}
