package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/web"
)

const failed = "Wrong email, password or code, or sign-in temporarily locked."

func TestLogin(t *testing.T) {
	e := newEnv(t)
	o := e.operator("admin", "Ada")

	t.Run("success", func(t *testing.T) {
		c := e.client()
		res := c.login(o.Email, o.Password, e.code(o.Secret))
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/" {
			t.Fatalf("got %d → %q, want 303 → /console/", res.status, res.header.Get("Location"))
		}
		e.clock.Add(30 * time.Second)
		var cookie string
		for _, sc := range res.header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "garde_session=") {
				cookie = sc
			}
		}
		for _, attr := range []string{"Path=/console", "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("session cookie %q lacks %s", cookie, attr)
			}
		}
		if strings.Contains(cookie, "Secure") || strings.Contains(cookie, "Max-Age") || strings.Contains(cookie, "Expires") {
			t.Errorf("session cookie %q: want a session cookie, not Secure without TLS", cookie)
		}
		if res := c.get("/console/"); res.status != http.StatusOK || !strings.Contains(res.body, "Welcome, Ada") {
			t.Errorf("home after sign-in: got %d", res.status)
		}
		if n := len(e.entries("session.login")); n == 0 {
			t.Errorf("no session.login audit entry")
		}
	})

	t.Run("next", func(t *testing.T) {
		c := e.client()
		res := c.get("/console/keys")
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/login?next=%2Fconsole%2Fkeys" {
			t.Fatalf("got %d → %q", res.status, res.header.Get("Location"))
		}
		form := url.Values{"email": {o.Email}, "password": {o.Password}, "code": {e.code(o.Secret)}, "next": {"/console/keys"}}
		res = c.submit("/console/login?next=%2Fconsole%2Fkeys", "/console/login", form)
		e.clock.Add(30 * time.Second)
		if res.header.Get("Location") != "/console/keys" {
			t.Errorf("after sign-in: sent to %q, want /console/keys", res.header.Get("Location"))
		}
		// Never off the console.
		form.Set("next", "//evil.example/console/")
		form.Set("code", e.code(o.Secret))
		res = e.client().submit("/console/login", "/console/login", form)
		e.clock.Add(30 * time.Second)
		if res.header.Get("Location") != "/console/" {
			t.Errorf("open redirect: sent to %q", res.header.Get("Location"))
		}
	})

	t.Run("failures look alike", func(t *testing.T) {
		refusedBefore := 0
		for _, en := range e.entries(web.ActionLogin) {
			if en.Outcome == audit.OutcomeRefused {
				refusedBefore++
			}
		}
		defer func() {
			refused := 0
			for _, en := range e.entries(web.ActionLogin) {
				if en.Outcome == audit.OutcomeRefused {
					refused++
					if en.Actor != "anonymous" || strings.Contains(fmt.Sprint(en.Detail), "@") {
						t.Errorf("refused sign-in entry names someone: %+v", en)
					}
				}
			}
			if refused-refusedBefore != 4 {
				t.Errorf("%d refused sign-ins audited, want 4", refused-refusedBefore)
			}
		}()
		for name, creds := range map[string][3]string{
			"wrong password": {o.Email, "not the password at all", e.code(o.Secret)},
			"wrong code":     {o.Email, o.Password, "000000"},
			"no code":        {o.Email, o.Password, ""},
			"unknown email":  {"nobody@garde.example", o.Password, e.code(o.Secret)},
		} {
			res := e.client().login(creds[0], creds[1], creds[2])
			if res.status != http.StatusUnauthorized || !strings.Contains(res.body, failed) {
				t.Errorf("%s: got %d, want 401 with the generic message", name, res.status)
			}
			if strings.Contains(res.body, "Set-Cookie: garde_session") {
				t.Errorf("%s: a session was set", name)
			}
		}
	})

	t.Run("lock-out", func(t *testing.T) {
		v := e.operator("support", "Victor")
		for range 10 {
			e.client().login(v.Email, "a wrong password, again", e.code(v.Secret))
		}
		res := e.client().login(v.Email, v.Password, e.code(v.Secret))
		if res.status != http.StatusUnauthorized || !strings.Contains(res.body, failed) {
			t.Fatalf("locked account: got %d, want 401 with the generic message", res.status)
		}
		// An administrator unlocks it from the operators page.
		admin := e.signIn(o)
		if res := admin.submit("/console/operators", "/console/operators/"+v.ID+"/unlock", nil); res.status != http.StatusSeeOther {
			t.Fatalf("unlock: got %d", res.status)
		}
		if res := e.client().login(v.Email, v.Password, e.code(v.Secret)); res.status != http.StatusSeeOther {
			t.Errorf("after unlock: got %d, want 303", res.status)
		}
		e.clock.Add(30 * time.Second)
	})

	t.Run("disabled", func(t *testing.T) {
		d := e.operator("analyst", "Dan")
		dc := e.signIn(d)
		admin := e.signIn(o)
		res := admin.submit("/console/operators", "/console/operators/"+d.ID+"/disabled", url.Values{"disabled": {"true"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("disable: got %d", res.status)
		}
		if res := dc.get("/console/"); res.status != http.StatusSeeOther {
			t.Errorf("session of a disabled operator: got %d, want 303 to sign in", res.status)
		}
		if res := e.client().login(d.Email, d.Password, e.code(d.Secret)); res.status != http.StatusUnauthorized {
			t.Errorf("sign-in of a disabled operator: got %d, want 401", res.status)
		}
	})
}

var secretRE = regexp.MustCompile(`<code class="secret">([A-Z2-7]{16,})</code>`)

func TestEnrolment(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, pw, err := e.auth.CreateOperator(ctx, "new@garde.example", "Nina", "marketer")
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	res := c.login(o.Email, pw, "")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/enrol" {
		t.Fatalf("first sign-in: got %d → %q, want 303 → /console/enrol", res.status, res.header.Get("Location"))
	}
	// The enrolment session opens nothing else.
	if res := c.get("/console/"); res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/enrol" {
		t.Errorf("home during enrolment: got %d → %q, want 303 → /console/enrol", res.status, res.header.Get("Location"))
	}
	page := c.get("/console/enrol")
	m := secretRE.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("enrolment page: got %d, no secret shown", page.status)
	}
	secret := m[1]
	for _, want := range []string{"otpauth://totp/", `src="data:image/png;base64,`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("enrolment page lacks %q", want)
		}
	}
	token := csrfRE.FindStringSubmatch(page.body)[1]
	form := url.Values{"csrf": {token}, "secret": {secret}, "url": {"otpauth://totp/x"}, "code": {"123456"}}
	if res := c.post("/console/enrol", form); res.status != http.StatusBadRequest || !strings.Contains(res.body, secret) {
		t.Errorf("wrong code: got %d, want 400 showing the same secret", res.status)
	}
	form.Set("code", e.code(secret))
	res = c.post("/console/enrol", form)
	codes := regexp.MustCompile(`<li><code class="secret">([A-Z0-9-]{19})</code></li>`).FindAllStringSubmatch(res.body, -1)
	if res.status != http.StatusOK || len(codes) != access.RecoveryCodeCount {
		t.Fatalf("confirm: got %d with %d recovery codes, want 200 with %d", res.status, len(codes), access.RecoveryCodeCount)
	}
	if len(e.entries("totp.enrol")) != 1 {
		t.Errorf("want one totp.enrol audit entry")
	}
	// Signed out: the next sign-in needs a code.
	if res := c.get("/console/enrol"); res.status != http.StatusSeeOther {
		t.Errorf("enrolment page after confirming: got %d, want 303", res.status)
	}
	e.clock.Add(30 * time.Second)
	if res := c.login(o.Email, pw, ""); res.status != http.StatusUnauthorized {
		t.Errorf("sign-in without a code after enrolment: got %d, want 401", res.status)
	}
	if res := c.login(o.Email, pw, e.code(secret)); res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/" {
		t.Errorf("sign-in with a code: got %d → %q", res.status, res.header.Get("Location"))
	}
	// A recovery code works once.
	if res := e.client().login(o.Email, pw, codes[0][1]); res.status != http.StatusSeeOther {
		t.Errorf("recovery code: got %d, want 303", res.status)
	}
	if res := e.client().login(o.Email, pw, codes[0][1]); res.status != http.StatusUnauthorized {
		t.Errorf("recovery code reused: got %d, want 401", res.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	o := e.operator("admin", "Ada")
	c := e.signIn(o)
	other := e.signIn(e.operator("admin", "Other"))
	otherToken := other.csrf("/console/")
	for name, form := range map[string]url.Values{
		"missing":           {},
		"wrong":             {"csrf": {"bm90IGEgdG9rZW4"}},
		"another session":   {"csrf": {otherToken}},
		"not base64 at all": {"csrf": {"<>"}},
	} {
		if res := c.post("/console/logout", form); res.status != http.StatusForbidden {
			t.Errorf("logout, %s token: got %d, want 403", name, res.status)
		}
		form.Set("email", "x@garde.example")
		form.Set("role", "admin")
		if res := c.post("/console/operators", form); res.status != http.StatusForbidden {
			t.Errorf("create operator, %s token: got %d, want 403", name, res.status)
		}
	}
	if n := len(e.entries("operator.create")); n != 0 {
		t.Errorf("refused forms left %d operator.create entries", n)
	}
	// The sign-in form is bound to its pre-session cookie.
	res := e.client().post("/console/login", url.Values{"email": {o.Email}, "password": {o.Password}, "code": {e.code(o.Secret)}})
	if res.status != http.StatusForbidden {
		t.Errorf("sign-in without a token: got %d, want 403", res.status)
	}
	res = e.client().post("/console/login", url.Values{"csrf": {e.client().csrf("/console/login")}, "email": {o.Email}})
	if res.status != http.StatusForbidden {
		t.Errorf("sign-in with another browser's token: got %d, want 403", res.status)
	}
	// Logout with the token ends the session.
	if res := c.submit("/console/", "/console/logout", nil); res.status != http.StatusSeeOther {
		t.Fatalf("logout: got %d", res.status)
	}
	if res := c.get("/console/"); res.status != http.StatusSeeOther {
		t.Errorf("after logout: got %d, want 303", res.status)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	o := e.operator("admin", "Ada")

	c := e.signIn(o)
	e.clock.Add(31 * time.Minute)
	res := c.get("/console/operators")
	if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "expired=1") {
		t.Fatalf("idle 31 minutes: got %d → %q, want 303 to sign in again", res.status, res.header.Get("Location"))
	}
	if res := c.get(res.header.Get("Location")); !strings.Contains(res.body, "Your session has ended") {
		t.Errorf("the sign-in form does not say the session ended")
	}

	c = e.signIn(o)
	for range 12 * 3 { // used every 20 minutes for 12 hours
		e.clock.Add(20 * time.Minute)
		if res := c.get("/console/"); res.status != http.StatusOK {
			break
		}
	}
	if res := c.get("/console/"); res.status != http.StatusSeeOther {
		t.Errorf("after 12 hours: got %d, want 303 to sign in again", res.status)
	}
}

func TestSecureCookiesAndHSTS(t *testing.T) {
	e := newEnv(t)
	e.console.Secure = true // read when cookies are set
	res := e.client().get("/console/login")
	for _, sc := range res.header.Values("Set-Cookie") {
		if !strings.Contains(sc, "Secure") {
			t.Errorf("cookie %q is not Secure under TLS", sc)
		}
	}
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	rec := httptestRecorder(h, true)
	if got := rec.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("HSTS: got %q", got)
	}
}
