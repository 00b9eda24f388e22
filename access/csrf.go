package access

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/garde-privacy/garde"
)

// CSRFToken returns the anti-forgery token of a session's forms: an HMAC of
// the session id under the server's CSRF key. It changes with the session,
// needs no storage, and cannot be computed from the session id alone.
func (a *Auth) CSRFToken(s Session) string {
	return base64.RawURLEncoding.EncodeToString(a.csrfMAC(s.ID))
}

// CheckCSRF accepts token if it is the session's CSRF token (compared in
// constant time); otherwise it returns a garde.EForbidden error.
func (a *Auth) CheckCSRF(s Session, token string) error {
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || s.ID == "" || !hmac.Equal(got, a.csrfMAC(s.ID)) {
		return garde.Errorf(garde.EForbidden, "missing or invalid CSRF token; reload the page and try again")
	}
	return nil
}

func (a *Auth) csrfMAC(sessionID string) []byte {
	m := hmac.New(sha256.New, a.cfg.CSRFKey)
	m.Write([]byte("garde csrf v1\x00" + sessionID))
	return m.Sum(nil)
}
