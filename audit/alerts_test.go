package audit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// memAlerts is an in-memory audit.AlertStore.
type memAlerts struct {
	mu        sync.Mutex
	alerts    []audit.Alert
	lastSeq   int64
	baselines map[[2]string]audit.Baseline
	failSaves int // the next failSaves SaveBaselines calls fail
}

func (m *memAlerts) CreateAlerts(_ context.Context, as []audit.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.create(as)
	return nil
}

func (m *memAlerts) create(as []audit.Alert) {
	for i := range as {
		as[i].ID = int64(len(m.alerts) + 1)
		a := as[i]
		a.Entries = slices.Clone(a.Entries)
		m.alerts = append(m.alerts, a)
	}
}

func (m *memAlerts) FindAlerts(_ context.Context, f audit.AlertFilter) ([]audit.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []audit.Alert
	for _, a := range slices.Backward(m.alerts) {
		if f.Open != nil && *f.Open == a.Acknowledged || f.Actor != "" && a.Actor != f.Actor {
			continue
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		out = append(out, a)
	}
	return out, nil
}

func (m *memAlerts) FindAlertByID(_ context.Context, id int64) (audit.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || id > int64(len(m.alerts)) {
		return audit.Alert{}, garde.Errorf(garde.ENotFound, "no alert %d", id)
	}
	return m.alerts[id-1], nil
}

func (m *memAlerts) AckAlert(_ context.Context, id int64, by, comment string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || id > int64(len(m.alerts)) {
		return garde.Errorf(garde.ENotFound, "no alert %d", id)
	}
	a := &m.alerts[id-1]
	if a.Acknowledged {
		return garde.Errorf(garde.EConflict, "alert %d is already acknowledged", id)
	}
	a.Acknowledged, a.AckBy, a.AckComment, a.AckAt = true, by, comment, at
	return nil
}

func (m *memAlerts) LoadBaselines(context.Context) (audit.DetectorState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := audit.DetectorState{LastSeq: m.lastSeq}
	for _, b := range m.baselines {
		s.Baselines = append(s.Baselines, b)
	}
	return s, nil
}

func (m *memAlerts) SaveBaselines(_ context.Context, s audit.DetectorState, raised []audit.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSaves > 0 {
		m.failSaves--
		return errors.New("disk full")
	}
	m.lastSeq = s.LastSeq
	if m.baselines == nil {
		m.baselines = map[[2]string]audit.Baseline{}
	}
	for _, b := range s.Baselines {
		m.baselines[[2]string{b.Actor, b.Purpose}] = b
	}
	m.create(raised)
	return nil
}

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is 2026-03-day hh:mm in Paris (UTC+1 in March before the 29th): day 2
// is a Monday, 7 a Saturday.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 3, day, hour, minute, 0, 0, paris).UTC()
}

var alertNow = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

func newDetector(s audit.AlertStore) *audit.Detector {
	if s == nil {
		s = &memAlerts{}
	}
	return &audit.Detector{Store: s, Clock: garde.ClockFunc(func() time.Time { return alertNow })}
}

// stream builds entries with consecutive seqs.
type stream struct {
	seq int64
	es  []audit.Entry
}

func (s *stream) add(e audit.Entry) *stream {
	s.seq++
	e.Seq = s.seq
	if e.Outcome == "" {
		e.Outcome = audit.OutcomeOK
	}
	if e.Role == "" {
		e.Role = "marketer"
	}
	s.es = append(s.es, e)
	return s
}

// read: actor read n subjects for purpose at t (a count only, as for bulk).
func (s *stream) read(actor, purpose string, n int, t time.Time) *stream {
	return s.add(audit.Entry{Actor: actor, Action: audit.ActionSubjectRead, Purpose: purpose, SubjectCount: n, Time: t})
}

func (s *stream) export(actor string, n int, t time.Time) *stream {
	return s.add(audit.Entry{Actor: actor, Action: audit.ActionExport, Purpose: "analytics", SubjectCount: n, Time: t})
}

func (s *stream) refused(actor string, t time.Time) *stream {
	return s.add(audit.Entry{Actor: actor, Action: audit.ActionSubjectRead, Purpose: "email_marketing",
		Outcome: audit.OutcomeRefused, Time: t, Detail: map[string]string{"rule": "no consent"}})
}

// history: a normal working week and more — 10:00 reads of 90 to 110
// subjects on the given days.
func (s *stream) history(actor, purpose string, days ...int) *stream {
	for i, d := range days {
		s.read(actor, purpose, 90+(i*7)%21, at(d, 10, 0))
	}
	return s
}

// week is seven active working days: Monday 2 to Tuesday 10 March.
var week = []int{2, 3, 4, 5, 6, 9, 10}

type fired struct {
	Rule    string
	Actor   string
	Entries []int64
}

func summary(as []audit.Alert) []fired {
	out := []fired{}
	for _, a := range as {
		out = append(out, fired{a.Rule, a.Actor, a.Entries})
	}
	return out
}

func TestDetectorRules(t *testing.T) {
	type want = []fired
	tests := []struct {
		name   string
		stream func(s *stream)
		rules  audit.Rules
		want   want
	}{
		{"normal read", func(s *stream) { s.read("op_1", "email_marketing", 40, at(2, 10, 0)) }, audit.Rules{}, want{}},
		{"bulk read above threshold", func(s *stream) { s.read("op_1", "email_marketing", 501, at(2, 10, 0)) }, audit.Rules{},
			want{{audit.RuleBulkRead, "op_1", []int64{1}}}},
		{"bulk read at threshold", func(s *stream) { s.read("op_1", "email_marketing", 500, at(2, 10, 0)) }, audit.Rules{}, want{}},
		{"bulk read listed subjects", func(s *stream) {
			s.add(audit.Entry{Actor: "op_1", Action: audit.ActionSubjectRead, Purpose: "support_request",
				Subjects: subjectIDs(60), Time: at(2, 10, 0)})
		}, audit.Rules{BulkSubjects: 50}, want{{audit.RuleBulkRead, "op_1", []int64{1}}}},
		{"3 a.m. read in Paris", func(s *stream) { s.read("op_1", "email_marketing", 3, at(3, 3, 0)) }, audit.Rules{},
			want{{audit.RuleOddHours, "op_1", []int64{1}}}},
		{"10 a.m. read in Paris", func(s *stream) { s.read("op_1", "email_marketing", 3, at(3, 10, 0)) }, audit.Rules{}, want{}},
		{"08:30 in Paris is 07:30 UTC", func(s *stream) { s.read("op_1", "email_marketing", 3, at(3, 8, 30)) }, audit.Rules{}, want{}},
		{"19:00 in Paris is 18:00 UTC", func(s *stream) { s.read("op_1", "email_marketing", 3, at(3, 19, 0)) }, audit.Rules{},
			want{{audit.RuleOddHours, "op_1", []int64{1}}}},
		{"saturday 10 a.m.", func(s *stream) { s.read("op_1", "email_marketing", 3, at(7, 10, 0)) }, audit.Rules{},
			want{{audit.RuleOddHours, "op_1", []int64{1}}}},
		{"saturday is a working day", func(s *stream) { s.read("op_1", "email_marketing", 3, at(7, 10, 0)) },
			audit.Rules{WorkDays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}},
			want{}},
		{"custom zone and hours", func(s *stream) { s.read("op_1", "email_marketing", 3, at(3, 10, 0)) },
			audit.Rules{Location: time.UTC, WorkStart: 10, WorkEnd: 18}, want{{audit.RuleOddHours, "op_1", []int64{1}}}},
		{"night session: one alert, then the next after the cooldown", func(s *stream) {
			s.read("op_1", "email_marketing", 3, at(3, 2, 0)).read("op_1", "email_marketing", 3, at(3, 2, 20)).
				read("op_2", "email_marketing", 3, at(3, 2, 30)).read("op_1", "email_marketing", 3, at(3, 2, 50)).
				read("op_1", "email_marketing", 3, at(3, 3, 5))
		}, audit.Rules{}, want{
			{audit.RuleOddHours, "op_1", []int64{1, 2, 4}},
			{audit.RuleOddHours, "op_2", []int64{3}},
			{audit.RuleOddHours, "op_1", []int64{5}},
		}},
		{"system and sources are not watched", func(s *stream) {
			s.read(audit.ActorSystem, "retention", 5000, at(3, 3, 0))
			s.add(audit.Entry{Actor: "source:web", Action: audit.ActionEventsWrite, Time: at(7, 3, 0)})
			for i := range 10 {
				s.refused("source:web", at(3, 10, i))
			}
		}, audit.Rules{}, want{}},
		{"administrative acts at night are not reads", func(s *stream) {
			s.add(audit.Entry{Actor: "op_1", Action: audit.ActionRoleUpdate, Time: at(3, 3, 0)})
		}, audit.Rules{}, want{}},
		{"new purpose after a week", func(s *stream) {
			s.history("op_1", "email_marketing", week...).read("op_1", "analytics", 10, at(11, 10, 0))
		}, audit.Rules{}, want{{audit.RuleNewPurpose, "op_1", []int64{8}}}},
		{"new purpose before MinHistory", func(s *stream) {
			s.history("op_1", "email_marketing", 2, 3, 4).read("op_1", "analytics", 10, at(5, 10, 0))
		}, audit.Rules{}, want{}},
		{"new purpose the same day as the seventh", func(s *stream) {
			s.history("op_1", "email_marketing", week...).read("op_1", "analytics", 10, at(10, 11, 0))
		}, audit.Rules{}, want{}},
		{"first-ever read of a brand-new actor", func(s *stream) {
			s.history("op_1", "email_marketing", week...).read("op_2", "analytics", 10, at(11, 10, 0))
		}, audit.Rules{}, want{}},
		{"known purpose after a week", func(s *stream) {
			s.history("op_1", "email_marketing", week...).read("op_1", "email_marketing", 100, at(11, 10, 0))
		}, audit.Rules{}, want{}},
		{"export above threshold", func(s *stream) { s.export("op_1", 1001, at(2, 10, 0)) }, audit.Rules{},
			want{{audit.RuleLargeExport, "op_1", []int64{1}}}},
		{"export at threshold", func(s *stream) { s.export("op_1", 1000, at(2, 10, 0)) }, audit.Rules{}, want{}},
		{"export of 600 is no bulk read", func(s *stream) { s.export("op_1", 600, at(2, 10, 0)) }, audit.Rules{}, want{}},
		{"refusals burst", func(s *stream) {
			for i := range 7 {
				s.refused("op_1", at(3, 10, i*8))
			}
		}, audit.Rules{}, want{{audit.RuleRefusals, "op_1", []int64{1, 2, 3, 4, 5, 6}}}},
		{"five refusals in an hour", func(s *stream) {
			for i := range 5 {
				s.refused("op_1", at(3, 10, i*10))
			}
		}, audit.Rules{}, want{}},
		{"refusals spread over hours", func(s *stream) {
			for i := range 12 {
				s.refused("op_1", at(3, 9+i*15/60, i*15%60))
			}
		}, audit.Rules{}, want{}},
		{"refusals of two actors", func(s *stream) {
			for i := range 6 {
				s.refused(fmt.Sprintf("op_%d", i%2), at(3, 10, i))
			}
		}, audit.Rules{}, want{}},
		{"volume deviation after a week", func(s *stream) {
			s.history("op_1", "email_marketing", week...)
			for h := range 10 {
				s.read("op_1", "email_marketing", 100, at(11, 9+h/2, h%2*30))
			}
		}, audit.Rules{}, want{{audit.RuleVolume, "op_1", []int64{8, 9}}}},
		{"a normal day after a week", func(s *stream) {
			s.history("op_1", "email_marketing", week...)
			s.read("op_1", "email_marketing", 60, at(11, 9, 0)).read("op_1", "email_marketing", 50, at(11, 15, 0))
		}, audit.Rules{}, want{}},
		{"volume spike before MinHistory", func(s *stream) {
			s.history("op_1", "email_marketing", 2, 3, 4)
			for h := range 10 {
				s.read("op_1", "email_marketing", 100, at(5, 9+h/2, h%2*30))
			}
		}, audit.Rules{}, want{}},
		{"volume of another purpose is its own", func(s *stream) {
			s.history("op_1", "email_marketing", week...).history("op_1", "analytics", week...)
			s.read("op_1", "analytics", 100, at(11, 10, 0)).read("op_1", "email_marketing", 100, at(11, 10, 0))
		}, audit.Rules{}, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stream{}
			tt.stream(s)
			d := newDetector(nil)
			d.Rules = tt.rules
			got, err := d.Observe(context.Background(), s.es...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(got)); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
			// Fed one by one, the stream raises the same alerts, except
			// that odd-hours reads are linked only within one call.
			d1 := newDetector(nil)
			d1.Rules = tt.rules
			var one []audit.Alert
			for _, e := range s.es {
				as, err := d1.Observe(context.Background(), e)
				if err != nil {
					t.Fatal(err)
				}
				one = append(one, as...)
			}
			rules := func(as []audit.Alert) (r []string) {
				for _, a := range as {
					r = append(r, a.Rule+" "+a.Actor)
				}
				return r
			}
			if diff := cmp.Diff(rules(got), rules(one)); diff != "" {
				t.Errorf("one by one (-batch +one):\n%s", diff)
			}
		})
	}
}

func TestDetectorVolumeFiresOncePerDay(t *testing.T) {
	s := (&stream{}).history("op_1", "email_marketing", week...)
	for h := range 10 {
		s.read("op_1", "email_marketing", 100, at(11, 9+h/2, h%2*30))
	}
	for h := range 10 {
		s.read("op_1", "email_marketing", 100, at(12, 9+h/2, h%2*30))
	}
	got, err := newDetector(nil).Observe(context.Background(), s.es...)
	if err != nil {
		t.Fatal(err)
	}
	// The first spike is folded into the baseline as its threshold only,
	// so the second, the next day, still stands out.
	want := []fired{{audit.RuleVolume, "op_1", []int64{8, 9}}, {audit.RuleVolume, "op_1", []int64{18, 19}}}
	if diff := cmp.Diff(want, summary(got)); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if got := got[0].Message; !strings.Contains(got, "op_1 read 200 subjects for purpose email_marketing today") {
		t.Errorf("message %q", got)
	}
}

func TestDetectorAlertFields(t *testing.T) {
	ids := subjectIDs(3)
	s := (&stream{}).add(audit.Entry{Actor: "apikey:k1", Action: audit.ActionSubjectRead, Purpose: "support_request",
		Subjects: ids, Time: at(3, 3, 0)})
	got, err := newDetector(nil).Observe(context.Background(), s.es...)
	if err != nil {
		t.Fatal(err)
	}
	want := []audit.Alert{{
		ID: 1, Time: alertNow, Actor: "apikey:k1", Rule: audit.RuleOddHours, Severity: audit.SeverityMedium,
		Message: "apikey:k1 read subjects for purpose support_request on Tuesday at 03h (Europe/Paris), outside working hours 08h-19h on working days",
		Entries: []int64{1},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

// No alert message names a subject: they hold actor ids, counts, purposes
// and hours only.
func TestDetectorMessagesHoldNoSubjects(t *testing.T) {
	ids := subjectIDs(audit.MaxListed)
	s := &stream{}
	for d := range 9 {
		s.add(audit.Entry{Actor: "op_1", Action: audit.ActionSubjectRead, Purpose: "p1", Subjects: ids[:10], Time: at(2+d, 10, 0)})
	}
	s.add(audit.Entry{Actor: "op_1", Action: audit.ActionSubjectRead, Purpose: "p2", Subjects: ids, Time: at(11, 3, 0)})
	s.add(audit.Entry{Actor: "op_1", Action: audit.ActionExport, Purpose: "p1", Subjects: ids, Time: at(11, 3, 0)})
	for i := range 6 {
		s.add(audit.Entry{Actor: "op_1", Action: audit.ActionSubjectRead, Purpose: "p1", Subjects: ids[i : i+1],
			Outcome: audit.OutcomeRefused, Time: at(11, 4, i)})
	}
	d := newDetector(nil)
	d.Rules = audit.Rules{BulkSubjects: 50, ExportSubjects: 50}
	got, err := d.Observe(context.Background(), s.es...)
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, a := range got {
		rules[a.Rule] = true
		for _, id := range ids {
			if strings.Contains(a.Message, string(id)) {
				t.Errorf("%s message names a subject: %q", a.Rule, a.Message)
			}
		}
	}
	for _, r := range []string{audit.RuleBulkRead, audit.RuleLargeExport, audit.RuleOddHours, audit.RuleNewPurpose,
		audit.RuleRefusals, audit.RuleVolume} {
		if !rules[r] {
			t.Errorf("rule %s did not fire", r)
		}
	}
}

func TestDetectorRestartKeepsBaselines(t *testing.T) {
	ctx := context.Background()
	store := &memAlerts{}
	s := (&stream{}).history("op_1", "email_marketing", week...).read("op_1", "email_marketing", 501, at(10, 11, 0))
	first, err := newDetector(store).Observe(ctx, s.es...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fired{{audit.RuleBulkRead, "op_1", []int64{8}}}, summary(first)); diff != "" {
		t.Errorf("before restart (-want +got):\n%s", diff)
	}

	// A new detector over the same store: the old entries are not
	// observed again; the history is remembered.
	d := newDetector(store)
	if got, err := d.Observe(ctx, s.es...); err != nil || len(got) != 0 {
		t.Fatalf("entries observed twice: %v, %v", got, err)
	}
	s.read("op_1", "analytics", 10, at(11, 10, 0))
	got, err := d.Observe(ctx, s.es...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fired{{audit.RuleNewPurpose, "op_1", []int64{9}}}, summary(got)); diff != "" {
		t.Errorf("after restart (-want +got):\n%s", diff)
	}
	if n := len(store.alerts); n != 2 {
		t.Errorf("stored %d alerts, want 2", n)
	}
	if seq, err := d.LastSeq(ctx); err != nil || seq != 9 {
		t.Errorf("LastSeq = %d, %v; want 9", seq, err)
	}
}

func TestDetectorFailedSave(t *testing.T) {
	ctx := context.Background()
	store := &memAlerts{failSaves: 1}
	d := newDetector(store)
	s := (&stream{}).read("op_1", "email_marketing", 600, at(2, 10, 0))
	if _, err := d.Observe(ctx, s.es...); err == nil {
		t.Fatal("Observe stored nothing but succeeded")
	}
	got, err := d.Observe(ctx, s.es...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fired{{audit.RuleBulkRead, "op_1", []int64{1}}}, summary(got)); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if got, _ := d.Observe(ctx, s.es...); len(got) != 0 {
		t.Errorf("alert raised twice: %v", got)
	}
}

func TestDetectorBadRules(t *testing.T) {
	d := newDetector(nil)
	d.Rules = audit.Rules{WorkStart: 20, WorkEnd: 8}
	if _, err := d.Observe(context.Background()); err == nil {
		t.Error("working hours 20-8 accepted")
	}
}
