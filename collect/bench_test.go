package collect

import (
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/inventory"
)

// BenchmarkPrepare measures the CPU side of collection for one ~750-byte
// "Order Completed" event: decode, validate, minimise, redact, tag purposes
// and compute blind indexes (with a fixed-key HMAC), with a request's arena
// and its body's index, as a call to /v1/track.
func BenchmarkPrepare(b *testing.B) {
	inv := inventory.MustExample()
	p := NewPipeline(inv, hmacIndex{})
	src := inv.SourceByWriteKey(gardetest.WebKey)
	g := gardetest.NewGenerator(1)
	bodies := make([][]byte, 256)
	for i := range bodies {
		bodies[i], _ = json.Marshal(g.Order(g.Person()))
	}
	now := time.Now()
	var tally Tally
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	b.ResetTimer()
	a := &arena{}
	for i := 0; i < b.N; i++ {
		m, err := decodeMessage(bodies[i%len(bodies)], "", false, a.index())
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := p.prepare(a, src, m, now, &tally); !ok {
			b.Fatal("dropped")
		}
		a.release()
	}
}

// BenchmarkDecodeBatch measures reading a /v1/batch body of 100 "Order
// Completed" events: the check of the whole body, the batch's envelope
// and each message's (per event).
func BenchmarkDecodeBatch(b *testing.B) {
	g := gardetest.NewGenerator(1)
	msgs := make([]any, 100)
	for i := range msgs {
		msgs[i] = g.Order(g.Person())
	}
	body, err := json.Marshal(map[string]any{"batch": msgs, "sentAt": "2026-11-29T12:00:00Z"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body) / len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N / len(msgs) {
		a := getArena()
		if err := scanJSON(body, MaxDepth, a.index()); err != nil {
			b.Fatal(err)
		}
		bb, err := decodeBatch(body, a)
		if err != nil || len(bb.Batch) != len(msgs) {
			b.Fatal(err)
		}
		for _, raw := range bb.Batch {
			if _, err := decodeMessage(raw, "", true, a.index()); err != nil {
				b.Fatal(err)
			}
		}
		a.put()
	}
}
