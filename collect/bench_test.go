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
// and compute blind indexes (with a fixed-key HMAC).
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
	for i := 0; i < b.N; i++ {
		m, err := decodeMessage(bodies[i%len(bodies)], "", false)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := p.Prepare(src, m, now, &tally); !ok {
			b.Fatal("dropped")
		}
	}
}
