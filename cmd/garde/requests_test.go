package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

// runRequests runs `garde requests ARGS` in process at the given time.
func runRequests(t *testing.T, now time.Time, args ...string) (string, error) {
	t.Helper()
	cmd := newRequestsCmdAt(garde.ClockFunc(func() time.Time { return now }))
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// requestsDataDir is a data directory holding a GDPR access request
// received on 31 January 2026 (due Monday 2 March) and a CCPA opt-out
// received on 2 March (due 23 March); it returns their ids.
func requestsDataDir(t *testing.T) (dir, gdpr, ccpa string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, dataFile), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)
	s := rights.NewService(store.NewRequests(db), garde.ClockFunc(func() time.Time { return now }))
	a, err := s.Create(ctx, rights.Draft{Type: rights.Access, Jurisdiction: rights.GDPR, Received: time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, a.ID, garde.NewSubjectID()); err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(ctx, rights.Draft{Type: rights.OptOutSaleSharing, Jurisdiction: rights.CCPA})
	if err != nil {
		t.Fatal(err)
	}
	return dir, a.ID, b.ID
}

func TestRequestsCLI(t *testing.T) {
	dir, gdpr, ccpa := requestsDataDir(t)
	data := "--data=" + dir
	lastDay := time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC) // 21:00 in Paris, on the due date
	after := time.Date(2026, 3, 24, 9, 0, 0, 0, time.UTC)

	out, err := runRequests(t, lastDay, "list", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{gdpr + "  access", "2026-03-02", ccpa, "opt_out_sale_sharing", "2026-03-23"} {
		if !strings.Contains(out, want) {
			t.Errorf("list: no %q in\n%s", want, out)
		}
	}
	if strings.Count(out, "OVERDUE") != 1 { // the header
		t.Errorf("list on the due date shows an overdue request:\n%s", out)
	}
	if out, _ := runRequests(t, lastDay, "list", "--state=verified", data); !strings.Contains(out, gdpr) || strings.Contains(out, ccpa) {
		t.Errorf("list --state=verified:\n%s", out)
	}

	for _, c := range []struct {
		name string
		args []string
		code string
	}{
		{"extend without reason", []string{"extend", gdpr, data}, garde.EInvalid},
		{"refuse without reason", []string{"refuse", gdpr, "--reason= ", data}, garde.EInvalid},
		{"extend an opt-out", []string{"extend", ccpa, "--reason=volume", data}, garde.EConflict},
		{"unknown request", []string{"show", "r_nope", data}, garde.ENotFound},
		{"unknown state", []string{"list", "--state=lost", data}, garde.EInvalid},
		{"no database", []string{"list", "--data=" + t.TempDir()}, garde.ENotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := runRequests(t, lastDay, c.args...); garde.ErrorCode(err) != c.code {
				t.Errorf("got %v, want %s", err, c.code)
			}
		})
	}

	out, err = runRequests(t, lastDay, "extend", gdpr, "--reason=archives on tape", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "now due by 2026-04-28") {
		t.Errorf("extend: %s", out)
	}

	out, err = runRequests(t, after, "list", "--overdue", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, ccpa) || strings.Contains(out, gdpr) || strings.Count(out, "OVERDUE") != 2 {
		t.Errorf("list --overdue after 23 March:\n%s", out)
	}

	out, err = runRequests(t, after, "show", gdpr, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-04-28", "yes: archives on tape", "verified → extended", "archives on tape"} {
		if !strings.Contains(out, want) {
			t.Errorf("show: no %q in\n%s", want, out)
		}
	}

	if out, err = runRequests(t, after, "complete", gdpr, data); err != nil || !strings.Contains(out, "completed") || strings.Contains(out, "late") {
		t.Errorf("complete: %q, %v", out, err)
	}
	if out, err = runRequests(t, after, "refuse", ccpa, "--reason=cannot identify the browser", data); err != nil || !strings.Contains(out, "refused") {
		t.Errorf("refuse: %q, %v", out, err)
	}
	if out, _ := runRequests(t, after, "list", "--overdue", data); strings.Contains(out, "r_") {
		t.Errorf("list --overdue after answering both:\n%s", out)
	}
}
