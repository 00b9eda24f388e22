package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/rights"
)

// TestSuppressedNotCollected: a person erased with --suppress is not
// collected again: their next events are dropped and counted, and no
// subject is created for them.
func TestSuppressedNotCollected(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir, collect.WriterOptions{})
	g := gardetest.NewGenerator(11)
	p := g.Person()
	in.batch(gardetest.WebKey, g.Identify(p), g.Order(p))
	prof, _ := in.subject("userId=" + p.UserID)
	in.close()

	var out bytes.Buffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"rights", "erase", prof["id"].(string), "--suppress", "--reason", "the person asked", "--data", dir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("erase: %v\n%s", err, out.String())
	}

	in = start(t, dir, collect.WriterOptions{})
	in.batch(gardetest.WebKey, g.Order(p), g.Identify(p))
	if n := in.count(`SELECT count(*) FROM subjects`); n != 0 {
		t.Fatalf("%d subjects after suppression, want 0", n)
	}
	if n := in.count(`SELECT count(*) FROM events`); n != 0 {
		t.Fatalf("%d events stored from a suppressed person", n)
	}
	if n := in.count(`SELECT coalesce(sum(count), 0) FROM violations WHERE kind = 'suppressed'`); n != 2 {
		t.Fatalf("%d suppressed messages counted, want 2", n)
	}
	// someone else is collected as usual
	in.batch(gardetest.WebKey, g.Order(g.Person()))
	if n := in.count(`SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("another person's order: %d events", n)
	}
}

// TestSuppressedWhileRunning: a person erased with Suppress by the running
// server (a request) is refused from the next message on, without a
// restart: collection starts looking markers up as soon as one is written.
func TestSuppressedWhileRunning(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(12)
	p := g.Person()
	in.batch(gardetest.WebKey, g.Identify(p), g.Order(p))
	prof, _ := in.subject("userId=" + p.UserID)
	if _, _, err := in.m.Erase(context.Background(), garde.SubjectID(prof["id"].(string)), rights.EraseOptions{Suppress: true, Reason: "the person asked", Actor: "op_test"}); err != nil {
		t.Fatal(err)
	}
	in.batch(gardetest.WebKey, g.Order(p), g.Identify(p))
	if n := in.count(`SELECT count(*) FROM subjects`); n != 0 {
		t.Fatalf("%d subjects after suppression, want 0", n)
	}
	if n := in.count(`SELECT coalesce(sum(count), 0) FROM violations WHERE kind = 'suppressed'`); n != 2 {
		t.Fatalf("%d suppressed messages counted, want 2", n)
	}
}
