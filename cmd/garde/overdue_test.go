package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

// TestOverdueRequestAlert: a request past its legal deadline raises one
// alert, not one per run.
func TestOverdueRequestAlert(t *testing.T) {
	// a database of its own: a running Garde's hourly job would race this test
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), dataFile), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	svc := rights.NewService(store.NewRequests(db), garde.ClockFunc(func() time.Time { return now }))
	late, err := svc.Create(ctx, rights.Draft{Type: rights.Type("erasure"), Jurisdiction: rights.Jurisdiction("GDPR"), Received: now.AddDate(0, -2, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, rights.Draft{Type: rights.Type("access"), Jurisdiction: rights.Jurisdiction("GDPR"), Received: now.AddDate(0, 0, -3)}); err != nil {
		t.Fatal(err)
	}
	d := &audit.Detector{Store: store.NewAlerts(db)}
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
