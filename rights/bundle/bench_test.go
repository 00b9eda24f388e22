package bundle_test

import (
	"context"
	"io"
	"testing"
)

// countWriter counts the bytes of a copy.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

// BenchmarkBuild10k times the copy of a person with 10,000 events (each
// "Order Completed" with a sealed e-mail and IP address, collected through
// the real pipeline): read, open, write data.json and every CSV, the
// summary, and zip it all. Target: ≤ 1 s.
func BenchmarkBuild10k(b *testing.B) {
	e := newEnv(b)
	p := e.seed(10_000)
	ctx := context.Background()
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var w countWriter
		m, err := e.builder.Build(ctx, p.subject, "fr", &w)
		if err != nil {
			b.Fatal(err)
		}
		if m.Counts.Events != 10_001 {
			b.Fatalf("%d events, want 10,001", m.Counts.Events)
		}
		size = w.n
	}
	b.ReportMetric(float64(size), "zip-bytes")
}
