package jws_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/vault"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestJWKSGolden(t *testing.T) {
	_, k1 := fixedKey(1)
	_, k2 := fixedKey(2)
	set := jws.KeySet([]vault.SigningKey{k2, k1})
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "jwks.golden", append(b, '\n'))

	// RFC 8037, appendix A.2: the public key of the RFC's seed
	rfc := "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	if got := jws.KeySet([]vault.SigningKey{{ID: "x", Public: rfc8037Public(t)}}).Keys[0].X; got != rfc {
		t.Errorf("x = %s, want RFC 8037's %s", got, rfc)
	}
}

func TestParseJWKS(t *testing.T) {
	_, k1 := fixedKey(1)
	_, k2 := fixedKey(2)
	want := jws.KeySet([]vault.SigningKey{k1, k2})
	b, _ := json.Marshal(want)
	got, err := jws.ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, k := range []vault.SigningKey{k1, k2} {
		if pub, ok := got.Find(k.ID); !ok || !bytes.Equal(pub, k.Public) {
			t.Errorf("Find(%s) = %x, %v", k.ID, pub, ok)
		}
	}
	if _, ok := got.Find("nope"); ok {
		t.Error("Find of an unknown kid")
	}

	x := k1.ID
	key := func(members string) string { return `{"keys":[{` + members + `}]}` }
	base := `"kty":"OKP","crv":"Ed25519","x":"` + want.Keys[0].X + `","kid":"` + x + `"`
	for _, tc := range []struct{ name, in, msg string }{
		{"private key", key(base + `,"d":"AAAA"`), "jwks: holds a private key"},
		{"RSA", key(`"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"`), "jwks: key without crv"},
		{"EC", key(`"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA","kid":"e"`), "jwks: key is not OKP/Ed25519"},
		{"X25519", key(`"kty":"OKP","crv":"X25519","x":"` + want.Keys[0].X + `","kid":"e"`), "jwks: key is not OKP/Ed25519"},
		{"short x", key(`"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"k"`), "jwks: x is not a base64url 32-byte Ed25519 public key"},
		{"padded x", key(`"kty":"OKP","crv":"Ed25519","x":"` + want.Keys[0].X + `=","kid":"k"`), "jwks: x is not a base64url 32-byte Ed25519 public key"},
		{"no kid", key(`"kty":"OKP","crv":"Ed25519","x":"` + want.Keys[0].X + `"`), "jwks: key without kid"},
		{"empty kid", key(`"kty":"OKP","crv":"Ed25519","x":"` + want.Keys[0].X + `","kid":""`), "jwks: empty kid"},
		{"kid not a string", key(`"kty":"OKP","crv":"Ed25519","x":"` + want.Keys[0].X + `","kid":7`), "jwks: key kid must be a string"},
		{"use enc", key(base + `,"use":"enc"`), "jwks: key use is not sig"},
		{"alg RS256", key(base + `,"alg":"RS256"`), "jwks: key alg is not EdDSA"},
		{"duplicate kid", `{"keys":[{` + base + `},{` + base + `}]}`, "jwks: duplicate kid"},
		{"duplicate member", key(base + `,"kid":"other"`), "jwks: key has a duplicate member name"},
		{"duplicate keys", `{"keys":[],"keys":[]}`, "jwks: set has a duplicate member name"},
		{"no keys", `{}`, "jwks: keys must be an array"},
		{"keys an object", `{"keys":{}}`, "jwks: keys must be an array"},
		{"key an array", `{"keys":[[]]}`, "jwks: key is not a JSON object"},
		{"array", `[]`, "jwks: set is not a JSON object"},
		{"trailing data", `{"keys":[]} {}`, "jwks: set is not a JSON object"},
		{"empty", ``, "jwks: set is not a JSON object"},
		{"too large", `{"keys":[],"pad":"` + strings.Repeat("x", jws.MaxJWKSSize) + `"}`, "jwks: larger than 256 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := jws.ParseJWKS([]byte(tc.in))
			wantInvalid(t, err, tc.msg)
		})
	}

	t.Run("accepted", func(t *testing.T) {
		for _, in := range []string{
			`{"keys":[]}`,
			key(base), // no use, no alg
			key(base + `,"key_ops":["verify"],"ext":true`), // unknown members are ignored
			`{"keys":[{` + base + `}],"issuer":"garde"}`,
		} {
			set, err := jws.ParseJWKS([]byte(in))
			if err != nil {
				t.Errorf("%s: %v", in, err)
				continue
			}
			for _, k := range set.Keys {
				if _, ok := set.Find(k.Kid); !ok {
					t.Errorf("%s: Find(%s) fails on a parsed key", in, k.Kid)
				}
			}
		}
	})
	t.Run("Find refuses malformed keys", func(t *testing.T) {
		for _, k := range []jws.JWK{
			{Kty: "OKP", Crv: "X25519", X: want.Keys[0].X, Kid: "k"},
			{Kty: "RSA", Crv: "Ed25519", X: want.Keys[0].X, Kid: "k"},
			{Kty: "OKP", Crv: "Ed25519", X: "AAAA", Kid: "k"},
			{Kty: "OKP", Crv: "Ed25519", X: want.Keys[0].X, Kid: "k", Use: "enc"},
			{Kty: "OKP", Crv: "Ed25519", X: want.Keys[0].X, Kid: "k", Alg: "none"},
		} {
			if _, ok := (jws.JWKS{Keys: []jws.JWK{k}}).Find("k"); ok {
				t.Errorf("Find accepted %+v", k)
			}
		}
	})
}

// rfc8037Public is the public key of RFC 8037's example (appendix A.1).
func rfc8037Public(t *testing.T) []byte {
	t.Helper()
	seed, err := b64.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

// TestTokenGolden pins the exact bytes Sign produces for a fixed key.
func TestTokenGolden(t *testing.T) {
	s, _ := fixedKey(1)
	golden(t, "receipt.jws.golden", []byte(mustSign(t, s, "garde-receipt+jwt", receipt)+"\n"))
}
