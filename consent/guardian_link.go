package consent

import (
	"bytes"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jws"
)

// GuardianLinkType is the JWS "typ" of a guardian link.
const GuardianLinkType = "garde-guardian-link+jwt"

// MaxGuardianLink bounds the length of a guardian link token.
const MaxGuardianLink = 4 << 10

// GuardianLink is the payload of the signed token in the link sent to a
// guardian: which request, until when, for which purposes. It names no
// person.
type GuardianLink struct {
	Request  string   `json:"rid"`
	Expires  int64    `json:"exp"` // Unix seconds
	Purposes []string `json:"purposes"`
}

// SignGuardianLink returns the link's token, signed by s.
func SignGuardianLink(s jws.Signer, l GuardianLink) (string, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	return jws.Sign(s, GuardianLinkType, b)
}

// ParseGuardianLink verifies token (signature under keys, typ
// GuardianLinkType) and returns its payload, checked: a request id of the
// shape Garde makes, an expiry after now, one to 64 sorted, distinct
// purpose keys. Every failure is an EInvalid *garde.Error whose message
// never quotes the token; an expired link's message is "link expired".
func ParseGuardianLink(token string, keys jws.KeyFinder, now time.Time) (*GuardianLink, error) {
	if len(token) > MaxGuardianLink {
		return nil, garde.Errorf(garde.EInvalid, "guardian link: too long")
	}
	payload, _, err := jws.VerifyType(token, GuardianLinkType, keys)
	if err != nil {
		return nil, garde.Wrap(garde.EInvalid, err, "guardian link: "+garde.ErrorMessage(err))
	}
	var l GuardianLink
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil || d.More() {
		return nil, garde.Errorf(garde.EInvalid, "guardian link: payload is not a guardian link")
	}
	if !validRequestID(l.Request) || l.Expires <= 0 || len(l.Purposes) == 0 || len(l.Purposes) > 64 {
		return nil, garde.Errorf(garde.EInvalid, "guardian link: payload is not a guardian link")
	}
	for i, p := range l.Purposes {
		if p == "" || len(p) > 64 || (i > 0 && p <= l.Purposes[i-1]) {
			return nil, garde.Errorf(garde.EInvalid, "guardian link: payload is not a guardian link")
		}
	}
	if now.Unix() >= l.Expires {
		return nil, errLinkExpired
	}
	return &l, nil
}

// validRequestID reports whether id has the shape "gr_" + garde.RandomID().
func validRequestID(id string) bool {
	rest, ok := strings.CutPrefix(id, "gr_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}
