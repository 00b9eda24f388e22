package verify_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/verify"
)

// fuzzKeys are deterministic, so that the corpus stays meaningful.
func fuzzKeys() (ed25519.PrivateKey, []byte, verify.SiteKeys) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	secret := bytes.Repeat([]byte{5}, 32)
	return priv, secret, verify.SiteKeys{Issuer: issuer,
		Ed25519: map[string]ed25519.PublicKey{"ed-1": priv.Public().(ed25519.PublicKey)},
		HMAC:    map[string][]byte{"hs-1": secret}}
}

func seedTokens(f *testing.F) []string {
	priv, secret, _ := fuzzKeys()
	var out []string
	for _, s := range []struct {
		kid string
		key any
	}{{"ed-1", priv}, {"hs-1", secret}} {
		tok, err := verify.SignSiteToken(claims("jti-seed-"+s.kid), s.kid, s.key)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, tok, tok[:len(tok)-2], strings.Replace(tok, ".", "..", 1))
	}
	body := claimsJSON(claims("jti-seed"))
	out = append(out,
		forge(`{"alg":"none","kid":"ed-1"}`, body, priv),
		forge(`{"alg":"HS256","typ":"JWT","kid":"ed-1"}`, body, priv.Public().(ed25519.PublicKey)),
		forge(`{"alg":"EdDSA","kid":"ed-1","alg":"EdDSA"}`, body, priv),
		forge(`{"alg":"EdDSA","kid":"ed-1"}`, strings.Replace(body, `"iat":`, `"iat":1e3,"x":`, 1), priv),
		"", "..", "e30.e30.", "e30.e30.AAAA")
	return out
}

// FuzzParseSiteToken: the parser never panics, fails only with EInvalid,
// and what it accepts holds to the documented format.
func FuzzParseSiteToken(f *testing.F) {
	for _, s := range seedTokens(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		h, c, err := verify.ParseSiteToken(token)
		if err != nil {
			if errCode(err) != garde.EInvalid {
				t.Fatalf("error %v is not an EInvalid *garde.Error", err)
			}
			if len(token) > 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("the error quotes the token")
			}
			return
		}
		switch {
		case len(token) > verify.MaxTokenSize, strings.Count(token, ".") != 2:
			t.Fatalf("accepted a token of %d bytes with %d dots", len(token), strings.Count(token, "."))
		case h.Alg != verify.AlgEdDSA && h.Alg != verify.AlgHS256, h.Typ != "" && h.Typ != "JWT", h.Kid == "":
			t.Fatalf("accepted header %+v", h)
		case c.Issuer == "" || c.Audience == "" || c.Subject == "" || c.ID == "":
			t.Fatalf("accepted claims without a required string: %+v", c)
		case c.IssuedAt.IsZero(), c.Expires.IsZero(), c.Expires.Location() != time.UTC, c.IssuedAt.Unix() > 1<<33:
			t.Fatalf("accepted dates %v %v", c.IssuedAt, c.Expires)
		case !utf8.ValidString(c.Subject) || !utf8.ValidString(c.Email):
			t.Fatalf("accepted invalid UTF-8")
		}
	})
}

// memoryTokens is a TokenStore in memory, for fuzzing.
type memoryTokens struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (m *memoryTokens) RememberToken(_ context.Context, id []byte, expires, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]time.Time{}
	}
	if exp, ok := m.seen[string(id)]; ok && !now.After(exp) {
		return garde.Errorf(garde.EConflict, "token already used")
	}
	m.seen[string(id)] = expires
	return nil
}

// FuzzVerifySiteToken: Verify never panics, fails only with EInvalid, and
// accepts nothing but the tokens the brand's keys really signed, once.
func FuzzVerifySiteToken(f *testing.F) {
	_, _, keys := fuzzKeys()
	valid := map[string]bool{}
	for _, s := range seedTokens(f) {
		f.Add(s)
		if _, err := (&verify.Tokens{Keys: keys, Store: &memoryTokens{}, Clock: garde.ClockFunc(func() time.Time { return t0 })}).
			Verify(context.Background(), s); err == nil {
			valid[s] = true
		}
	}
	if len(valid) != 2 {
		f.Fatalf("%d valid seeds, want 2", len(valid))
	}
	f.Fuzz(func(t *testing.T, token string) {
		v := &verify.Tokens{Keys: keys, Store: &memoryTokens{}, Clock: garde.ClockFunc(func() time.Time { return t0 })}
		_, err := v.Verify(context.Background(), token)
		if err != nil {
			if errCode(err) != garde.EInvalid {
				t.Fatalf("error %v is not an EInvalid *garde.Error", err)
			}
			return
		}
		if !valid[token] {
			t.Fatalf("accepted a token the keys never signed: %q", token)
		}
		if _, err := v.Verify(context.Background(), token); errCode(err) != garde.EInvalid {
			t.Fatalf("replay accepted: %v", err)
		}
	})
}
