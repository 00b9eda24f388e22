package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

// openDataAt opens the data database at path (openData opens a fresh one).
func openDataAt(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), path, "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var alertT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func alertIDs(as []audit.Alert) []int64 {
	ids := []int64{}
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestAlertStore(t *testing.T) {
	ctx := context.Background()
	s := store.NewAlerts(openData(t))
	in := []audit.Alert{
		{Time: alertT0, Actor: "op_1", Rule: audit.RuleBulkRead, Severity: audit.SeverityHigh, Message: "op_1 read 600 subjects", Entries: []int64{4}},
		{Time: alertT0.Add(time.Minute), Actor: "apikey:k1", Rule: audit.RuleOddHours, Severity: audit.SeverityMedium, Message: "at 03h", Entries: []int64{5, 9}},
		{Time: alertT0.Add(time.Hour), Actor: "op_1", Rule: audit.RuleRefusals, Severity: audit.SeverityMedium, Message: "refused"},
	}
	if err := s.CreateAlerts(ctx, in); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{1, 2, 3}, alertIDs(in)); diff != "" {
		t.Fatalf("ids (-want +got):\n%s", diff)
	}
	got, err := s.FindAlertByID(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in[1], got); diff != "" {
		t.Errorf("alert 2 (-created +found):\n%s", diff)
	}
	if got, _ := s.FindAlertByID(ctx, 3); got.Entries == nil || len(got.Entries) != 0 {
		t.Errorf("alert 3 entries %#v, want empty", got.Entries)
	}

	ackAt := alertT0.Add(2 * time.Hour)
	if err := s.AckAlert(ctx, 2, "op_dpo", "Night batch, agreed with the team <b>lead</b>.", ackAt); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		id   int64
		code string
	}{{"twice", 2, garde.EConflict}, {"no such alert", 99, garde.ENotFound}} {
		t.Run("ack "+c.name, func(t *testing.T) {
			if err := s.AckAlert(ctx, c.id, "op_x", "x", ackAt); garde.ErrorCode(err) != c.code {
				t.Errorf("got %v, want %s", err, c.code)
			}
		})
	}
	if _, err := s.FindAlertByID(ctx, 99); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("FindAlertByID(99): got %v, want %s", err, garde.ENotFound)
	}
	acked, _ := s.FindAlertByID(ctx, 2)
	want := in[1]
	want.Acknowledged, want.AckBy, want.AckComment, want.AckAt = true, "op_dpo", "Night batch, agreed with the team <b>lead</b>.", ackAt
	if diff := cmp.Diff(want, acked); diff != "" {
		t.Errorf("acknowledged (-want +got):\n%s", diff)
	}

	open, closed := true, false
	for _, c := range []struct {
		name string
		f    audit.AlertFilter
		want []int64
	}{
		{"all, newest first", audit.AlertFilter{}, []int64{3, 2, 1}},
		{"open", audit.AlertFilter{Open: &open}, []int64{3, 1}},
		{"acknowledged", audit.AlertFilter{Open: &closed}, []int64{2}},
		{"actor", audit.AlertFilter{Actor: "op_1"}, []int64{3, 1}},
		{"open actor limit", audit.AlertFilter{Open: &open, Actor: "op_1", Limit: 1}, []int64{3}},
		{"injection in actor", audit.AlertFilter{Actor: "op_1' OR '1'='1"}, []int64{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.FindAlerts(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, alertIDs(got)); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAlertBaselines(t *testing.T) {
	ctx := context.Background()
	s := store.NewAlerts(openData(t))
	st, err := s.LoadBaselines(ctx)
	if err != nil || st.LastSeq != 0 || len(st.Baselines) != 0 {
		t.Fatalf("fresh state %+v, %v", st, err)
	}
	b1 := audit.Baseline{Actor: "op_1", Purpose: "email_marketing", Mean: 101.25, Var: 33.5, Days: 7,
		FirstDay: 20260302, LastDay: 20260311, Today: 40, AlertedDay: 20260310}
	b2 := audit.Baseline{Actor: "op_1", Purpose: audit.BaselineAll, Mean: 150, Var: 12, Days: 7,
		FirstDay: 20260302, LastDay: 20260311, Today: 40}
	raised := []audit.Alert{{Time: alertT0, Actor: "op_1", Rule: audit.RuleVolume, Severity: audit.SeverityHigh, Message: "m", Entries: []int64{5}}}
	if err := s.SaveBaselines(ctx, audit.DetectorState{LastSeq: 5, Baselines: []audit.Baseline{b1, b2}}, raised); err != nil {
		t.Fatal(err)
	}
	if raised[0].ID != 1 {
		t.Errorf("raised alert id %d, want 1", raised[0].ID)
	}
	b1.Today, b1.Days = 90, 8
	if err := s.SaveBaselines(ctx, audit.DetectorState{LastSeq: 9, Baselines: []audit.Baseline{b1}}, nil); err != nil {
		t.Fatal(err)
	}
	st, err = s.LoadBaselines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := audit.DetectorState{LastSeq: 9, Baselines: []audit.Baseline{b2, b1}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	if as, _ := s.FindAlerts(ctx, audit.AlertFilter{}); len(as) != 1 {
		t.Errorf("%d alerts stored, want 1", len(as))
	}
}

// TestDetectorOverSQLite runs the detector over a real audit log: it tails
// it, raises and stores alerts, an acknowledgement is audited in the same
// log, and after a restart the baselines are kept and nothing is raised
// twice.
func TestDetectorOverSQLite(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/garde.db"
	db := openDataAt(t, path)
	a, clock := store.NewAudit(db), gardetest.NewClock(time.Time{})
	log := &audit.Log{Signer: newAuditSigner(), Clock: clock}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	// day 2 of March 2026 is a Monday
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 3, day, hour, minute, 0, 0, paris) }
	appendAt := func(when time.Time, es ...audit.Entry) {
		t.Helper()
		clock.Set(when)
		for i := range es {
			es[i].Role, es[i].RequestID, es[i].Source = "marketer", "req-1", "198.51.100.7:5000"
			if es[i].Outcome == "" {
				es[i].Outcome = audit.OutcomeOK
			}
		}
		if err := a.Append(ctx, log, es...); err != nil {
			t.Fatal(err)
		}
	}
	read := func(actor, purpose string, n int) audit.Entry {
		return audit.Entry{Actor: actor, Action: audit.ActionSubjectRead, Purpose: purpose, Subjects: subjectsN(n),
			Categories: []string{"user.contact.email"}}
	}
	for _, day := range []int{2, 3, 4, 5, 6, 9, 10} { // seven active working days
		appendAt(at(day, 10, 0), read("op_1", "email_marketing", 100))
	}
	appendAt(at(3, 3, 0), read("op_2", "support_request", 1))
	for i := range 6 {
		appendAt(at(4, 10, i), audit.Entry{Actor: "op_3", Action: audit.ActionSubjectRead, Purpose: "analytics",
			Outcome: audit.OutcomeRefused, Detail: map[string]string{"rule": "training expired"}})
	}
	export := read("op_1", "analytics", 1001)
	export.Action = audit.ActionExport
	appendAt(at(5, 11, 0), export)

	alerts := store.NewAlerts(db)
	d := &audit.Detector{Store: alerts, Clock: garde.ClockFunc(func() time.Time { return alertT0 })}
	if n, err := d.Poll(ctx, a); err != nil || n != 15 {
		t.Fatalf("Poll = %d, %v; want 15 entries", n, err)
	}
	type fired struct {
		Rule, Actor string
		Entries     []int64
	}
	summary := func(as []audit.Alert) []fired {
		out := []fired{}
		for _, a := range as {
			out = append(out, fired{a.Rule, a.Actor, a.Entries})
		}
		return out
	}
	all, err := alerts.FindAlerts(ctx, audit.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []fired{
		{audit.RuleLargeExport, "op_1", []int64{15}},
		{audit.RuleRefusals, "op_3", []int64{9, 10, 11, 12, 13, 14}},
		{audit.RuleOddHours, "op_2", []int64{8}},
	}
	if diff := cmp.Diff(want, summary(all)); diff != "" {
		t.Fatalf("alerts (-want +got):\n%s", diff)
	}

	// Acknowledge the odd-hours alert; the ack is itself audited.
	appendAudit := func(ctx context.Context, e audit.Entry) error {
		clock.Set(at(11, 9, 0))
		e.Role, e.RequestID, e.Source = "dpo", "req-ack", "198.51.100.9:5000"
		return a.Append(ctx, log, e)
	}
	oddID := all[2].ID
	if err := d.Acknowledge(ctx, oddID, "op_dpo", "Night support call, ticket 4411.", appendAudit); err != nil {
		t.Fatal(err)
	}
	if err := d.Acknowledge(ctx, oddID, "op_dpo", "again", appendAudit); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("second ack: got %v, want %s", err, garde.EConflict)
	}
	acked, err := alerts.FindAlertByID(ctx, oddID)
	if err != nil {
		t.Fatal(err)
	}
	if !acked.Acknowledged || acked.AckBy != "op_dpo" || acked.AckComment != "Night support call, ticket 4411." || !acked.AckAt.Equal(alertT0) {
		t.Errorf("acknowledged alert %+v", acked)
	}
	acks := findAudit(t, a, audit.Filter{Action: audit.ActionAlertAck})
	if len(acks) != 1 || acks[0].Actor != "op_dpo" || acks[0].Detail["alert"] != "1" || acks[0].Detail["rule"] != audit.RuleOddHours {
		t.Fatalf("ack entries %+v", acks)
	}
	if r, err := audit.Verify(ctx, a, newAuditSigner()); err != nil || !r.OK || r.Entries != 16 {
		t.Errorf("verify after ack: %+v, %v", r, err)
	}
	if n, err := d.Poll(ctx, a); err != nil || n != 1 {
		t.Fatalf("Poll of the ack = %d, %v; want 1 entry", n, err)
	}

	// Restart: a new database handle and detector.
	db.Close()
	db = openDataAt(t, path)
	a, alerts = store.NewAudit(db), store.NewAlerts(db)
	d = &audit.Detector{Store: alerts, Clock: garde.ClockFunc(func() time.Time { return alertT0.Add(24 * time.Hour) })}
	if n, err := d.Poll(ctx, a); err != nil || n != 0 {
		t.Fatalf("Poll after restart = %d, %v; want 0", n, err)
	}
	// The week of history survived: a new purpose and a day of twice the
	// usual volume stand out.
	appendAt(at(11, 10, 0), read("op_1", "fraud_prevention", 5))
	appendAt(at(11, 10, 5), read("op_1", "email_marketing", 100))
	appendAt(at(11, 14, 0), read("op_1", "email_marketing", 100))
	if n, err := d.Poll(ctx, a); err != nil || n != 3 {
		t.Fatalf("Poll = %d, %v; want 3", n, err)
	}
	open := true
	opened, err := alerts.FindAlerts(ctx, audit.AlertFilter{Open: &open})
	if err != nil {
		t.Fatal(err)
	}
	want = append([]fired{
		{audit.RuleVolume, "op_1", []int64{18, 19}},
		{audit.RuleNewPurpose, "op_1", []int64{17}},
	}, want[:2]...)
	if diff := cmp.Diff(want, summary(opened)); diff != "" {
		t.Errorf("open alerts after restart (-want +got):\n%s", diff)
	}
}
