package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
)

// BenchmarkWrite measures the storage side of collection: group commits of
// prepared "Order Completed" records from 16 concurrent submitters of 100
// records each (key creation, sealing three values, the events insert and
// the subject touch), on SQLite with synchronous=FULL. One op is one event.
func BenchmarkWrite(b *testing.B) {
	m := &Main{DataDir: b.TempDir(), Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer m.Close(context.Background())
	inv := m.Inventory
	p := collect.NewPipeline(inv, m.Vault)
	src := inv.SourceByWriteKey(gardetest.WebKey)
	g := gardetest.NewGenerator(1)
	people := make([]gardetest.Person, 2000)
	for i := range people {
		people[i] = g.Person()
	}
	const batch = 100
	recs := make([][]collect.Record, 64)
	for i := range recs {
		for j := 0; j < batch; j++ {
			body, _ := json.Marshal(g.Order(people[(i*batch+j)%len(people)]))
			var msg collect.Message
			if err := json.Unmarshal(body, &msg); err != nil {
				b.Fatal(err)
			}
			var t collect.Tally
			rec, ok := p.Prepare(src, &msg, time.Now(), &t)
			if !ok {
				b.Fatal("dropped")
			}
			recs[i] = append(recs[i], rec)
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan []collect.Record)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				var t collect.Tally
				if err := m.writer.Submit(context.Background(), r, &t); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < b.N; i += batch {
		work <- recs[(i/batch)%len(recs)]
	}
	close(work)
	wg.Wait()
}
