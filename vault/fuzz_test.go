package vault_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/garde-privacy/garde/vault"
)

// FuzzOpen: Open never panics, and opens nothing but what Seal produced.
func FuzzOpen(f *testing.F) {
	v, _, _ := newVault(f)
	s := newSubjects(f, v, 1)[0]
	valid := seal(f, v, s, "properties.email", "ada@example.com")
	f.Add(valid, "properties.email")
	f.Add(valid[:29], "properties.email")
	f.Add([]byte{1}, "")
	f.Add([]byte{}, "x")
	f.Add(append([]byte{2}, valid[1:]...), "properties.email")
	f.Fuzz(func(t *testing.T, sealed []byte, field string) {
		got, err := v.Open(context.Background(), s, field, sealed)
		if err != nil {
			return
		}
		if !bytes.Equal(sealed, valid) || field != "properties.email" || string(got) != "ada@example.com" {
			t.Fatalf("Open accepted a forged value: %x %q", sealed, field)
		}
	})
}

// FuzzParseMasterKey: the parser never panics, round-trips what it accepts,
// and never quotes its input in an error.
func FuzzParseMasterKey(f *testing.F) {
	f.Add(strings.Repeat("ab", 32))
	f.Add("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")
	f.Add("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA")
	f.Add("_-_-EjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA")
	f.Add("")
	f.Add(" \n")
	f.Fuzz(func(t *testing.T, in string) {
		k, err := vault.ParseMasterKey(in)
		if err != nil {
			if trimmed := strings.TrimSpace(in); len(trimmed) >= 6 && strings.Contains(err.Error(), trimmed) {
				t.Fatalf("error %q quotes the input", err)
			}
			return
		}
		again, err := vault.ParseMasterKey(hex.EncodeToString(k[:]))
		if err != nil || again != k {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
