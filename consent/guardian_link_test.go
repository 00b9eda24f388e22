package consent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/jws"
)

// FuzzGuardianLink: the link parser never panics, and whatever it accepts
// is well formed and unexpired.
func FuzzGuardianLink(f *testing.F) {
	s := newEdSigner()
	good, _ := consent.SignGuardianLink(s, consent.GuardianLink{Request: "gr_aaaaaaaaaaaaaaaaaaaaaaaaaa", Expires: t0.Add(time.Hour).Unix(), Purposes: []string{"analytics"}})
	f.Add(good, []byte(`{"rid":"gr_aaaaaaaaaaaaaaaaaaaaaaaaaa","exp":1900000000,"purposes":["a","b"]}`))
	f.Add("a.b.c", []byte(`{"rid":"gr_aaaaaaaaaaaaaaaaaaaaaaaaaa","exp":1,"purposes":[]}`))
	f.Add("", []byte(`{"rid":"x","exp":1900000000,"purposes":["b","a"],"extra":1}`))
	f.Add("", []byte(`{"rid":"gr_aaaaaaaaaaaaaaaaaaaaaaaaaa","exp":1900000000,"purposes":["a","a"]}`))
	f.Fuzz(func(t *testing.T, token string, payload []byte) {
		check := func(token string) {
			l, err := consent.ParseGuardianLink(token, s, t0)
			if err != nil {
				if garde.ErrorCode(err) != garde.EInvalid {
					t.Fatalf("error code %s", garde.ErrorCode(err))
				}
				return
			}
			if !strings.HasPrefix(l.Request, "gr_") || len(l.Request) != 29 || l.Expires <= t0.Unix() || len(l.Purposes) == 0 {
				t.Fatalf("accepted %+v", l)
			}
		}
		check(token)
		if len(payload) > 0 {
			signed, err := jws.Sign(s, consent.GuardianLinkType, payload)
			if err != nil {
				t.Fatal(err)
			}
			check(signed)
		}
	})
}
