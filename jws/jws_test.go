package jws_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/vault"
)

const receiptTyp = "garde-receipt+jwt"

const receipt = `{"sub":"s_01","purposes":["analytics"],"given":"2025-05-25T09:00:00Z"}`

func TestSignVerify(t *testing.T) {
	s, key := fixedKey(1)
	keys := jws.KeySet([]vault.SigningKey{key})
	tok := mustSign(t, s, receiptTyp, receipt)

	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(hb), `{"alg":"EdDSA","kid":"`+key.ID+`","typ":"garde-receipt+jwt"}`; got != want {
		t.Errorf("header = %s, want %s", got, want)
	}
	if again := mustSign(t, s, receiptTyp, receipt); again != tok {
		t.Error("Ed25519 signing is deterministic, but two tokens differ")
	}

	payload, h, err := jws.Verify(tok, keys)
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != receipt {
		t.Errorf("payload = %s, want %s", payload, receipt)
	}
	if diff := cmp.Diff(jws.Header{Alg: "EdDSA", Kid: key.ID, Typ: receiptTyp}, h); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if _, _, err := jws.VerifyType(tok, receiptTyp, keys); err != nil {
		t.Errorf("VerifyType: %v", err)
	}
	_, _, err = jws.VerifyType(tok, "garde-certificate+jwt", keys)
	wantInvalid(t, err, "jws: unexpected typ")

	t.Run("no typ", func(t *testing.T) {
		tok := mustSign(t, s, "", "x")
		_, h, err := jws.Verify(tok, keys)
		if err != nil || h.Typ != "" {
			t.Fatalf("Verify = %+v, %v", h, err)
		}
		if hb, _ := b64.DecodeString(strings.Split(tok, ".")[0]); strings.Contains(string(hb), "typ") {
			t.Errorf("header %s has a typ", hb)
		}
	})
	t.Run("empty payload refused", func(t *testing.T) {
		_, err := jws.Sign(s, receiptTyp, nil)
		wantInvalid(t, err, "jws: empty payload")
	})
	t.Run("another key set", func(t *testing.T) {
		_, other := fixedKey(2)
		_, _, err := jws.Verify(tok, jws.KeySet([]vault.SigningKey{other}))
		wantInvalid(t, err, "jws: unknown key id")
		_, _, err = jws.Verify(tok, nil)
		wantInvalid(t, err, "jws: unknown key id")
	})
	t.Run("same kid, another key", func(t *testing.T) {
		_, other := fixedKey(2)
		other.ID = key.ID
		_, _, err := jws.Verify(tok, jws.KeySet([]vault.SigningKey{other}))
		wantInvalid(t, err, "jws: signature does not verify")
	})
}

// TestVaultSigner: tokens from a vault signer, verified by the signer itself
// and by its published key set, across rotation.
func TestVaultSigner(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, vault.UseReceipts)
	old := mustSign(t, s, receiptTyp, receipt)
	if err := s.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	tok := mustSign(t, s, receiptTyp, receipt)

	published, err := json.Marshal(jws.KeySet(s.Keys()))
	if err != nil {
		t.Fatal(err)
	}
	set, err := jws.ParseJWKS(published)
	if err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string]jws.KeyFinder{"signer": jws.KeyFunc(s.PublicKey), "jwks": set} {
		t.Run(name, func(t *testing.T) {
			_, h, err := jws.Verify(old, keys)
			if err != nil {
				t.Fatalf("token of the retired key: %v", err)
			}
			_, h2, err := jws.Verify(tok, keys)
			if err != nil {
				t.Fatalf("token of the current key: %v", err)
			}
			if h.Kid == h2.Kid || h2.Kid != s.KeyID() {
				t.Errorf("kids: old %q, new %q, current %q", h.Kid, h2.Kid, s.KeyID())
			}
		})
	}
	t.Run("another use's keys", func(t *testing.T) {
		audit := newSigner(t, vault.UseAudit)
		_, _, err := jws.Verify(tok, jws.KeyFunc(audit.PublicKey))
		wantInvalid(t, err, "jws: unknown key id")
	})
}

// TestTamper changes each character of a token in turn: every change fails.
func TestTamper(t *testing.T) {
	s, key := fixedKey(1)
	keys := jws.KeySet([]vault.SigningKey{key})
	tok := mustSign(t, s, receiptTyp, receipt)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(tok) {
		for _, c := range []byte{alphabet[(strings.IndexByte(alphabet, tok[i])+1)%64], alphabet[(strings.IndexByte(alphabet, tok[i])+33)%64], '.'} {
			if c == tok[i] {
				continue
			}
			bad := tok[:i] + string(c) + tok[i+1:]
			if _, _, err := jws.Verify(bad, keys); err == nil {
				t.Fatalf("changing byte %d to %q: accepted", i, c)
			} else if garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("changing byte %d: code %q, want invalid", i, garde.ErrorCode(err))
			}
		}
	}
	for name, bad := range map[string]string{
		"truncated":         tok[:len(tok)-1],
		"extended":          tok + "A",
		"signature dropped": tok[:strings.LastIndexByte(tok, '.')+1],
	} {
		if _, _, err := jws.Verify(bad, keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestVerifyStrict: what Verify refuses, and with which message. Forged
// tokens carry a valid Ed25519 signature of their own bytes unless said
// otherwise, so that only the named defect can make them fail.
func TestVerifyStrict(t *testing.T) {
	s, key := fixedKey(1)
	keys := jws.KeySet([]vault.SigningKey{key})
	priv, kid := s.priv, key.ID
	hdr := func(extra string) string { return `{"alg":"EdDSA","kid":"` + kid + `"` + extra + `}` }
	good := forge(hdr(""), receipt, priv)
	if _, _, err := jws.Verify(good, keys); err != nil {
		t.Fatalf("the baseline is refused: %v", err)
	}
	h64, p64, s64 := func() (string, string, string) { p := strings.Split(good, "."); return p[0], p[1], p[2] }()
	in := h64 + "." + p64

	hs256 := func() string { // the classic: HMAC keyed with the public key
		in := b64.EncodeToString([]byte(`{"alg":"HS256","kid":"`+kid+`"}`)) + "." + p64
		m := hmac.New(sha256.New, key.Public)
		m.Write([]byte(in))
		return in + "." + b64.EncodeToString(m.Sum(nil))
	}()
	sig, _ := b64.DecodeString(s64)

	for _, tc := range []struct{ name, token, msg string }{
		{"alg none, no signature", b64.EncodeToString([]byte(`{"alg":"none","kid":"`+kid+`"}`)) + "." + p64 + ".", `jws: alg "none" not allowed`},
		{"alg none, signed", forge(`{"alg":"none","kid":"`+kid+`"}`, receipt, priv), `jws: alg "none" not allowed`},
		{"alg HS256 keyed with the public key", hs256, `jws: alg "HS256" not allowed`},
		{"alg RS256", forge(`{"alg":"RS256","kid":"`+kid+`"}`, receipt, priv), `jws: alg "RS256" not allowed`},
		{"alg ES256", forge(`{"alg":"ES256","kid":"`+kid+`"}`, receipt, priv), `jws: alg "ES256" not allowed`},
		{"alg lower case", forge(`{"alg":"eddsa","kid":"`+kid+`"}`, receipt, priv), `jws: alg "eddsa" not allowed`},
		{"alg long", forge(`{"alg":"EdDSAEdDSAEdDSAEdDSA","kid":"`+kid+`"}`, receipt, priv), `jws: alg not allowed`},
		{"alg missing", forge(`{"kid":"`+kid+`"}`, receipt, priv), "jws: alg missing"},
		{"alg empty", forge(`{"alg":"","kid":"`+kid+`"}`, receipt, priv), "jws: alg missing"},
		{"alg not a string", forge(`{"alg":["EdDSA"],"kid":"`+kid+`"}`, receipt, priv), "jws: header alg must be a string"},
		{"alg null", forge(`{"alg":null,"kid":"`+kid+`"}`, receipt, priv), "jws: header alg must be a string"},
		{"ALG in upper case", forge(`{"ALG":"EdDSA","kid":"`+kid+`"}`, receipt, priv), "jws: unsupported header parameter"},
		{"alg twice", forge(`{"alg":"EdDSA","alg":"none","kid":"`+kid+`"}`, receipt, priv), "jws: duplicate header parameter"},
		{"alg twice, escaped", forge(`{"alg":"EdDSA","al\u0067":"none","kid":"`+kid+`"}`, receipt, priv), "jws: duplicate header parameter"},
		{"kid missing", forge(`{"alg":"EdDSA"}`, receipt, priv), "jws: kid missing"},
		{"kid not a string", forge(`{"alg":"EdDSA","kid":1}`, receipt, priv), "jws: header kid must be a string"},
		{"kid unknown", forge(`{"alg":"EdDSA","kid":"AAAAAAAAAAAAAAAA"}`, receipt, priv), "jws: unknown key id"},
		{"crit", forge(hdr(`,"crit":["exp"],"exp":1`), receipt, priv), "jws: crit header not supported"},
		{"b64 false", forge(hdr(`,"b64":false,"crit":["b64"]`), receipt, priv), "jws: b64=false (unencoded payload) not supported"},
		{"b64 false, no crit", forge(hdr(`,"b64":false`), receipt, priv), "jws: b64=false (unencoded payload) not supported"},
		{"embedded jwk", forge(hdr(`,"jwk":{"kty":"OKP","crv":"Ed25519","x":"`+b64.EncodeToString(key.Public)+`"}`), receipt, priv), "jws: keys named or embedded in the header are not trusted"},
		{"jku", forge(hdr(`,"jku":"https://evil.example/jwks.json"`), receipt, priv), "jws: keys named or embedded in the header are not trusted"},
		{"x5c", forge(hdr(`,"x5c":["MII"]`), receipt, priv), "jws: keys named or embedded in the header are not trusted"},
		{"unknown parameter", forge(hdr(`,"zip":"DEF"`), receipt, priv), "jws: unsupported header parameter"},
		{"header an array", forge(`["EdDSA"]`, receipt, priv), "jws: header is not a JSON object"},
		{"header a string", forge(`"EdDSA"`, receipt, priv), "jws: header is not a JSON object"},
		{"header not JSON", forge(`{alg:EdDSA}`, receipt, priv), "jws: header is not a JSON object"},
		{"header with trailing data", forge(hdr("")+`{}`, receipt, priv), "jws: header is not a JSON object"},
		{"header truncated", forge(hdr("")[:20], receipt, priv), "jws: header is not a JSON object"},
		{"header empty", forge(``, receipt, priv), "jws: header is not a JSON object"},
		{"header padded", h64 + "=." + p64 + "." + s64, "jws: header is not base64url"},
		{"payload padded", h64 + "." + p64 + "==." + s64, "jws: payload is not base64url"},
		{"signature padded", in + "." + s64 + "==", "jws: signature is not base64url"},
		{"standard alphabet", in + "." + strings.NewReplacer("-", "+", "_", "/").Replace(s64) + "+/", "jws: signature is not base64url"},
		{"line break", h64[:4] + "\n" + h64[4:] + "." + p64 + "." + s64, "jws: header is not base64url"},
		{"space", in + ". " + s64, "jws: signature is not base64url"},
		{"signature 63 bytes", in + "." + b64.EncodeToString(sig[:63]), "jws: signature must be 64 bytes"},
		{"signature 65 bytes", in + "." + b64.EncodeToString(append(sig, 0)), "jws: signature must be 64 bytes"},
		{"signature empty", in + ".", "jws: signature must be 64 bytes"},
		{"signature of another message", in + "." + b64.EncodeToString(ed25519.Sign(priv, []byte("x"))), "jws: signature does not verify"},
		{"empty payload", forge(hdr(""), "", priv), "jws: empty payload (detached content is not supported)"},
		{"two parts", in, "jws: not a compact JWS (want three parts)"},
		{"one part", h64, "jws: not a compact JWS (want three parts)"},
		{"four parts", good + "." + s64, "jws: not a compact JWS (want three parts)"},
		{"JWE (five parts)", "a.b.c.d.e", "jws: not a compact JWS (want three parts)"},
		{"empty", "", "jws: not a compact JWS (want three parts)"},
		{"too large", forge(hdr(""), strings.Repeat("x", jws.MaxTokenSize), priv), "jws: token larger than 64 KiB"},
		{"JSON serialisation", `{"payload":"` + p64 + `","protected":"` + h64 + `","signature":"` + s64 + `"}`, "jws: not a compact JWS (want three parts)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload, _, err := jws.Verify(tc.token, keys)
			wantInvalid(t, err, tc.msg)
			if payload != nil {
				t.Errorf("payload %q returned with an error", payload)
			}
		})
	}

	t.Run("accepted", func(t *testing.T) {
		for _, tc := range []struct{ name, token string }{
			{"cty", forge(hdr(`,"cty":"json"`), receipt, priv)},
			{"b64 true", forge(hdr(`,"b64":true`), receipt, priv)},
			{"white space in the header", forge(" {\"alg\" : \"EdDSA\",\n \"kid\":\""+kid+"\" } ", receipt, priv)},
			{"largest token", forge(hdr(""), strings.Repeat("x", jws.MaxTokenSize*3/4-200), priv)},
		} {
			if _, _, err := jws.Verify(tc.token, keys); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	})
}

// rotatingSigner changes its key between KeyID and Sign, as a concurrent
// rotation would.
type rotatingSigner struct {
	keys []keySigner
	n    int
}

func (r *rotatingSigner) KeyID() string { return r.keys[r.n%len(r.keys)].kid }
func (r *rotatingSigner) Sign(msg []byte) (string, []byte, error) {
	r.n++
	return r.keys[r.n%len(r.keys)].Sign(msg)
}

func TestSignRotationRace(t *testing.T) {
	a, ka := fixedKey(1)
	b, kb := fixedKey(2)
	keys := jws.KeySet([]vault.SigningKey{ka, kb})

	// the kid changes once: Sign signs again and the token is consistent
	once := &rotatingSigner{keys: []keySigner{a, b, b, b}}
	tok := mustSign(t, once, receiptTyp, receipt)
	if _, h, err := jws.Verify(tok, keys); err != nil || h.Kid != kb.ID {
		t.Fatalf("Verify = %+v, %v", h, err)
	}
	// it never settles: Sign gives up
	_, err := jws.Sign(&rotatingSigner{keys: []keySigner{a, b}}, receiptTyp, []byte(receipt))
	if garde.ErrorCode(err) != garde.EUnavailable {
		t.Errorf("got %v, want unavailable", err)
	}
}
