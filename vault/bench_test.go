package vault_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

var payload = []byte(`"ada.lovelace@example.com"`)

// BenchmarkSeal: the hot path, key in the cache.
func BenchmarkSeal(b *testing.B) {
	v, _, _ := newVault(b)
	s := newSubjects(b, v, 1)[0]
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Seal(ctx, s, "properties.email", payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	v, _, _ := newVault(b)
	s := newSubjects(b, v, 1)[0]
	ctx := context.Background()
	c := seal(b, v, s, "properties.email", string(payload))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Open(ctx, s, "properties.email", c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenUncached: every Open reads and unwraps the key from SQLite.
func BenchmarkOpenUncached(b *testing.B) {
	dir := b.TempDir()
	v := openVault(b, randomKey(b), openKeys(b, dir), vault.Options{CacheSize: 1})
	ss := newSubjects(b, v, 2)
	ctx := context.Background()
	cs := [][]byte{seal(b, v, ss[0], "f", "x"), seal(b, v, ss[1], "f", "x")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i ^= 1
		if _, err := v.Open(ctx, ss[i], "f", cs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlindIndex(b *testing.B) {
	v, _, _ := newVault(b)
	b.ReportAllocs()
	for b.Loop() {
		v.BlindIndex("email", "ada.lovelace@example.com")
	}
}

func BenchmarkBlindIndexParallel(b *testing.B) {
	v, _, _ := newVault(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v.BlindIndex("email", "ada.lovelace@example.com")
		}
	})
}

func BenchmarkSealParallel(b *testing.B) {
	v, _, _ := newVault(b)
	ss := newSubjects(b, v, 64)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := v.Seal(ctx, ss[i%len(ss)], "properties.email", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateKeys: one group commit's worth of new subjects (100), in
// one key-store transaction with a durable (synchronous=FULL) commit.
func BenchmarkCreateKeys(b *testing.B) {
	v, _, _ := newVault(b)
	ctx := context.Background()
	batch := make([]garde.SubjectID, 100)
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			batch[i] = garde.NewSubjectID()
		}
		if err := v.CreateKeys(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealFields: an event's three personal values (~160 bytes each,
// as the load tool sends), laid out and sealed together, key in the cache.
func BenchmarkSealFields(b *testing.B) {
	v, _, _ := newVault(b)
	s := newSubjects(b, v, 1)[0]
	ctx := context.Background()
	value := bytes.Repeat([]byte("x"), 160)
	fields := []garde.SealedField{{Path: "properties.email", Size: 160}, {Path: "context.ip", Size: 160}, {Path: "properties.address", Size: 160}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		out := garde.AppendSealedHeader(buf[:0], fields)
		for range fields {
			out = append(out, value...)
		}
		if _, err := v.SealFields(ctx, s, out, 0); err != nil {
			b.Fatal(err)
		}
	}
}
