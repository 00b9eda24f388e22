package privacy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// Cookie names; all are scoped to /privacy.
const (
	sessionCookie = "garde_privacy_session"
	csrfCookie    = "garde_privacy_csrf"
	langCookie    = "garde_privacy_lang"
	cookiePath    = "/privacy"
	csrfField     = "csrf"
)

// cookieTTL is how long a verified person may see their request without
// typing a new code.
const cookieTTL = 30 * time.Minute

// b64 is the cookies' encoding: URL-safe, unpadded, canonical.
var b64 = base64.RawURLEncoding.Strict()

var errCookie = errors.New("privacy: malformed or forged cookie")

// encodeSession returns the session cookie's value for a person verified
// for request id until exp: "v1.<id>.<exp>.<mac>", the id base64url, exp
// in Unix seconds, mac the HMAC-SHA256 of the text before it.
func encodeSession(key []byte, id string, exp time.Time) string {
	payload := "v1." + b64.EncodeToString([]byte(id)) + "." + strconv.FormatInt(exp.Unix(), 10)
	return payload + "." + b64.EncodeToString(sessionMAC(key, payload))
}

// decodeSession checks a session cookie's value and returns the request id
// and the expiry it carries. It does not compare the expiry with the time.
func decodeSession(key []byte, value string) (id string, exp time.Time, err error) {
	if len(value) > 256 {
		return "", time.Time{}, errCookie
	}
	i := strings.LastIndexByte(value, '.')
	if i < 0 {
		return "", time.Time{}, errCookie
	}
	payload, mac := value[:i], value[i+1:]
	got, ok := garde.DecodeBase64URL(mac)
	if !ok || !hmac.Equal(got, sessionMAC(key, payload)) {
		return "", time.Time{}, errCookie
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != "v1" {
		return "", time.Time{}, errCookie
	}
	raw, ok := garde.DecodeBase64URL(parts[1])
	if !ok || !validID(string(raw)) {
		return "", time.Time{}, errCookie
	}
	secs, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || strconv.FormatInt(secs, 10) != parts[2] {
		return "", time.Time{}, errCookie
	}
	return string(raw), time.Unix(secs, 0).UTC(), nil
}

func sessionMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("garde privacy session v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// validID accepts the shape of request ids ("r_…", "v_…"): 1 to 64
// letters, digits, '_' or '-'. Anything else names no request.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// sessionID returns the request id the browser is verified for, or "".
func (c *Centre) sessionID(r *http.Request) string {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	id, exp, err := decodeSession(c.Key, ck.Value)
	if err != nil || !c.now().Before(exp) {
		return ""
	}
	return id
}

// setSession binds the browser to request id for cookieTTL.
func (c *Centre) setSession(w http.ResponseWriter, id string) {
	exp := c.now().Add(cookieTTL)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: encodeSession(c.Key, id, exp), Path: cookiePath,
		MaxAge: int(cookieTTL / time.Second), HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteStrictMode,
	})
}

// csrfSeed returns the browser's CSRF cookie value, setting a new random
// one when it has none (or a malformed one).
func (c *Centre) csrfSeed(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && validSeed(ck.Value) {
		return ck.Value
	}
	var b [32]byte
	rand.Read(b[:])
	seed := b64.EncodeToString(b[:])
	// Lax, not Strict: a person arriving from a link in a mail must keep
	// the seed their other tabs' forms were signed with.
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: seed, Path: cookiePath, HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode,
	})
	return seed
}

func validSeed(s string) bool {
	b, ok := garde.DecodeBase64URL(s)
	return ok && len(b) == 32
}

// csrfToken is the token a form carries for the browser's seed.
func (c *Centre) csrfToken(seed string) string {
	return b64.EncodeToString(csrfMAC(c.Key, seed))
}

// checkCSRF reports whether the form's token matches the browser's CSRF
// cookie (double submit: a forging site can neither read the cookie nor
// compute the token without the key).
func (c *Centre) checkCSRF(r *http.Request, token string) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || !validSeed(ck.Value) {
		return false
	}
	got, err := b64.DecodeString(token)
	return err == nil && hmac.Equal(got, csrfMAC(c.Key, ck.Value))
}

func csrfMAC(key []byte, seed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("garde privacy csrf v1\x00"))
	m.Write([]byte(seed))
	return m.Sum(nil)
}
