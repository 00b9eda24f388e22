package verify

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jws"
)

// The site token's fixed values (see the package doc).
const (
	// Audience is the only "aud" a site token may carry.
	Audience = "garde-privacy"
	// AlgEdDSA and AlgHS256 are the only algorithms a site token may use.
	AlgEdDSA = "EdDSA"
	AlgHS256 = "HS256"
	// MaxTokenSize bounds a site token, in bytes.
	MaxTokenSize = 4096
	// MaxTokenLifetime bounds exp - iat.
	MaxTokenLifetime = 10 * time.Minute
)

// SiteHeader is a site token's protected header.
type SiteHeader struct {
	Alg string // AlgEdDSA or AlgHS256
	Typ string // "JWT" or empty
	Kid string
}

// SiteClaims are what a brand's site vouches for.
type SiteClaims struct {
	Issuer    string    // iss: the brand
	Audience  string    // aud: Audience
	Subject   string    // sub: the brand's userId for the person
	Email     string    // email: optional
	ID        string    // jti: unique, single use
	IssuedAt  time.Time // iat, whole seconds, UTC
	Expires   time.Time // exp, whole seconds, UTC
	NotBefore time.Time // nbf, optional (zero when absent)
}

var b64 = base64.RawURLEncoding

// ParseSiteToken decodes a compact site token without verifying it: use
// Tokens.Verify to trust one. It is strict (see the package doc): at most
// MaxTokenSize bytes; three non-empty parts of unpadded base64url; a header
// and claims that are single JSON objects in UTF-8 without duplicate names;
// alg EdDSA or HS256 (never "none") with a signature of that alg's size;
// only alg, typ ("JWT") and kid in the header; iss, aud, sub, iat, exp and
// jti present with their types; dates as whole seconds. Every failure is an
// EInvalid with a fixed message that quotes nothing from the token.
func ParseSiteToken(token string) (header SiteHeader, claims SiteClaims, err error) {
	p, err := parseSiteToken(token)
	return p.header, p.claims, err
}

// parsed is a decoded token with what verifying it needs.
type parsed struct {
	header SiteHeader
	claims SiteClaims
	signed string // the signing input: header "." claims, as sent
	sig    []byte
}

func parseSiteToken(token string) (parsed, error) {
	if len(token) > MaxTokenSize {
		return parsed{}, invalid("token larger than 4 KiB")
	}
	i, j := strings.IndexByte(token, '.'), strings.LastIndexByte(token, '.')
	if i < 0 || i == j || strings.IndexByte(token[i+1:j], '.') >= 0 {
		return parsed{}, invalid("not a compact JWS: want three parts")
	}
	h64, c64, s64 := token[:i], token[i+1:j], token[j+1:]
	if h64 == "" || c64 == "" || s64 == "" {
		return parsed{}, invalid("empty token part")
	}
	hb, ok := garde.DecodeBase64URL(h64)
	if !ok {
		return parsed{}, invalid("header is not base64url")
	}
	header, err := parseHeader(hb)
	if err != nil {
		return parsed{}, err
	}
	sig, ok := garde.DecodeBase64URL(s64)
	if !ok {
		return parsed{}, invalid("signature is not base64url")
	}
	if want := sigSize(header.Alg); len(sig) != want {
		return parsed{}, invalid("signature has the wrong size for its alg")
	}
	cb, ok := garde.DecodeBase64URL(c64)
	if !ok {
		return parsed{}, invalid("claims are not base64url")
	}
	claims, err := parseClaims(cb)
	if err != nil {
		return parsed{}, err
	}
	return parsed{header: header, claims: claims, signed: token[:j], sig: sig}, nil
}

func sigSize(alg string) int {
	if alg == AlgEdDSA {
		return ed25519.SignatureSize
	}
	return sha256.Size
}

func parseHeader(b []byte) (SiteHeader, error) {
	m, err := readObject(b)
	if errors.Is(err, jws.ErrDuplicateMember) {
		return SiteHeader{}, invalid("duplicate header member")
	}
	if err != nil {
		return SiteHeader{}, invalid("header is not a JSON object")
	}
	var h SiteHeader
	for _, name := range slices.Sorted(maps.Keys(m)) { // sorted: the same token, the same error
		raw := m[name]
		var dst *string
		switch name {
		case "alg":
			dst = &h.Alg
		case "typ":
			dst = &h.Typ
		case "kid":
			dst = &h.Kid
		default:
			return SiteHeader{}, invalid("unsupported header member")
		}
		if !readString(raw, dst) {
			return SiteHeader{}, invalid("header members must be strings")
		}
	}
	switch {
	case h.Alg == "":
		return SiteHeader{}, invalid("alg missing")
	case h.Alg != AlgEdDSA && h.Alg != AlgHS256:
		return SiteHeader{}, invalid("alg not allowed: want EdDSA or HS256")
	case h.Typ != "" && h.Typ != "JWT":
		return SiteHeader{}, invalid("typ must be JWT")
	case h.Kid == "":
		return SiteHeader{}, invalid("kid missing")
	case len(h.Kid) > 128 || !printableASCII(h.Kid):
		return SiteHeader{}, invalid("kid must be 1 to 128 printable ASCII characters")
	}
	return h, nil
}

func parseClaims(b []byte) (SiteClaims, error) {
	m, err := readObject(b)
	if errors.Is(err, jws.ErrDuplicateMember) {
		return SiteClaims{}, invalid("duplicate claim")
	}
	if err != nil {
		return SiteClaims{}, invalid("claims are not a JSON object")
	}
	var c SiteClaims
	strs := []struct {
		name     string
		dst      *string
		required bool
		max      int
	}{
		{"iss", &c.Issuer, true, 256},
		{"aud", &c.Audience, true, 256},
		{"sub", &c.Subject, true, 256},
		{"email", &c.Email, false, 254},
		{"jti", &c.ID, true, 128},
	}
	for _, s := range strs {
		raw, ok := m[s.name]
		if !ok {
			if s.required {
				return SiteClaims{}, invalid("claim " + s.name + " missing")
			}
			continue
		}
		if !readString(raw, s.dst) {
			return SiteClaims{}, invalid("claim " + s.name + " must be a string")
		}
		if *s.dst == "" && s.required || len(*s.dst) > s.max || hasControl(*s.dst) {
			return SiteClaims{}, invalid("claim " + s.name + " is empty, too long or holds control characters")
		}
	}
	if m["email"] != nil && !validAddress(c.Email) {
		return SiteClaims{}, invalid("claim email is not an email address")
	}
	dates := []struct {
		name     string
		dst      *time.Time
		required bool
	}{{"iat", &c.IssuedAt, true}, {"exp", &c.Expires, true}, {"nbf", &c.NotBefore, false}}
	for _, d := range dates {
		raw, ok := m[d.name]
		if !ok {
			if d.required {
				return SiteClaims{}, invalid("claim " + d.name + " missing")
			}
			continue
		}
		t, ok := readDate(raw)
		if !ok {
			return SiteClaims{}, invalid("claim " + d.name + " must be whole seconds since 1970")
		}
		*d.dst = t
	}
	return c, nil
}

// maxDate bounds dates (2242-03-16): far enough, and every date stays
// within time.Duration and Unix nanoseconds.
const maxDate = 1 << 33

// readDate reads a NumericDate in whole seconds: a JSON integer, no
// fraction, no exponent, in [0, maxDate].
func readDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || len(raw) > 12 {
		return time.Time{}, false
	}
	var v int64
	for i, ch := range raw {
		if ch < '0' || ch > '9' || i == 0 && ch == '0' && len(raw) > 1 {
			return time.Time{}, false
		}
		v = v*10 + int64(ch-'0')
	}
	if v > maxDate {
		return time.Time{}, false
	}
	return time.Unix(v, 0).UTC(), true
}

// readString reads raw as a JSON string (only a string: not null, not a
// number); the JSON is already known to be valid UTF-8.
func readString(raw json.RawMessage, dst *string) bool {
	return len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, dst) == nil
}

// readObject reads b as exactly one JSON object in valid UTF-8 (the
// strict reading jws.ReadObject makes of JOSE objects).
func readObject(b []byte) (map[string]json.RawMessage, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	return jws.ReadObject(b)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 || r == utf8.RuneError {
			return true
		}
	}
	return false
}

func invalid(msg string) *garde.Error {
	return &garde.Error{Code: garde.EInvalid, Message: "site token: " + msg}
}
