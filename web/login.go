package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"github.com/pquerna/otp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
)

// Console audit actions of sign-in.
const (
	ActionLogin  = "session.login"
	ActionLogout = "session.logout"
	ActionEnrol  = "totp.enrol"
)

type loginData struct {
	CSRF    string
	Email   string
	Next    string
	Expired bool
	Error   string // message key
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, _, err := c.Auth.Authenticate(r.Context(), sessionToken(r)); err == nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	d := loginData{CSRF: c.preSession(w, r), Expired: q.Get("expired") == "1"}
	if localPath(q.Get("next")) {
		d.Next = q.Get("next")
	}
	c.Render(w, r, "login.html", d)
}

// login signs an operator in. Every refusal gets the same message, whatever
// failed; rate limits and lock-out are access.Auth's.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	limitBody(w, r)
	if !c.checkPreSession(r) {
		c.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	d := loginData{CSRF: c.preSession(w, r), Email: strings.TrimSpace(r.PostFormValue("email"))}
	if localPath(r.PostFormValue("next")) {
		d.Next = r.PostFormValue("next")
	}
	s, err := c.Auth.Login(r.Context(), d.Email, r.PostFormValue("password"), r.PostFormValue("code"), r.RemoteAddr)
	if err != nil {
		if code := garde.ErrorCode(err); code == garde.EUnauthorized || code == garde.ETooMany {
			// every refused sign-in is audited (who tried is unknown: the
			// address is the source), so that repeated refusals raise an alert
			failed := audit.Entry{Actor: "anonymous", Action: ActionLogin, Source: api.RemoteHost(r), Outcome: audit.OutcomeRefused,
				RequestID: api.RequestID(r.Context()), Detail: map[string]string{"code": code}}
			if aerr := c.Record(r.Context(), failed); aerr != nil {
				c.Log.Error("console: audit refused sign-in", "err", aerr)
			}
		}
		switch garde.ErrorCode(err) {
		case garde.ETooMany:
			w.Header().Set("Retry-After", "60")
			d.Error = "login.toomany"
			c.render(w, r, http.StatusTooManyRequests, "login.html", d)
		case garde.EUnauthorized:
			d.Error = "login.failed"
			c.render(w, r, http.StatusUnauthorized, "login.html", d)
		default:
			c.fail(w, r, err)
		}
		return
	}
	c.setCookie(w, sessionCookie, s.Token, 0)
	c.setCookie(w, preCookie, "", -1)
	if s.EnrolOnly {
		http.Redirect(w, r, "/console/enrol", http.StatusSeeOther)
		return
	}
	e := audit.Entry{Actor: "operator:" + s.OperatorID, Action: ActionLogin, Source: api.RemoteHost(r),
		RequestID: api.RequestID(r.Context()), Detail: map[string]string{"session": s.ID}}
	if op, _, err := c.Auth.Authenticate(r.Context(), s.Token); err == nil {
		e.Role = op.Role
	}
	if err := c.Record(r.Context(), e); err != nil {
		c.Log.Error("console: audit sign-in", "session", s.ID, "err", err)
	}
	next := d.Next
	if next == "" {
		next = "/console/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	if err := c.Auth.Logout(r.Context(), v.session); err != nil {
		c.fail(w, r, err)
		return
	}
	c.clearSession(w)
	if err := c.record(r, ActionLogout, audit.OutcomeOK, map[string]string{"session": v.session.ID}); err != nil {
		c.Log.Error("console: audit sign-out", "session", v.session.ID, "err", err)
	}
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

type enrolData struct {
	Secret string
	URL    string
	QR     template.URL // data: URL of a PNG QR code of URL (built here, base64 only), or ""
	Error  string       // message key
}

// enrolForm draws a TOTP secret for the operator and shows it once, as
// text, as an otpauth:// URL and as a QR code.
func (c *Console) enrolForm(w http.ResponseWriter, r *http.Request) {
	enr, err := c.Auth.EnrolTOTP(r.Context(), viewerOf(r).op.ID)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.Render(w, r, "enrol.html", enrolData{Secret: enr.Secret, URL: enr.URL, QR: qrCode(enr.URL)})
}

// enrol confirms the enrolment with a code and shows the recovery codes,
// once; the operator then signs in again with a code.
func (c *Console) enrol(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	codes, err := c.Auth.ConfirmTOTP(r.Context(), v.op.ID, r.PostFormValue("code"))
	if err != nil {
		code := garde.ErrorCode(err)
		if code != garde.EInvalid && code != garde.ETooMany {
			c.fail(w, r, err)
			return
		}
		// Show the same secret again, as long as it has the shape of one:
		// the sealed one is what the code is checked against.
		d := enrolData{Error: "enrol.wrong"}
		if code == garde.ETooMany {
			d.Error = "enrol.toomany"
		}
		if s, u := r.PostFormValue("secret"), r.PostFormValue("url"); base32Secret(s) && strings.HasPrefix(u, "otpauth://totp/") {
			d.Secret, d.URL, d.QR = s, u, qrCode(u)
		}
		c.render(w, r, garde.ErrorStatus(code), "enrol.html", d)
		return
	}
	c.clearSession(w)
	if err := c.record(r, ActionEnrol, audit.OutcomeOK, nil); err != nil {
		c.Log.Error("console: audit enrolment", "err", err)
	}
	c.Render(w, r, "recovery.html", codes)
}

func base32Secret(s string) bool {
	return len(s) >= 16 && len(s) <= 128 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=") == ""
}

// qrCode returns a data: URL of a PNG QR code of an otpauth:// URL, or "".
func qrCode(url string) template.URL {
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return ""
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// home shows the operator's role, what it reaches, and their own training
// status.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	st, err := c.Auth.TrainingStatus(r.Context(), v.op.ID, c.now())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := homeData{Training: st}
	if role := c.Inventory.Role(v.op.Role); role != nil {
		d.Purposes = c.Inventory.PurposeKeys(role.Purposes)
		d.Categories = c.Inventory.CategoriesOf(role.Purposes)
	}
	c.Render(w, r, "home.html", d)
}

type homeData struct {
	Training   access.TrainingStatus
	Purposes   []string
	Categories []string
}
