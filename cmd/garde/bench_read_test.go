package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

// benchCustomers seeds m with n customers (an identify and an order each,
// through the collection API) and returns their subject ids and the secret
// of a support key, which reads them for purpose service.
func benchCustomers(b *testing.B, m *Main, n int) (ids []string, secret string) {
	b.Helper()
	g := gardetest.NewGenerator(2)
	var msgs []map[string]any
	for range n {
		p := g.Person()
		msgs = append(msgs, g.Identify(p), g.Order(p))
	}
	for len(msgs) > 0 {
		k := min(100, len(msgs))
		body, _ := json.Marshal(map[string]any{"batch": msgs[:k]})
		req, _ := http.NewRequest("POST", "http://"+m.Addr()+"/v1/batch", bytes.NewReader(body))
		req.SetBasicAuth(gardetest.WebKey, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("seed: %v", err)
		}
		resp.Body.Close()
		msgs = msgs[k:]
	}
	rows, err := m.Data.Reader().Query(`SELECT id FROM subjects WHERE merged_into IS NULL`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != n {
		b.Fatalf("seeded %d subjects, want %d", len(ids), n)
	}
	secret, _, err = access.IssueAPIKey(context.Background(), store.NewAPIKeys(m.Data), access.APIKey{Name: "bench", Role: "support"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	return ids, secret
}

// BenchmarkPurposeRead reads 1,000 customers' profiles (an order each, read
// for purpose service by a support key) from 8 concurrent readers: policy
// goes through the route — API key, role and purpose, consent at read time,
// field narrowing and the audit entry (group-committed) — raw reads the
// same profiles straight from the profile reader. One op is one profile.
func BenchmarkPurposeRead(b *testing.B) {
	m := benchMain(b, false)
	ids, secret := benchCustomers(b, m, 1000)
	h := m.srv.Handler()
	b.Run("policy", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := ids[int(n.Add(1))%len(ids)]
				r := httptest.NewRequest("GET", "/v1/subjects/"+id+"?purpose=service", nil)
				r.Header.Set("Authorization", "Bearer "+secret)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d %s", w.Code, w.Body)
				}
			}
		})
	})
	b.Run("raw", func(b *testing.B) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := ids[int(n.Add(1))%len(ids)]
				p, err := m.srv.Profiles.Read(context.Background(), garde.SubjectID(id), 100)
				if err != nil {
					b.Fatal(err)
				}
				w := httptest.NewRecorder()
				api.JSON(w, 200, p)
			}
		})
	})
}

// BenchmarkPurposeReadBulk reads the same 1,000 customers' profiles in one
// call, one call after another (one op is one call of 1,000 profiles, at
// most 10 events each): policy is POST /v1/subjects/read?purpose=service
// with a support key — API key, role and purpose, consent at read time for
// each person, field narrowing, one audit entry made durable before the
// answer — and raw is the same profile reader's batched read of the 1,000
// ids encoded the same way to a recorder, without any of those. The ratio
// of their profiles/s is what the policy costs (answer-bytes shows what
// narrowing leaves out of policy's answer).
func BenchmarkPurposeReadBulk(b *testing.B) {
	m := benchMain(b, false)
	ids, secret := benchCustomers(b, m, 1000)
	sids := make([]garde.SubjectID, len(ids))
	for i, id := range ids {
		sids[i] = garde.SubjectID(id)
	}
	body, _ := json.Marshal(map[string]any{"ids": ids})
	h := m.srv.Handler()
	var size int // bytes of the last answer: narrowing makes policy's smaller
	b.Run("policy", func(b *testing.B) {
		for b.Loop() {
			r := httptest.NewRequest("POST", "/v1/subjects/read?purpose=service&events=10", bytes.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+secret)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d %s", w.Code, w.Body)
			}
			size = w.Body.Len()
		}
		b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "profiles/s")
		b.ReportMetric(float64(size), "answer-bytes")
	})
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			ps, unknown, err := m.srv.Profiles.ReadMany(context.Background(), sids, 10, nil)
			if err != nil || len(ps) != len(ids) {
				b.Fatalf("%d profiles, %d unknown: %v", len(ps), unknown, err)
			}
			w := httptest.NewRecorder()
			api.JSON(w, 200, map[string]any{"profiles": ps, "withheld": 0, "notFound": unknown})
			size = w.Body.Len()
		}
		b.ReportMetric(float64(b.N*len(ids))/b.Elapsed().Seconds(), "profiles/s")
		b.ReportMetric(float64(size), "answer-bytes")
	})
}
