package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

// TestOverdueRequestAlert: a request past its legal deadline raises one
// alert, not one per run.
func TestOverdueRequestAlert(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	ctx := context.Background()
	now := time.Now()
	svc := rights.NewService(store.NewRequests(in.m.Data), garde.ClockFunc(func() time.Time { return now }))
	late, err := svc.Create(ctx, rights.Draft{Type: rights.Type("erasure"), Jurisdiction: rights.Jurisdiction("GDPR"), Received: now.AddDate(0, -2, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, rights.Draft{Type: rights.Type("access"), Jurisdiction: rights.Jurisdiction("GDPR"), Received: now.AddDate(0, 0, -3)}); err != nil {
		t.Fatal(err)
	}
	d := &audit.Detector{Store: store.NewAlerts(in.m.Data)}
	for run := range 2 {
		n, err := overdueAlerts(ctx, svc, d, now)
		if err != nil || n != 1-run {
			t.Fatalf("run %d: %d alerts, %v", run, n, err)
		}
	}
	alerts, _ := d.Store.FindAlerts(ctx, audit.AlertFilter{})
	if len(alerts) != 1 || !strings.Contains(alerts[0].Message, late.ID) || alerts[0].Rule != "request_overdue" {
		t.Fatalf("alerts: %+v", alerts)
	}
}
