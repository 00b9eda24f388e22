package jws_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/vault"
)

// FuzzVerify: Verify never panics, fails only with EInvalid, and accepts
// nothing but the tokens the key really signed.
func FuzzVerify(f *testing.F) {
	s, key := fixedKey(1)
	keys := jws.KeySet([]vault.SigningKey{key})
	valid := map[string]bool{}
	for _, p := range []string{receipt, "x", strings.Repeat("y", 300)} {
		tok := mustSign(f, s, receiptTyp, p)
		valid[tok] = true
		f.Add(tok)
		f.Add(tok[:len(tok)-2])
		f.Add(strings.Replace(tok, ".", "..", 1))
	}
	f.Add(forge(`{"alg":"none","kid":"`+key.ID+`"}`, receipt, s.priv))
	f.Add(forge(`{"alg":"EdDSA","kid":"`+key.ID+`","crit":["b64"],"b64":false}`, receipt, s.priv))
	f.Add(forge(`{"alg":"EdDSA","kid":"`+key.ID+`","alg":"EdDSA"}`, receipt, s.priv))
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, token string) {
		payload, h, err := jws.Verify(token, keys)
		if err != nil {
			var ge *garde.Error
			if !errors.As(err, &ge) || ge.Code != garde.EInvalid {
				t.Fatalf("error %v is not a *garde.Error EInvalid", err)
			}
			return
		}
		if !valid[token] {
			t.Fatalf("accepted a token the key never signed: %q", token)
		}
		if h.Alg != jws.Alg || h.Kid != key.ID || len(payload) == 0 {
			t.Fatalf("accepted with header %+v, payload %q", h, payload)
		}
	})
}

// FuzzParseJWKS: ParseJWKS never panics, fails only with EInvalid, and what
// it accepts survives a round trip with every key findable.
func FuzzParseJWKS(f *testing.F) {
	_, k1 := fixedKey(1)
	_, k2 := fixedKey(2)
	b, _ := json.Marshal(jws.KeySet([]vault.SigningKey{k1, k2}))
	f.Add(b)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"k","d":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[],"keys":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		set, err := jws.ParseJWKS(in)
		if err != nil {
			if garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("error %v is not EInvalid", err)
			}
			return
		}
		for _, k := range set.Keys {
			if pub, ok := set.Find(k.Kid); !ok || len(pub) != 32 {
				t.Fatalf("parsed key %q cannot be found", k.Kid)
			}
		}
		out, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		again, err := jws.ParseJWKS(out)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", out, err)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the set:\n%s\n%s", out, out2)
		}
	})
}
