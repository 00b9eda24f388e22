package jws_test

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/vault"
)

// TestInterop checks tokens and key sets against an independent
// implementation (go-jose), both ways: a person verifying a receipt offline
// uses a library of their own, not this package.
func TestInterop(t *testing.T) {
	s, key := fixedKey(1)
	_, other := fixedKey(2)
	published, err := json.Marshal(jws.KeySet([]vault.SigningKey{key, other}))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("go-jose verifies our token with our JWKS", func(t *testing.T) {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(published, &set); err != nil {
			t.Fatal(err)
		}
		obj, err := jose.ParseSignedCompact(mustSign(t, s, receiptTyp, receipt), []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		h := obj.Signatures[0].Protected
		if h.KeyID != key.ID || h.Algorithm != "EdDSA" || h.ExtraHeaders["typ"] != receiptTyp {
			t.Errorf("go-jose reads the header as %+v", h)
		}
		keys := set.Key(h.KeyID)
		if len(keys) != 1 || keys[0].Use != "sig" || keys[0].Algorithm != "EdDSA" {
			t.Fatalf("go-jose finds %+v for kid %s", keys, h.KeyID)
		}
		payload, err := obj.Verify(keys[0])
		if err != nil {
			t.Fatal(err)
		}
		if string(payload) != receipt {
			t.Errorf("payload = %s", payload)
		}
	})

	t.Run("we verify go-jose's token with go-jose's JWKS", func(t *testing.T) {
		opts := (&jose.SignerOptions{}).WithType(receiptTyp).WithHeader("kid", key.ID)
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: s.priv}, opts)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign([]byte(receipt))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: key.Public, KeyID: key.ID, Algorithm: "EdDSA", Use: "sig"},
			{Key: ed25519.PublicKey(other.Public), KeyID: other.ID},
		}})
		if err != nil {
			t.Fatal(err)
		}
		set, err := jws.ParseJWKS(b)
		if err != nil {
			t.Fatalf("ParseJWKS(go-jose's set %s): %v", b, err)
		}
		payload, _, err := jws.VerifyType(tok, receiptTyp, set)
		if err != nil {
			t.Fatal(err)
		}
		if string(payload) != receipt {
			t.Errorf("payload = %s", payload)
		}
	})
}
