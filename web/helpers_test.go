package web_test

import (
	"context"
	"crypto/ed25519"
	"embed"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/web"
)

// start is the test clock's first reading.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// edSigner is a small Ed25519 audit.Signer.
type edSigner struct{ priv ed25519.PrivateKey }

func (s edSigner) Sign(msg []byte) (string, []byte, error) {
	return "test", ed25519.Sign(s.priv, msg), nil
}

func (s edSigner) Verify(kid string, msg, sig []byte) error {
	if kid != "test" || !ed25519.Verify(s.priv.Public().(ed25519.PublicKey), msg, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// env is a console over a real SQLite store, served by httptest.
type env struct {
	t       *testing.T
	clock   *gardetest.Clock
	db      *store.DB
	auth    *access.Auth
	ops     *store.Operators
	keys    *store.APIKeys
	audit   *store.Audit
	log     *audit.Log
	signer  edSigner
	alerts  *store.Alerts
	console *web.Console
	srv     *httptest.Server
}

// fastArgon2 keeps the tests quick; production uses access.DefaultArgon2.
var fastArgon2 = access.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, clock: gardetest.NewClock(start), db: db, ops: store.NewOperators(db), keys: store.NewAPIKeys(db),
		audit: store.NewAudit(db), alerts: store.NewAlerts(db)}
	e.signer = edSigner{ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))}
	e.log = &audit.Log{Signer: e.signer, Clock: e.clock}
	sealer, err := access.NewAESSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e.auth, err = access.NewAuth(access.Config{Store: e.ops, Sealer: sealer, Clock: e.clock, Argon2: fastArgon2,
		IPLimit: access.RateLimit{Every: time.Millisecond, Burst: 10_000}, AccountLimit: access.RateLimit{Every: time.Millisecond, Burst: 10_000}})
	if err != nil {
		t.Fatal(err)
	}
	e.console = &web.Console{
		Inventory: inventory.MustExample(), Auth: e.auth, Operators: e.ops, Keys: e.keys,
		Audit: e.audit, AuditSigner: e.signer, Alerts: web.DetectorAlerts(&audit.Detector{Store: e.alerts, Clock: e.clock}), Clock: e.clock,
		AppendAudit: func(ctx context.Context, en audit.Entry) error { return e.audit.Append(ctx, e.log, en) },
	}
	mux := http.NewServeMux()
	e.console.Register(mux)
	e.srv = httptest.NewServer(api.WithRequestID(mux))
	t.Cleanup(e.srv.Close)
	return e
}

// operator is a test operator with their secrets.
type operator struct {
	ID, Email, Password, Secret string
}

// operator creates an operator of role with TOTP enrolled.
func (e *env) operator(role, name string) operator {
	e.t.Helper()
	ctx := context.Background()
	email := role + "." + strings.ToLower(strings.ReplaceAll(name, " ", "")) + "@garde.example"
	if len(email) > 60 || strings.ContainsAny(email, "<>") {
		email = role + "@garde.example"
	}
	o, pw, err := e.auth.CreateOperator(ctx, email, name, role)
	if err != nil {
		e.t.Fatal(err)
	}
	enr, err := e.auth.EnrolTOTP(ctx, o.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.auth.ConfirmTOTP(ctx, o.ID, e.code(enr.Secret)); err != nil {
		e.t.Fatal(err)
	}
	e.clock.Add(30 * time.Second) // a fresh TOTP step for the next code
	return operator{ID: o.ID, Email: email, Password: pw, Secret: enr.Secret}
}

func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := access.TOTPCode(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// client is a browser: a cookie jar, no redirect following.
type client struct {
	e *env
	*http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signIn returns a client signed in as o.
func (e *env) signIn(o operator) *client {
	e.t.Helper()
	c := e.client()
	res := c.login(o.Email, o.Password, e.code(o.Secret))
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/" {
		e.t.Fatalf("sign-in: got %d → %q, want 303 → /console/\n%s", res.status, res.header.Get("Location"), res.body)
	}
	e.clock.Add(30 * time.Second) // codes are single-use per step
	return c
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	res, err := c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

func (c *client) get(path string, header ...string) response {
	c.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

// post sends a form as is (no CSRF token added).
func (c *client) post(path string, form url.Values) response {
	c.e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of the forms of the page at path.
func (c *client) csrf(path string) string {
	c.e.t.Helper()
	res := c.get(path)
	m := csrfRE.FindStringSubmatch(res.body)
	if m == nil {
		c.e.t.Fatalf("GET %s: no CSRF token in the page (status %d)", path, res.status)
	}
	return html.UnescapeString(m[1])
}

// submit posts a form from the page at from, with that page's CSRF token.
func (c *client) submit(from, path string, form url.Values) response {
	c.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.csrf(from))
	return c.post(path, form)
}

// login posts the sign-in form.
func (c *client) login(email, password, code string) response {
	c.e.t.Helper()
	return c.submit("/console/login", "/console/login", url.Values{"email": {email}, "password": {password}, "code": {code}})
}

// entries returns the audit entries of action.
func (e *env) entries(action string) []audit.Entry {
	e.t.Helper()
	var out []audit.Entry
	err := e.audit.FindAudit(context.Background(), audit.Filter{Action: action}, func(en *audit.Entry) error {
		out = append(out, *en)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// httptestRecorder runs h behind SecurityHeaders and returns the headers.
func httptestRecorder(h http.Handler, secure bool) http.Header {
	rec := httptest.NewRecorder()
	web.SecurityHeaders(secure, h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Header()
}

//go:embed testdata/*.html
var testTemplates embed.FS

// raise stores alerts as the detector would.
func (e *env) raise(alerts ...audit.Alert) []audit.Alert {
	e.t.Helper()
	if err := e.alerts.CreateAlerts(context.Background(), alerts); err != nil {
		e.t.Fatal(err)
	}
	return alerts
}
