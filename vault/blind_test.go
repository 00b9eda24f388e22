package vault_test

import (
	"bytes"
	"testing"

	"github.com/garde-privacy/garde/vault"
)

func TestBlindIndex(t *testing.T) {
	v, mk, dir := newVault(t)
	a := v.BlindIndex("email", "ada@example.com")
	if len(a) != 16 {
		t.Fatalf("len = %d, want 16", len(a))
	}
	if got := v.BlindIndex("email", "ada@example.com"); !bytes.Equal(got, a) {
		t.Error("not deterministic")
	}
	for _, tc := range []struct{ kind, value string }{
		{"user", "ada@example.com"},  // same value, another kind
		{"email", "ada@example.co"},  // another value
		{"emaila", "da@example.com"}, // the separator matters
		{"email", ""},
	} {
		if bytes.Equal(v.BlindIndex(tc.kind, tc.value), a) {
			t.Errorf("BlindIndex(%q, %q) collides with (email, ada@…)", tc.kind, tc.value)
		}
	}
	if got := openVault(t, mk, openKeys(t, dir), vault.Options{}).BlindIndex("email", "ada@example.com"); !bytes.Equal(got, a) {
		t.Error("changes when the vault is reopened")
	}
	other, _, _ := newVault(t)
	if bytes.Equal(other.BlindIndex("email", "ada@example.com"), a) {
		t.Error("same index under another root secret")
	}
}

func TestDeriveKey(t *testing.T) {
	v, mk, dir := newVault(t)
	k := v.DeriveKey("ip-salt")
	if len(k) != 32 {
		t.Fatalf("len = %d, want 32", len(k))
	}
	if got := openVault(t, mk, openKeys(t, dir), vault.Options{}).DeriveKey("ip-salt"); !bytes.Equal(got, k) {
		t.Error("changes when the vault is reopened")
	}
	if bytes.Equal(v.DeriveKey("signing-seed"), k) {
		t.Error("two names derive the same key")
	}
	if bytes.Equal(v.DeriveKey(""), v.DeriveKey("blind-index")) {
		t.Error("empty name collides")
	}
}
