package main

import (
	"testing"

	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
)

// TestLargeGroupSealed: a group commit large enough to be sealed on
// several goroutines (one batch of 300 orders) stores every event under
// its own person, each personal value sealed with that person's key and
// read back decrypted (with 2 or more cores: collect.sealChunk is 128).
func TestLargeGroupSealed(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(21)
	people := make([]gardetest.Person, 30)
	var ids, orders []map[string]any
	for i := range people {
		people[i] = g.Person()
		ids = append(ids, g.Identify(people[i]))
	}
	if a := in.batch(gardetest.WebKey, ids...); a.status != 200 {
		t.Fatalf("identify: %d %s", a.status, a.body)
	}
	for range 10 {
		for _, p := range people {
			orders = append(orders, g.Order(p))
		}
	}
	if a := in.batch(gardetest.WebKey, orders...); a.status != 200 {
		t.Fatalf("orders: %d %s", a.status, a.body)
	}
	for _, p := range people {
		prof, a := in.subject("userId=" + p.UserID)
		if a.status != 200 {
			t.Fatalf("read: %d %s", a.status, a.body)
		}
		if tr := prof["traits"].(map[string]any); tr["email"] != p.Email {
			t.Fatalf("traits of %s: %v", p.UserID, tr)
		}
		n := 0
		for _, e := range prof["events"].([]any) {
			e := e.(map[string]any)
			if e["name"] != "Order Completed" {
				continue
			}
			n++
			props := e["properties"].(map[string]any)
			if props["email"] != p.Email || props["phone"] == nil {
				t.Fatalf("an order of %s: %v", p.UserID, props)
			}
		}
		if n != 10 {
			t.Fatalf("%s has %d orders, want 10", p.UserID, n)
		}
	}
}

// TestLargeGroupNewPeople: a batch of orders from 300 people never seen
// before, whom only the writer can resolve, is sealed by the writer on
// several goroutines at once: each sealed on the heap, none in the
// request's buffers (which one goroutine at a time may use), and each read
// back decrypted.
func TestLargeGroupNewPeople(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(22)
	people := make([]gardetest.Person, 300)
	var orders []map[string]any
	for i := range people {
		people[i] = g.Person()
		orders = append(orders, g.Order(people[i]))
	}
	if a := in.batch(gardetest.WebKey, orders...); a.status != 200 {
		t.Fatalf("orders: %d %s", a.status, a.body)
	}
	for _, p := range people {
		prof, a := in.subject("userId=" + p.UserID)
		if a.status != 200 {
			t.Fatalf("read %s: %d %s", p.UserID, a.status, a.body)
		}
		events := prof["events"].([]any)
		if len(events) != 1 {
			t.Fatalf("%s has %d events, want 1", p.UserID, len(events))
		}
		if props := events[0].(map[string]any)["properties"].(map[string]any); props["email"] != p.Email {
			t.Fatalf("the order of %s: %v", p.UserID, props)
		}
	}
}
