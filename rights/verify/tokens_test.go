package verify_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/rights/verify"
)

const issuer = "https://shop.example"

// siteKeys are a brand's keys: one Ed25519 key pair, one HMAC secret.
type siteKeys struct {
	edPriv ed25519.PrivateKey
	edPub  ed25519.PublicKey
	secret []byte
	keys   verify.SiteKeys
}

func newSiteKeys(t testing.TB) siteKeys {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	return siteKeys{edPriv: priv, edPub: pub, secret: secret, keys: verify.SiteKeys{Issuer: issuer,
		Ed25519: map[string]ed25519.PublicKey{"ed-1": pub}, HMAC: map[string][]byte{"hs-1": secret}}}
}

// claims are valid at t0.
func claims(jti string) verify.SiteClaims {
	return verify.SiteClaims{Issuer: issuer, Audience: verify.Audience, Subject: "cust-1", Email: "ann@example.com",
		ID: jti, IssuedAt: t0.Add(-time.Minute), Expires: t0.Add(4 * time.Minute)}
}

func sign(t testing.TB, c verify.SiteClaims, kid string, key any) string {
	t.Helper()
	tok, err := verify.SignSiteToken(c, kid, key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newTokens(t testing.TB, k siteKeys) (*verify.Tokens, *gardetest.Clock) {
	t.Helper()
	f := newFixture(t)
	return &verify.Tokens{Keys: k.keys, Store: f.st, Clock: f.clock}, f.clock
}

// TestVerifyValid: EdDSA and HS256 tokens verify and give back their claims.
func TestVerifyValid(t *testing.T) {
	ctx := context.Background()
	k := newSiteKeys(t)
	v, _ := newTokens(t, k)
	for _, c := range []struct {
		name string
		kid  string
		key  any
	}{{"EdDSA", "ed-1", k.edPriv}, {"HS256", "hs-1", k.secret}} {
		want := claims("jti-" + c.name)
		got, err := v.Verify(ctx, sign(t, want, c.kid, c.key))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: claims (-signed +verified):\n%s", c.name, diff)
		}
	}
	// without email, with nbf, at the edges of the skew
	c := claims("jti-edges")
	c.Email, c.NotBefore = "", t0.Add(time.Minute)
	c.IssuedAt, c.Expires = t0.Add(time.Minute), t0.Add(time.Minute+verify.MaxTokenLifetime)
	if _, err := v.Verify(ctx, sign(t, c, "ed-1", k.edPriv)); err != nil {
		t.Errorf("issued one skew ahead, lasting the longest: %v", err)
	}
}

// TestVerifyRefuses: every bad token is EInvalid, and a refused token
// does not burn its jti.
func TestVerifyRefuses(t *testing.T) {
	ctx := context.Background()
	k := newSiteKeys(t)
	other := newSiteKeys(t)
	with := func(fn func(*verify.SiteClaims)) verify.SiteClaims {
		c := claims("jti-bad")
		fn(&c)
		return c
	}
	// alg confusion: an HS256 token keyed with the Ed25519 public key's
	// bytes, under the Ed25519 key's id
	confused := forge(`{"alg":"HS256","typ":"JWT","kid":"ed-1"}`, claimsJSON(claims("jti-bad")), k.edPub)
	for _, c := range []struct {
		name  string
		token string
		msg   string
	}{
		{"wrong Ed25519 key", sign(t, claims("jti-bad"), "ed-1", other.edPriv), "signature does not verify"},
		{"wrong HMAC secret", sign(t, claims("jti-bad"), "hs-1", other.secret), "signature does not verify"},
		{"unknown kid", sign(t, claims("jti-bad"), "ed-2", k.edPriv), "unknown key id"},
		{"alg confusion: HS256 under an Ed25519 kid", confused, "alg does not match"},
		{"EdDSA under an HMAC kid", sign(t, claims("jti-bad"), "hs-1", k.edPriv), "alg does not match"},
		{"expired", sign(t, with(func(c *verify.SiteClaims) {
			c.IssuedAt, c.Expires = t0.Add(-5*time.Minute), t0.Add(-time.Minute)
		}), "ed-1", k.edPriv), "expired"},
		{"issued in the future", sign(t, with(func(c *verify.SiteClaims) {
			c.IssuedAt, c.Expires = t0.Add(time.Minute+time.Second), t0.Add(3*time.Minute)
		}), "ed-1", k.edPriv), "future"},
		{"not valid yet", sign(t, with(func(c *verify.SiteClaims) { c.NotBefore = t0.Add(2 * time.Minute) }), "ed-1", k.edPriv),
			"not valid yet"},
		{"lifetime too long", sign(t, with(func(c *verify.SiteClaims) {
			c.Expires = c.IssuedAt.Add(verify.MaxTokenLifetime + time.Second)
		}), "ed-1", k.edPriv), "longer than 10 minutes"},
		{"exp before iat", sign(t, with(func(c *verify.SiteClaims) { c.Expires = c.IssuedAt.Add(-time.Second) }), "ed-1", k.edPriv),
			"exp must be after iat"},
		{"exp equal to iat", sign(t, with(func(c *verify.SiteClaims) { c.Expires = c.IssuedAt }), "ed-1", k.edPriv),
			"exp must be after iat"},
		{"wrong audience", sign(t, with(func(c *verify.SiteClaims) { c.Audience = "garde" }), "ed-1", k.edPriv), "audience"},
		{"wrong issuer", sign(t, with(func(c *verify.SiteClaims) { c.Issuer = "https://evil.example" }), "ed-1", k.edPriv),
			"issuer"},
		{"malformed", "not a token", "three parts"},
	} {
		v, _ := newTokens(t, k)
		_, err := v.Verify(ctx, c.token)
		if errCode(err) != garde.EInvalid || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want %s (%s)", c.name, err, garde.EInvalid, c.msg)
		}
		if err != nil && (strings.Contains(err.Error(), "cust-1") || strings.Contains(err.Error(), "ann@")) {
			t.Errorf("%s: the error quotes the token: %v", c.name, err)
		}
	}
	// the refusals above burnt nothing: the same jti, valid, works once
	v, _ := newTokens(t, k)
	good := sign(t, claims("jti-bad"), "ed-1", k.edPriv)
	if _, err := v.Verify(ctx, good); err != nil {
		t.Errorf("valid token after refusals: %v", err)
	}
}

// TestVerifyReplay: a token works once, even concurrently, and a second
// token with the same jti from the same issuer is a replay too.
func TestVerifyReplay(t *testing.T) {
	ctx := context.Background()
	k := newSiteKeys(t)
	v, clk := newTokens(t, k)
	tok := sign(t, claims("jti-1"), "hs-1", k.secret)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(ctx, tok)
			mu.Lock()
			answers[errCode(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if answers[""] != 1 || answers[garde.EInvalid] != 19 {
		t.Errorf("20 concurrent uses: %v, want one success", answers)
	}
	if _, err := v.Verify(ctx, tok); errCode(err) != garde.EInvalid || !strings.Contains(err.Error(), "already used") {
		t.Errorf("replay: got %v", err)
	}
	c := claims("jti-1")
	c.Subject = "cust-2"
	if _, err := v.Verify(ctx, sign(t, c, "ed-1", k.edPriv)); errCode(err) != garde.EInvalid {
		t.Errorf("same jti, another token: got %v", err)
	}
	clk.Add(10 * time.Minute) // long past expiry: refused as expired, not let through
	if _, err := v.Verify(ctx, tok); errCode(err) != garde.EInvalid || !strings.Contains(err.Error(), "expired") {
		t.Errorf("replay after expiry: got %v", err)
	}
}

// TestInteropGoJose: a token a brand signs with a common JWT library
// (go-jose) verifies, in both algorithms.
func TestInteropGoJose(t *testing.T) {
	ctx := context.Background()
	k := newSiteKeys(t)
	v, _ := newTokens(t, k)
	for _, c := range []struct {
		name string
		alg  jose.SignatureAlgorithm
		kid  string
		key  any
	}{{"EdDSA", jose.EdDSA, "ed-1", k.edPriv}, {"HS256", jose.HS256, "hs-1", k.secret}} {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: c.key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", c.kid))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: issuer, Audience: jwt.Audience{verify.Audience},
			Subject: "cust-1", ID: "jose-" + c.name, IssuedAt: jwt.NewNumericDate(t0),
			Expiry: jwt.NewNumericDate(t0.Add(5 * time.Minute))}).Claims(map[string]any{"email": "ann@example.com"}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Verify(ctx, tok)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Subject != "cust-1" || got.Email != "ann@example.com" || !got.Expires.Equal(t0.Add(5*time.Minute)) {
			t.Errorf("%s: claims %+v", c.name, got)
		}
	}
	// and go-jose reads what SignSiteToken makes
	tok := sign(t, claims("jti-x"), "ed-1", k.edPriv)
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var out jwt.Claims
	if err := parsed.Claims(k.edPub, &out); err != nil {
		t.Fatal(err)
	}
	if out.Subject != "cust-1" || out.ID != "jti-x" {
		t.Errorf("go-jose read %+v", out)
	}
}

// TestParseSiteToken: the strict parser refuses what is not exactly the
// documented format.
func TestParseSiteToken(t *testing.T) {
	k := newSiteKeys(t)
	good := sign(t, claims("jti-1"), "ed-1", k.edPriv)
	h, c, err := verify.ParseSiteToken(good)
	if err != nil {
		t.Fatal(err)
	}
	if h != (verify.SiteHeader{Alg: "EdDSA", Typ: "JWT", Kid: "ed-1"}) || !cmp.Equal(c, claims("jti-1")) {
		t.Errorf("parsed %+v %+v", h, c)
	}
	const hdr = `{"alg":"EdDSA","typ":"JWT","kid":"ed-1"}`
	body := claimsJSON(claims("jti-1"))
	withClaim := func(name, raw string) string { // replace or add one claim
		return strings.Replace(body, `"jti":"jti-1"`, `"jti":"jti-1","`+name+`":`+raw, 1)
	}
	dropClaim := func(name string) string {
		out := body
		for _, part := range strings.Split(strings.Trim(body, "{}"), ",") {
			if strings.HasPrefix(part, `"`+name+`":`) {
				out = strings.Replace(strings.Replace(out, part+",", "", 1), ","+part, "", 1)
			}
		}
		return out
	}
	parts := strings.Split(good, ".")
	cases := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", good + ".x"},
		{"empty signature", parts[0] + "." + parts[1] + "."},
		{"empty header", "." + parts[1] + "." + parts[2]},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2]},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/"},
		{"white space", parts[0] + "." + parts[1] + " ." + parts[2]},
		{"too large", forge(hdr, withClaim("pad", `"`+strings.Repeat("x", verify.MaxTokenSize)+`"`), k.edPriv)},
		{"alg none", forge(`{"alg":"none","typ":"JWT","kid":"ed-1"}`, body, k.edPriv)},
		{"alg none, no signature", b64(`{"alg":"none"}`) + "." + b64(body) + "."},
		{"alg RS256", forge(`{"alg":"RS256","kid":"ed-1"}`, body, k.edPriv)},
		{"alg lower case", forge(`{"alg":"eddsa","kid":"ed-1"}`, body, k.edPriv)},
		{"no alg", forge(`{"kid":"ed-1"}`, body, k.edPriv)},
		{"no kid", forge(`{"alg":"EdDSA"}`, body, k.edPriv)},
		{"kid with a space", forge(`{"alg":"EdDSA","kid":"ed 1"}`, body, k.edPriv)},
		{"typ other", forge(`{"alg":"EdDSA","typ":"JWS","kid":"ed-1"}`, body, k.edPriv)},
		{"crit", forge(`{"alg":"EdDSA","kid":"ed-1","crit":["exp"]}`, body, k.edPriv)},
		{"embedded jwk", forge(`{"alg":"EdDSA","kid":"ed-1","jwk":{}}`, body, k.edPriv)},
		{"jku", forge(`{"alg":"EdDSA","kid":"ed-1","jku":"https://evil.example"}`, body, k.edPriv)},
		{"duplicate alg", forge(`{"alg":"EdDSA","kid":"ed-1","alg":"none"}`, body, k.edPriv)},
		{"header not an object", forge(`["EdDSA"]`, body, k.edPriv)},
		{"header with trailing data", forge(hdr+`{}`, body, k.edPriv)},
		{"header kid a number", forge(`{"alg":"EdDSA","kid":1}`, body, k.edPriv)},
		{"header not UTF-8", forge("{\"alg\":\"EdDSA\",\"kid\":\"\xff\"}", body, k.edPriv)},
		{"EdDSA signature of 32 bytes", parts[0] + "." + parts[1] + "." + b64(string(make([]byte, 32)))},
		{"claims not JSON", forge(hdr, `iss=x`, k.edPriv)},
		{"claims an array", forge(hdr, `[]`, k.edPriv)},
		{"claims with trailing data", forge(hdr, body+` {}`, k.edPriv)},
		{"duplicate sub", forge(hdr, withClaim("sub", `"cust-2"`), k.edPriv)},
		{"aud as array", forge(hdr, strings.Replace(body, `"aud":"garde-privacy"`, `"aud":["garde-privacy"]`, 1), k.edPriv)},
		{"iat a string", forge(hdr, strings.Replace(dropClaim("iat"), `{`, `{"iat":"1772442000",`, 1), k.edPriv)},
		{"iat with a fraction", forge(hdr, strings.Replace(dropClaim("iat"), `{`, `{"iat":1772442000.5,`, 1), k.edPriv)},
		{"iat with an exponent", forge(hdr, strings.Replace(dropClaim("iat"), `{`, `{"iat":1.7e9,`, 1), k.edPriv)},
		{"iat negative", forge(hdr, strings.Replace(dropClaim("iat"), `{`, `{"iat":-1,`, 1), k.edPriv)},
		{"iat huge", forge(hdr, strings.Replace(dropClaim("iat"), `{`, `{"iat":99999999999,`, 1), k.edPriv)},
		{"exp null", forge(hdr, strings.Replace(dropClaim("exp"), `{`, `{"exp":null,`, 1), k.edPriv)},
		{"nbf a string", forge(hdr, withClaim("nbf", `"soon"`), k.edPriv)},
		{"no iss", forge(hdr, dropClaim("iss"), k.edPriv)},
		{"no aud", forge(hdr, dropClaim("aud"), k.edPriv)},
		{"no sub", forge(hdr, dropClaim("sub"), k.edPriv)},
		{"no iat", forge(hdr, dropClaim("iat"), k.edPriv)},
		{"no exp", forge(hdr, dropClaim("exp"), k.edPriv)},
		{"no jti", forge(hdr, dropClaim("jti"), k.edPriv)},
		{"empty sub", forge(hdr, strings.Replace(body, `"sub":"cust-1"`, `"sub":""`, 1), k.edPriv)},
		{"sub a number", forge(hdr, strings.Replace(body, `"sub":"cust-1"`, `"sub":1`, 1), k.edPriv)},
		{"sub with a control character", forge(hdr, strings.Replace(body, `"sub":"cust-1"`, `"sub":"cust\u0000-1"`, 1), k.edPriv)},
		{"jti too long", forge(hdr, strings.Replace(body, `"jti":"jti-1"`, `"jti":"`+strings.Repeat("j", 129)+`"`, 1), k.edPriv)},
		{"email not an address", forge(hdr, strings.Replace(body, `"email":"ann@example.com"`, `"email":"ann"`, 1), k.edPriv)},
		{"email null", forge(hdr, strings.Replace(body, `"email":"ann@example.com"`, `"email":null`, 1), k.edPriv)},
	}
	for _, c := range cases {
		_, _, err := verify.ParseSiteToken(c.token)
		if errCode(err) != garde.EInvalid {
			t.Errorf("%s: got %v, want %s", c.name, err, garde.EInvalid)
		}
	}
	// extra claims are ignored
	if _, _, err := verify.ParseSiteToken(forge(hdr, withClaim("name", `"Ann"`), k.edPriv)); err != nil {
		t.Errorf("an extra claim: %v", err)
	}
}

// TestSiteKeysValidate: the configuration's mistakes are caught at start.
func TestSiteKeysValidate(t *testing.T) {
	k := newSiteKeys(t)
	if err := k.keys.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func(*verify.SiteKeys)
	}{
		{"no issuer", func(s *verify.SiteKeys) { s.Issuer = "" }},
		{"no key", func(s *verify.SiteKeys) { s.Ed25519, s.HMAC = nil, nil }},
		{"short secret", func(s *verify.SiteKeys) { s.HMAC = map[string][]byte{"hs-1": make([]byte, 31)} }},
		{"bad public key", func(s *verify.SiteKeys) { s.Ed25519 = map[string]ed25519.PublicKey{"ed-1": make([]byte, 31)} }},
		{"kid in both", func(s *verify.SiteKeys) { s.HMAC = map[string][]byte{"ed-1": k.secret} }},
		{"empty kid", func(s *verify.SiteKeys) { s.HMAC = map[string][]byte{"": k.secret} }},
	} {
		s := verify.SiteKeys{Issuer: k.keys.Issuer, Ed25519: map[string]ed25519.PublicKey{"ed-1": k.edPub},
			HMAC: map[string][]byte{"hs-1": k.secret}}
		c.fn(&s)
		err := s.Validate()
		if errCode(err) != garde.EInvalid {
			t.Errorf("%s: got %v, want %s", c.name, err, garde.EInvalid)
		} else if strings.Contains(err.Error(), string(k.secret)) {
			t.Errorf("%s: the error quotes a secret", c.name)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forge builds a token from a raw header and claims, signed with key as
// the header's alg says (an Ed25519 private key signs; any other key is an
// HMAC secret, even a public key's bytes): whatever makes it fail is in the
// header or claims, not the signature.
func forge(header, body string, key any) string {
	in := b64(header) + "." + b64(body)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(in))
	case ed25519.PublicKey:
		sig = hmacSum(k, in)
	case []byte:
		sig = hmacSum(k, in)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func hmacSum(key []byte, in string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return m.Sum(nil)
}

// claimsJSON is the claims part SignSiteToken writes for c.
func claimsJSON(c verify.SiteClaims) string {
	tok, err := verify.SignSiteToken(c, "x", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		panic(err)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		panic(err)
	}
	return string(b)
}
