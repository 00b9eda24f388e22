package privacy

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSessionCookie: a value decodes to what was encoded; any change, a
// different key or a malformed value is refused.
func TestSessionCookie(t *testing.T) {
	exp := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	good := encodeSession(testKey, "r_abc", exp)
	id, got, err := decodeSession(testKey, good)
	if err != nil || id != "r_abc" || !got.Equal(exp) {
		t.Fatalf("decode(encode) = %q, %v, %v", id, got, err)
	}
	parts := strings.Split(good, ".")
	bad := []string{
		"",
		".",
		"v1",
		good + "x",
		good[:len(good)-1],
		strings.Replace(good, "v1", "v2", 1),
		"v1." + parts[1] + "." + strconv.FormatInt(exp.Unix()+3600, 10) + "." + parts[3], // a later expiry, same mac
		"v1." + parts[1] + ".+" + parts[2] + "." + parts[3],
		"v1." + b64.EncodeToString([]byte("r_abd")) + "." + parts[2] + "." + parts[3],
		encodeSession(make([]byte, 32), "r_abc", exp),
		encodeSession(testKey, "r_abc/../x", exp),
		encodeSession(testKey, "", exp),
		encodeSession(testKey, strings.Repeat("a", 65), exp),
		parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[3] + "=",
		strings.Repeat("A", 300),
	}
	for _, v := range bad {
		if id, _, err := decodeSession(testKey, v); err == nil {
			t.Errorf("decode(%q) = %q, want an error", v, id)
		}
	}
}

// FuzzSessionCookie: the decoder never panics, and accepts only the
// canonical encoding of what it returns.
func FuzzSessionCookie(f *testing.F) {
	exp := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	f.Add(encodeSession(testKey, "r_abc", exp))
	f.Add(encodeSession(testKey, "v_0123456789abcdefghijklmnop", exp.Add(-48*time.Hour)))
	f.Add("v1.cl9hYmM.1772449200.AAAA")
	f.Add("v1..0.")
	f.Add("....")
	f.Fuzz(func(t *testing.T, value string) {
		id, exp, err := decodeSession(testKey, value)
		if err != nil {
			return
		}
		if !validID(id) {
			t.Fatalf("accepted the malformed id %q", id)
		}
		if again := encodeSession(testKey, id, exp); again != value {
			t.Fatalf("accepted %q, which encodes as %q", value, again)
		}
	})
}

// TestCSRFToken: the token belongs to one seed and one key.
func TestCSRFToken(t *testing.T) {
	c := &Centre{Key: testKey}
	seed := strings.Repeat("A", 43)
	if !validSeed(seed) || validSeed(seed[:42]) || validSeed(seed+"A") || validSeed(strings.Repeat("!", 43)) {
		t.Fatal("validSeed")
	}
	if c.csrfToken(seed) == c.csrfToken(strings.Repeat("B", 43)) || c.csrfToken(seed) == (&Centre{Key: make([]byte, 32)}).csrfToken(seed) {
		t.Error("tokens do not depend on the seed and the key")
	}
}
