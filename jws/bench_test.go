package jws_test

import (
	"strings"
	"testing"

	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/vault"
)

// A consent receipt of typical size (~500 bytes of JSON).
var benchPayload = `{"sub":"s_01JV8ZK3M4Q5","purposes":["analytics","personalisation","email"],"notice":"` + strings.Repeat("n", 380) + `"}`

func BenchmarkJWSSign(b *testing.B) {
	s := newSigner(b, vault.UseReceipts)
	p := []byte(benchPayload)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := jws.Sign(s, receiptTyp, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWSVerify(b *testing.B) {
	s := newSigner(b, vault.UseReceipts)
	tok := mustSign(b, s, receiptTyp, benchPayload)
	keys := jws.KeySet(s.Keys())
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := jws.Verify(tok, keys); err != nil {
			b.Fatal(err)
		}
	}
}
