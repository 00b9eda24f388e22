package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
)

// Cookie names. Both are scoped to /console.
const (
	sessionCookie = "garde_session"
	// preCookie binds the sign-in form's CSRF token before a session exists.
	preCookie  = "garde_presession"
	langCookie = "lang"
	cookiePath = "/console"
	csrfField  = "csrf"
)

// viewer is the signed-in operator of a request.
type viewer struct {
	op      access.Operator
	session access.Session
}

type viewerKey struct{}

func viewerOf(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	return v
}

// Operator returns the signed-in operator of a console request.
func (c *Console) Operator(r *http.Request) (access.Operator, bool) {
	if v := viewerOf(r); v != nil {
		return v.op, true
	}
	return access.Operator{}, false
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteStrictMode,
	})
}

func (c *Console) clearSession(w http.ResponseWriter) { c.setCookie(w, sessionCookie, "", -1) }

func sessionToken(r *http.Request) string {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

// signedIn requires a full session and one of rt.Roles, then, on anything
// but GET and HEAD, the session's CSRF token.
func (c *Console) signedIn(rt Route, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limitBody(w, r)
		token := sessionToken(r)
		op, s, err := c.Auth.Authenticate(r.Context(), token)
		if err != nil {
			if garde.ErrorCode(err) != garde.EUnauthorized {
				c.fail(w, r, err)
				return
			}
			if token != "" {
				// An operator still to enrol a second factor goes on enrolling.
				if _, _, err := c.Auth.AuthenticateEnrolment(r.Context(), token); err == nil {
					if safeMethod(r.Method) {
						http.Redirect(w, r, "/console/enrol", http.StatusSeeOther)
					} else {
						c.errorPage(w, r, http.StatusUnauthorized, "error.signin")
					}
					return
				}
				c.clearSession(w)
			}
			c.signInRequired(w, r, token != "")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), viewerKey{}, &viewer{op: op, session: s}))
		if !c.allowed(op.Role, rt.Roles) {
			c.errorPage(w, r, http.StatusForbidden, "error.role")
			return
		}
		if rt.Personal {
			st, err := c.Auth.TrainingStatus(r.Context(), op.ID, c.now())
			if err != nil {
				c.fail(w, r, err)
				return
			}
			if !st.Valid {
				c.errorPage(w, r, http.StatusForbidden, "error.training")
				return
			}
		}
		if !safeMethod(r.Method) && !c.checkCSRF(r, s) {
			c.errorPage(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// enrolment requires the enrolment-only session of an operator who must
// enrol a second factor.
func (c *Console) enrolment(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limitBody(w, r)
		token := sessionToken(r)
		op, s, err := c.Auth.AuthenticateEnrolment(r.Context(), token)
		if err != nil {
			switch garde.ErrorCode(err) {
			case garde.EForbidden: // a full session: nothing to enrol
				http.Redirect(w, r, "/console/", http.StatusSeeOther)
			case garde.EUnauthorized:
				c.signInRequired(w, r, token != "")
			default:
				c.fail(w, r, err)
			}
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), viewerKey{}, &viewer{op: op, session: s}))
		if !safeMethod(r.Method) && !c.checkCSRF(r, s) {
			c.errorPage(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// signInRequired sends a page request to the sign-in form (303) and
// refuses anything else (401).
func (c *Console) signInRequired(w http.ResponseWriter, r *http.Request, expired bool) {
	if !safeMethod(r.Method) {
		c.errorPage(w, r, http.StatusUnauthorized, "error.signin")
		return
	}
	q := url.Values{}
	if next := r.URL.RequestURI(); localPath(next) && r.URL.Path != "/console/" {
		q.Set("next", next)
	}
	if expired {
		q.Set("expired", "1")
	}
	target := "/console/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func safeMethod(m string) bool { return m == http.MethodGet || m == http.MethodHead }

func (c *Console) checkCSRF(r *http.Request, s access.Session) bool {
	return c.Auth.CheckCSRF(s, r.PostFormValue(csrfField)) == nil
}

// localPath accepts only a console path of this site as a redirect target.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/console/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n")
}

// preSession returns the pre-session id of the sign-in form, creating its
// cookie when missing, and the CSRF token bound to it.
func (c *Console) preSession(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(preCookie); err == nil && len(ck.Value) == 43 {
		return c.Auth.CSRFToken(access.Session{ID: "pre:" + ck.Value})
	}
	var b [32]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	c.setCookie(w, preCookie, id, 0)
	return c.Auth.CSRFToken(access.Session{ID: "pre:" + id})
}

func (c *Console) checkPreSession(r *http.Request) bool {
	ck, err := r.Cookie(preCookie)
	if err != nil || len(ck.Value) != 43 {
		return false
	}
	return c.Auth.CheckCSRF(access.Session{ID: "pre:" + ck.Value}, r.PostFormValue(csrfField)) == nil
}

// record appends an audit entry for an act of the signed-in operator: the
// actor, role, source address and request id are filled in.
func (c *Console) record(r *http.Request, action, outcome string, detail map[string]string) error {
	e := audit.Entry{Action: action, Outcome: outcome, Detail: detail,
		Source: api.RemoteHost(r), RequestID: api.RequestID(r.Context())}
	if v := viewerOf(r); v != nil {
		e.Actor, e.Role = "operator:"+v.op.ID, v.op.Role
	}
	return c.Record(r.Context(), e)
}

// Record appends e through AppendAudit; a capability's page calls it for
// every administrative act it performs. An act whose entry cannot be
// written is reported as failed to the operator.
func (c *Console) Record(ctx context.Context, e audit.Entry) error {
	if c.AppendAudit == nil {
		return garde.Errorf(garde.EInternal, "audit log not configured")
	}
	if e.Outcome == "" {
		e.Outcome = audit.OutcomeOK
	}
	return c.AppendAudit(ctx, e)
}

// maxForm bounds a console form's body.
const maxForm = 64 << 10

func limitBody(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
}
