package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

func TestTraining(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o, _, err := f.auth.CreateOperator(ctx, "ana@example.com", "Ana", "analyst")
	if err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	status := func(now string) access.TrainingStatus {
		st, err := f.auth.TrainingStatus(ctx, o.ID, day(now))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status("2026-03-01"); st.Valid || st.Reason != "data-protection training missing" {
		t.Errorf("missing: got %+v", st)
	}
	f.auth.RecordTraining(ctx, access.Training{OperatorID: o.ID, Course: "phishing", CompletedAt: day("2026-01-01")})
	if st := status("2026-03-01"); st.Valid {
		t.Errorf("only another course: got %+v, want not valid", st)
	}
	if err := f.auth.RecordTraining(ctx, access.Training{OperatorID: o.ID, Course: "data_protection", CompletedAt: day("2025-06-01"), ValidUntil: day("2026-06-01")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now    string
		want   access.TrainingStatus
		reason string
	}{
		{"2026-03-01", access.TrainingStatus{Valid: true, Expires: day("2026-06-01")}, ""},
		{"2026-05-02", access.TrainingStatus{Valid: true, Expires: day("2026-06-01"), WarnSoon: true}, "data-protection training expires on 2026-06-01; renew it"},
		{"2026-06-01", access.TrainingStatus{Expires: day("2026-06-01")}, "data-protection training expired on 2026-06-01"},
		{"2027-01-01", access.TrainingStatus{Expires: day("2026-06-01")}, "data-protection training expired on 2026-06-01"},
		{"2025-05-01", access.TrainingStatus{}, "data-protection training missing"},
	}
	for _, tt := range tests {
		t.Run(tt.now, func(t *testing.T) {
			got := status(tt.now)
			tt.want.Reason = tt.reason
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	// A renewal counts; the default validity is a year.
	f.auth.RecordTraining(ctx, access.Training{OperatorID: o.ID, Course: "data_protection", CompletedAt: day("2026-06-15")})
	if st := status("2027-01-01"); !st.Valid || !st.Expires.Equal(day("2027-06-15")) {
		t.Errorf("after renewal: got %+v", st)
	}
	bad := []access.Training{
		{Course: "data_protection", CompletedAt: day("2026-01-01")},
		{OperatorID: o.ID, CompletedAt: day("2026-01-01")},
		{OperatorID: o.ID, Course: "data_protection"},
		{OperatorID: o.ID, Course: "data_protection", CompletedAt: day("2026-01-01"), ValidUntil: day("2025-01-01")},
	}
	for _, tr := range bad {
		if err := f.auth.RecordTraining(ctx, tr); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("RecordTraining(%+v) = %v, want %s", tr, err, garde.EInvalid)
		}
	}
}
