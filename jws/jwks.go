package jws

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

// MaxJWKSSize bounds the length of a JWK Set ParseJWKS reads, in bytes.
const MaxJWKSSize = 256 << 10

// JWK is one Ed25519 public key as a JSON Web Key (RFC 7517, RFC 8037):
// kty "OKP", crv "Ed25519", x the unpadded base64url public key, use "sig",
// alg "EdDSA".
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// JWKS is a JSON Web Key Set: what /.well-known/jwks.json serves.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// KeySet returns the JWK Set of keys (public parts only), in their order.
// Publish current and retired keys alike: retired keys still verify what
// they signed.
func KeySet(keys []vault.SigningKey) JWKS {
	set := JWKS{Keys: make([]JWK, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(k.Public), Kid: k.ID, Use: "sig", Alg: Alg})
	}
	return set
}

// Find returns the Ed25519 public key with id kid. Keys that are not
// well-formed Ed25519 verification keys are never returned.
func (s JWKS) Find(kid string) (ed25519.PublicKey, bool) {
	for _, k := range s.Keys {
		if k.Kid != kid {
			continue
		}
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Use != "" && k.Use != "sig" || k.Alg != "" && k.Alg != Alg {
			return nil, false
		}
		pub, ok := garde.DecodeBase64URL(k.X)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return nil, false
		}
		return pub, true
	}
	return nil, false
}

// ParseJWKS reads a JWK Set, strictly: at most MaxJWKSSize bytes; one JSON
// object (no duplicate member names) whose "keys" is an array of Ed25519
// public keys, each with kty "OKP", crv "Ed25519", a 32-byte x, a kid unique
// in the set, use "sig" and alg "EdDSA" if present, and no private part
// ("d"). Other members are ignored, as RFC 7517 asks. Every failure is a
// *garde.Error with code EInvalid.
func ParseJWKS(b []byte) (JWKS, error) {
	if len(b) > MaxJWKSSize {
		return JWKS{}, errInvalid("jwks: larger than 256 KiB")
	}
	top, err := ReadObject(b)
	if err != nil {
		return JWKS{}, objectError("jwks: set", err)
	}
	var raws []json.RawMessage
	if raw, ok := top["keys"]; !ok || len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &raws) != nil {
		return JWKS{}, errInvalid("jwks: keys must be an array")
	}
	set := JWKS{Keys: make([]JWK, 0, len(raws))}
	seen := make(map[string]bool, len(raws))
	for _, raw := range raws {
		k, err := parseJWK(raw)
		if err != nil {
			return JWKS{}, err
		}
		if seen[k.Kid] {
			return JWKS{}, errInvalid("jwks: duplicate kid")
		}
		seen[k.Kid] = true
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

func parseJWK(raw []byte) (JWK, error) {
	m, err := ReadObject(raw)
	if err != nil {
		return JWK{}, objectError("jwks: key", err)
	}
	if _, ok := m["d"]; ok {
		return JWK{}, errInvalid("jwks: holds a private key")
	}
	var k JWK
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{{"kty", &k.Kty, true}, {"crv", &k.Crv, true}, {"x", &k.X, true}, {"kid", &k.Kid, true}, {"use", &k.Use, false}, {"alg", &k.Alg, false}} {
		v, ok := m[f.name]
		if !ok {
			if f.required {
				return JWK{}, garde.Errorf(garde.EInvalid, "jwks: key without %s", f.name)
			}
			continue
		}
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, f.dst) != nil {
			return JWK{}, garde.Errorf(garde.EInvalid, "jwks: key %s must be a string", f.name)
		}
	}
	switch {
	case k.Kty != "OKP" || k.Crv != "Ed25519":
		return JWK{}, errInvalid("jwks: key is not OKP/Ed25519")
	case k.Kid == "":
		return JWK{}, errInvalid("jwks: empty kid")
	case k.Use != "" && k.Use != "sig":
		return JWK{}, errInvalid("jwks: key use is not sig")
	case k.Alg != "" && k.Alg != Alg:
		return JWK{}, errInvalid("jwks: key alg is not EdDSA")
	}
	if pub, ok := garde.DecodeBase64URL(k.X); !ok || len(pub) != ed25519.PublicKeySize {
		return JWK{}, errInvalid("jwks: x is not a base64url 32-byte Ed25519 public key")
	}
	return k, nil
}

func objectError(what string, err error) *garde.Error {
	if errors.Is(err, ErrDuplicateMember) {
		return errInvalid(what + " has a duplicate member name")
	}
	return errInvalid(what + " is not a JSON object")
}
