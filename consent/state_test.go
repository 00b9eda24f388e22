package consent_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
)

var (
	t0     = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	sample = inventory.MustExample()
)

func rec(s garde.SubjectID, purpose string, d consent.Decision, at time.Time, opts ...func(*consent.Record)) *consent.Record {
	r := &consent.Record{Subject: s, Purpose: purpose, Decision: d, Time: at, Age: consent.Age{Status: "adult", Method: "account"}}
	if d == consent.Given {
		r.Expires = sample.ConsentExpiryOf(sample.Purpose(purpose)).AddTo(at)
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

func minor(r *consent.Record) {
	r.Age = consent.Age{Status: "minor", Years: 14, Method: "self_declared"}
}
func explicit(r *consent.Record) { r.Explicit = true }

// TestGate: the decision rules, one case per rule.
func TestGate(t *testing.T) {
	inv := inventory.MustExample()
	s := garde.SubjectID("s_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	for _, tc := range []struct {
		name    string
		records []*consent.Record
		at      time.Time
		read    bool // Allowed (reads) rather than Storable (collection)
		ask     []string
		want    []string
	}{
		{"nobody: only purposes not based on consent", nil, t0, true,
			[]string{"service", "analytics", "fraud_prevention"}, []string{"service", "fraud_prevention"}},
		{"consent given", []*consent.Record{rec(s, "analytics", consent.Given, t0)}, t0.Add(time.Hour), true,
			[]string{"analytics", "personalisation"}, []string{"analytics"}},
		{"consent refused", []*consent.Record{rec(s, "analytics", consent.Refused, t0)}, t0, true,
			[]string{"analytics"}, nil},
		{"consent withdrawn after being given", []*consent.Record{rec(s, "analytics", consent.Given, t0), rec(s, "analytics", consent.Withdrawn, t0.Add(time.Minute))}, t0.Add(time.Hour), true,
			[]string{"analytics"}, nil},
		{"given again after a withdrawal", []*consent.Record{rec(s, "analytics", consent.Withdrawn, t0), rec(s, "analytics", consent.Given, t0.Add(time.Minute))}, t0.Add(time.Hour), true,
			[]string{"analytics"}, []string{"analytics"}},
		{"consent valid the day before it expires (13 months)", []*consent.Record{rec(s, "analytics", consent.Given, t0)}, t0.AddDate(0, 13, -1), true,
			[]string{"analytics"}, []string{"analytics"}},
		{"consent expired after 13 months", []*consent.Record{rec(s, "analytics", consent.Given, t0)}, t0.AddDate(0, 13, 0), true,
			[]string{"analytics"}, nil},
		{"a purpose's own expiry (targeted ads: 6 months)", []*consent.Record{rec(s, "targeted_advertising", consent.Given, t0)}, t0.AddDate(0, 6, 0), true,
			[]string{"targeted_advertising"}, nil},
		{"objection stops legitimate interests", []*consent.Record{rec(s, "support_request", consent.Objected, t0)}, t0, true,
			[]string{"support_request", "fraud_prevention"}, []string{"fraud_prevention"}},
		{"objection to direct marketing is absolute, even with a consent", []*consent.Record{rec(s, "email_marketing", consent.Given, t0), rec(s, "email_marketing", consent.Objected, t0.Add(time.Second))}, t0.Add(time.Hour), true,
			[]string{"email_marketing"}, nil},
		{"GPC opt-out stops sale and sharing despite a consent", []*consent.Record{rec(s, "targeted_advertising", consent.Given, t0), rec(s, "targeted_advertising", consent.OptedOut, t0.Add(time.Second))}, t0.Add(time.Hour), true,
			[]string{"targeted_advertising"}, nil},
		{"special category needs explicit consent", []*consent.Record{rec(s, "health_wellness", consent.Given, t0)}, t0.Add(time.Hour), true,
			[]string{"health_wellness"}, nil},
		{"special category with explicit consent", []*consent.Record{rec(s, "health_wellness", consent.Given, t0, explicit)}, t0.Add(time.Hour), true,
			[]string{"health_wellness"}, []string{"health_wellness"}},
		{"no targeted advertising for a known minor", []*consent.Record{rec(s, "targeted_advertising", consent.Given, t0), rec(s, "analytics", consent.Given, t0, minor)}, t0.Add(time.Hour), true,
			[]string{"targeted_advertising", "analytics"}, []string{"analytics"}},
		{"restriction: nothing processed", []*consent.Record{rec(s, "analytics", consent.Given, t0), rec(s, consent.AllPurposes, consent.Restricted, t0)}, t0.Add(time.Hour), true,
			[]string{"analytics", "service"}, nil},
		{"restriction: still stored", []*consent.Record{rec(s, "analytics", consent.Given, t0), rec(s, consent.AllPurposes, consent.Restricted, t0)}, t0.Add(time.Hour), false,
			[]string{"analytics", "service"}, []string{"service", "analytics"}},
		{"restriction lifted", []*consent.Record{rec(s, consent.AllPurposes, consent.Restricted, t0), rec(s, consent.AllPurposes, consent.Lifted, t0.Add(time.Hour))}, t0.Add(2 * time.Hour), true,
			[]string{"service"}, []string{"service"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := consent.NewIndex(inv)
			for _, r := range tc.records {
				x.Apply(r)
			}
			ask, _ := inv.PurposeSetOf(tc.ask...)
			var got inventory.PurposeSet
			if tc.read {
				got = x.Allowed(s, ask, tc.at)
			} else {
				got = x.Storable(s, ask, tc.at)
			}
			if g, w := strings.Join(inv.PurposeKeys(got), ","), strings.Join(tc.want, ","); g != w {
				t.Fatalf("got %q, want %q", g, w)
			}
		})
	}
}

// TestMerged: consent given in the anonymous browser follows the person
// once the history is merged; the later decision wins.
func TestMerged(t *testing.T) {
	inv := inventory.MustExample()
	x := consent.NewIndex(inv)
	anon, known := garde.SubjectID("s_anonanonanonanonanonanonan"), garde.SubjectID("s_knownknownknownknownknownk")
	x.Apply(rec(anon, "analytics", consent.Given, t0.Add(time.Minute)))
	x.Apply(rec(known, "analytics", consent.Refused, t0))
	x.Apply(rec(anon, "personalisation", consent.Refused, t0))
	x.Apply(rec(known, "personalisation", consent.Given, t0.Add(time.Minute)))
	x.Merged(anon, known)
	all, _ := inv.PurposeSetOf("analytics", "personalisation")
	if got := inv.PurposeKeys(x.Allowed(known, all, t0.Add(time.Hour))); strings.Join(got, ",") != "analytics,personalisation" {
		t.Fatalf("got %v", got)
	}
}

// TestRefusalAskAgain: a refusal is kept 6 months before asking again.
func TestRefusalAskAgain(t *testing.T) {
	inv := inventory.MustExample()
	x := consent.NewIndex(inv)
	s := garde.SubjectID("s_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	x.Apply(rec(s, "analytics", consent.Refused, t0))
	for _, p := range x.State(s, t0).Purposes {
		if p.Purpose == "analytics" {
			if want := t0.AddDate(0, 6, 0); !p.AskAfter.Equal(want) || p.Allowed {
				t.Fatalf("got %+v, want ask after %v", p, want)
			}
			return
		}
	}
	t.Fatal("analytics missing from the state")
}

// BenchmarkCheck: the in-process consent check, one core.
func BenchmarkCheck(b *testing.B) {
	inv := sample
	x := consent.NewIndex(inv)
	subjects := make([]garde.SubjectID, 100_000)
	for i := range subjects {
		subjects[i] = garde.NewSubjectID()
		x.Apply(rec(subjects[i], "analytics", consent.Given, t0))
		x.Apply(rec(subjects[i], "email_marketing", consent.Refused, t0))
	}
	ask, _ := inv.PurposeSetOf("analytics", "email_marketing", "service")
	now := t0.Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if x.Allowed(subjects[i%len(subjects)], ask, now).Empty() {
			b.Fatal("nothing allowed")
		}
	}
}

// TestDue: only given consents past their expiry, without a later decision.
func TestDue(t *testing.T) {
	x := consent.NewIndex(sample)
	a, b := garde.SubjectID("s_aaaaaaaaaaaaaaaaaaaaaaaaaa"), garde.SubjectID("s_bbbbbbbbbbbbbbbbbbbbbbbbbb")
	x.Apply(rec(a, "analytics", consent.Given, t0))
	x.Apply(rec(a, "targeted_advertising", consent.Given, t0))
	x.Apply(rec(b, "analytics", consent.Given, t0))
	x.Apply(rec(b, "analytics", consent.Withdrawn, t0.Add(time.Hour)))
	got := consent.DueForTest(x, t0.AddDate(0, 7, 0))
	if len(got) != 1 || got[0].Subject != a || got[0].Purpose != "targeted_advertising" {
		t.Fatalf("due after 7 months: %+v", got)
	}
	if got := consent.DueForTest(x, t0.AddDate(0, 13, 0)); len(got) != 2 {
		t.Fatalf("due after 13 months: %+v", got)
	}
}

// TestStateJSON: the hand-written encoding reads back as the state, with
// zero times left out.
func TestStateJSON(t *testing.T) {
	x := consent.NewIndex(sample)
	s := garde.SubjectID("s_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	x.Apply(rec(s, "analytics", consent.Given, t0))
	x.Apply(rec(s, "personalisation", consent.Refused, t0))
	st := x.State(s, t0.Add(time.Hour))
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back consent.State
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if diff := cmp.Diff(st, back); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if strings.Contains(string(b), "0001-01-01") {
		t.Fatalf("zero time written: %s", b)
	}
}
