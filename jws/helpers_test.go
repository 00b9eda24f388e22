package jws_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"path/filepath"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

var b64 = base64.RawURLEncoding

// keySigner is a jws.Signer over a fixed key, for tests that need
// deterministic tokens.
type keySigner struct {
	kid  string
	priv ed25519.PrivateKey
}

func (s keySigner) KeyID() string { return s.kid }
func (s keySigner) Sign(msg []byte) (string, []byte, error) {
	return s.kid, ed25519.Sign(s.priv, msg), nil
}

// fixedKey returns the deterministic key number n (its seed is n repeated).
func fixedKey(n byte) (keySigner, vault.SigningKey) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{n}, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)
	kid := vault.KeyID(pub)
	at := time.Date(2025, 5, 25, 9, 0, 0, 0, time.UTC)
	return keySigner{kid, priv}, vault.SigningKey{ID: kid, Use: vault.UseReceipts, Public: pub, Created: at}
}

// forge builds a token from a raw header and payload, validly signed by
// priv: whatever makes it fail is in the header, not the signature.
func forge(header, payload string, priv ed25519.PrivateKey) string {
	in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	return in + "." + b64.EncodeToString(ed25519.Sign(priv, []byte(in)))
}

func mustSign(t testing.TB, s jws.Signer, typ, payload string) string {
	t.Helper()
	tok, err := jws.Sign(s, typ, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// newSigner opens a vault on a fresh key database and returns its signer of
// use.
func newSigner(t testing.TB, use string) *vault.Signer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, "keys.db"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mk, err := vault.CreateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(ctx, mk, store.NewKeys(db), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := v.Signer(ctx, use)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantInvalid asserts that err is a *garde.Error with code EInvalid and the
// given message.
func wantInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil, want %q", msg)
	}
	if code := garde.ErrorCode(err); code != garde.EInvalid {
		t.Errorf("code = %q, want %q (%v)", code, garde.EInvalid, err)
	}
	if got := garde.ErrorMessage(err); got != msg {
		t.Errorf("message = %q, want %q", got, msg)
	}
}
