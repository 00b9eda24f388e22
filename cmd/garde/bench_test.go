package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

// BenchmarkWrite measures the storage side of collection: group commits of
// prepared "Order Completed" records from 16 concurrent submitters of 100
// records each (key creation, sealing three values — in the submitters'
// goroutines once the writer knows the person, as the tracking API does —
// the events insert and the subject touch), acknowledged once durable. One
// op is one event.
//
// The gate sub-benchmark runs with the consent gate (its index holding
// 100,000 people's decisions), open without it: their ratio is what the
// gate costs collection.
func BenchmarkWrite(b *testing.B) {
	b.Run("gate", func(b *testing.B) { benchmarkWrite(b, false) })
	b.Run("open", func(b *testing.B) { benchmarkWrite(b, true) })
}

func benchmarkWrite(b *testing.B, noGate bool) {
	m := benchMain(b, noGate)
	for range 100_000 {
		m.Consent.Apply(&consent.Record{Subject: garde.NewSubjectID(), Purpose: "analytics", Decision: consent.Given,
			Time: time.Now(), Expires: time.Now().AddDate(1, 0, 0), Age: consent.Age{Status: "adult"}})
	}
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
				m.writer.Preseal(context.Background(), r)
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkConsentDecide measures recording decisions over HTTP: POST
// /v1/consent from 128 clients per CPU over loopback (keep-alive), each
// call a new visitor. "1-purpose" calls decide one purpose: one
// hash-chained ledger record and one signed receipt per decision.
// "2-purposes" calls decide two: two chained records under one receipt.
// Each call also appends an audit entry, and is durable before the answer.
// The clients run in this process: they reuse their body buffer and a
// request template, so that their own cost is mostly net/http's. One op is
// one call; records/s counts ledger records.
func BenchmarkConsentDecide(b *testing.B) {
	for _, bc := range []struct {
		name      string
		decisions string
		records   int
	}{
		{"1-purpose", `{"analytics":"given"}`, 1},
		{"2-purposes", `{"analytics":"given","email_marketing":"refused"}`, 2},
	} {
		b.Run(bc.name, func(b *testing.B) { benchDecide(b, bc.decisions, bc.records) })
	}
}

func benchDecide(b *testing.B, decisions string, records int) {
	m := benchMain(b, false)
	tmpl, err := http.NewRequest("POST", "http://"+m.Addr()+"/v1/consent", nil)
	if err != nil {
		b.Fatal(err)
	}
	tmpl.SetBasicAuth(gardetest.WebKey, "")
	tmpl.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}}
	var n atomic.Int64
	b.SetParallelism(128)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var body []byte
		for pb.Next() {
			body = fmt.Appendf(body[:0], `{"anonymousId":"bench-%d","decisions":%s,"notice":{"version":1,"language":"fr"},"country":"FR"}`, n.Add(1), decisions)
			req := tmpl.WithContext(context.Background()) // a shallow copy: URL and headers are only read
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	elapsed := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/elapsed, "calls/s")
	b.ReportMetric(float64(records*b.N)/elapsed, "records/s")
	b.StopTimer()
	// every record made under load is chained (what verify-ledger checks)
	if n, brk, err := consent.VerifyChain(context.Background(), store.NewConsent(m.Data)); err != nil || brk != nil || n < records*b.N {
		b.Fatalf("ledger: %d records (want %d), break %+v, %v", n, records*b.N, brk, err)
	}
	if resp, err := http.Get("http://" + m.Addr() + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "garde_group_commit_") && (strings.Contains(l, "_sum") || strings.Contains(l, "_count")) {
				b.Log(l)
			}
		}
	}
}

// BenchmarkConsentCheck measures POST /v1/consent/check with 1,000
// subjects per call (by anonymous id), 4 concurrent clients. One op is one
// subject.
func BenchmarkConsentCheck(b *testing.B) {
	m := benchMain(b, false)
	secret, _, err := access.NewAPIKey(context.Background(), store.NewAPIKeys(m.Data), "bench", access.RoleAdmin, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// 10,000 people with decisions, recorded through the ledger
	const people, perCall = 10_000, 1000
	for i := 0; i < people; i++ {
		ids := []collect.Identity{{Kind: collect.IdentityAnon, Hash: m.Vault.BlindIndex(collect.IdentityAnon, fmt.Sprintf("p-%d", i))}}
		if _, err := m.Ledger.Decide(context.Background(), &consent.Request{IDs: ids, Create: true, Source: consent.SourceAPI,
			Decisions: map[string]consent.Decision{"analytics": consent.Given}, Collector: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	var bodies [][]byte
	for c := 0; c < people/perCall; c++ {
		var who []string
		for i := c * perCall; i < (c+1)*perCall; i++ {
			who = append(who, fmt.Sprintf(`{"anonymousId":"p-%d"}`, i))
		}
		bodies = append(bodies, []byte(`{"purposes":["analytics","email_marketing"],"subjects":[`+strings.Join(who, ",")+`]}`))
	}
	url := "http://" + m.Addr() + "/v1/consent/check"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var n atomic.Int64
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[int(i)%len(bodies)]))
			req.Header.Set("Authorization", "Bearer "+secret)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*perCall)/b.Elapsed().Seconds(), "subjects/s")
}

// benchMain opens a Garde on a temp dir and loopback for a benchmark,
// closed when it ends; noGate runs the writer without the consent gate.
func benchMain(b *testing.B, noGate bool) *Main {
	b.Helper()
	m := &Main{DataDir: b.TempDir(), Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), noGate: noGate}
	if err := m.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	return m
}
