package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/rights"
)

// prepared turns one message into a record, as the tracking API does
// before Preseal and Submit.
func (in *instance) prepared(msg map[string]any) []collect.Record {
	in.t.Helper()
	b, _ := json.Marshal(msg)
	var m collect.Message
	if err := json.Unmarshal(b, &m); err != nil {
		in.t.Fatal(err)
	}
	src := in.m.Inventory.SourceByWriteKey(gardetest.WebKey)
	rec, ok := collect.NewPipeline(in.m.Inventory, in.m.Vault).Prepare(src, &m, in.m.Clock.Now(), &collect.Tally{})
	if !ok {
		in.t.Fatal("the message was dropped")
	}
	return []collect.Record{rec}
}

// TestPresealRechecked: a record sealed in its request's goroutine
// (Writer.Preseal) is stored as sealed only if nothing changed before the
// writer's turn; when the person was erased or withdrew consent meanwhile,
// the writer decides again, exactly as without presealing.
func TestPresealRechecked(t *testing.T) {
	ctx := context.Background()
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(21)

	t.Run("unknown person", func(t *testing.T) {
		if n := in.m.writer.Preseal(ctx, in.prepared(g.Order(g.Person()))); n != 0 {
			t.Fatalf("presealed %d records of a person the writer does not know", n)
		}
	})

	t.Run("erased meanwhile", func(t *testing.T) {
		p := g.Person()
		in.batch(gardetest.WebKey, g.Identify(p), g.Order(p))
		prof, _ := in.subject("userId=" + p.UserID)
		old := prof["id"].(string)
		recs := in.prepared(g.Order(p))
		if n := in.m.writer.Preseal(ctx, recs); n != 1 {
			t.Fatalf("presealed %d records of a known person, want 1", n)
		}
		if _, _, err := in.m.Erase(ctx, garde.SubjectID(old), rights.EraseOptions{Reason: "test", Actor: "op_test"}); err != nil {
			t.Fatal(err)
		}
		if err := in.m.writer.Submit(ctx, recs, &collect.Tally{}); err != nil {
			t.Fatal(err)
		}
		if n := in.count(`SELECT count(*) FROM events WHERE subject_id = ?`, old); n != 0 {
			t.Fatalf("%d events stored under the erased subject", n)
		}
		again, a := in.subject("userId=" + p.UserID)
		if a.status != 200 || again["id"] == old {
			t.Fatalf("after erasure: %d %v", a.status, again["id"])
		}
		events, _ := again["events"].([]any)
		if len(events) != 1 {
			t.Fatalf("the new person has %d events, want 1", len(events))
		}
		props := events[0].(map[string]any)["properties"].(map[string]any)
		if props["email"] != p.Email {
			t.Fatalf("the event's email does not open under the new key: %v", props["email"])
		}
	})

	t.Run("merged meanwhile", func(t *testing.T) {
		p := g.Person()
		anonOrder := func() map[string]any {
			o := g.Order(p)
			delete(o, "userId")
			o["anonymousId"] = p.AnonymousID
			return o
		}
		in.batch(gardetest.WebKey, g.Order(p))  // the person, known by userId
		in.batch(gardetest.WebKey, anonOrder()) // and, apart, their anonymous visits
		recs := in.prepared(anonOrder())
		if n := in.m.writer.Preseal(ctx, recs); n != 1 {
			t.Fatalf("presealed %d records, want 1", n)
		}
		in.batch(gardetest.WebKey, g.Identify(p)) // merges the anonymous subject into the person
		if err := in.m.writer.Submit(ctx, recs, &collect.Tally{}); err != nil {
			t.Fatal(err)
		}
		prof, _ := in.subject("userId=" + p.UserID)
		if n := in.count(`SELECT count(*) FROM events WHERE message_id = ? AND subject_id = ?`, recs[0].MessageID, prof["id"]); n != 1 {
			t.Fatalf("the event presealed before the merge is not stored under the person's subject (%d rows)", n)
		}
	})

	t.Run("consent withdrawn meanwhile", func(t *testing.T) {
		p := g.Person()
		anon := []collect.Identity{{Kind: collect.IdentityUser, Hash: in.m.Vault.BlindIndex(collect.IdentityUser, p.UserID)}}
		decide := func(d consent.Decision) {
			if _, err := in.m.Ledger.Decide(ctx, &consent.Request{IDs: anon, Create: true, Source: consent.SourceAPI,
				Decisions: map[string]consent.Decision{"email_marketing": d}, Collector: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		newsletter := func() map[string]any {
			return map[string]any{"type": "track", "event": "Newsletter Subscribed", "userId": p.UserID,
				"properties": map[string]any{"email": p.Email, "topics": []any{"offers"}}}
		}
		decide(consent.Given)
		in.batch(gardetest.WebKey, newsletter())
		before := in.count(`SELECT count(*) FROM events WHERE name = 'Newsletter Subscribed'`)
		if before != 1 {
			t.Fatalf("%d newsletter events with consent, want 1", before)
		}
		recs := in.prepared(newsletter())
		if n := in.m.writer.Preseal(ctx, recs); n != 1 {
			t.Fatalf("presealed %d records, want 1", n)
		}
		decide(consent.Withdrawn)
		if err := in.m.writer.Submit(ctx, recs, &collect.Tally{}); err != nil {
			t.Fatal(err)
		}
		if n := in.count(`SELECT count(*) FROM events WHERE name = 'Newsletter Subscribed'`); n != before {
			t.Fatalf("%d newsletter events after the withdrawal, want %d", n, before)
		}
	})
}
