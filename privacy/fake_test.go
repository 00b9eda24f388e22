package privacy

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/inventory"
)

// fakeBackend is an in-memory Backend: one person known under
// known@example.com, codes "123456", one-time download tokens.
type fakeBackend struct {
	inv *inventory.Inventory
	clk *gardetest.Clock

	mu       sync.Mutex
	requests map[string]*fakeRequest
	consents map[string]bool // purpose → given
	fields   map[string]string
	tokens   map[string][]byte
	asks     int
	decides  int
	rectifs  int
	siteUsed bool
	// fail, when set, is returned by every method.
	fail error
}

type fakeRequest struct {
	ask      Ask
	verified bool
	status   Status
}

const (
	knownEmail = "known@example.com"
	goodCode   = "123456"
)

func newFake(inv *inventory.Inventory, clk *gardetest.Clock) *fakeBackend {
	f := &fakeBackend{inv: inv, clk: clk, requests: map[string]*fakeRequest{}, consents: map[string]bool{},
		fields: map[string]string{"email": knownEmail, "first_name": "Ada"}, tokens: map[string][]byte{}}
	for _, p := range inv.Purposes {
		if p.LegalBasis == inventory.Consent {
			f.consents[p.Key] = false
		}
	}
	f.consents["analytics"] = true
	return f
}

// goodSiteToken is the one token the fake accepts, once.
const goodSiteToken = "site.token.good"

func (f *fakeBackend) AskSigned(ctx context.Context, a Ask, token string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token != goodSiteToken || f.siteUsed {
		return "", garde.Errorf(garde.EInvalid, "the link is not valid")
	}
	f.siteUsed = true
	id := "r_" + garde.RandomID()
	now := f.clk.Now()
	f.requests[id] = &fakeRequest{ask: a, verified: true, status: Status{ID: id, Kind: a.Kind, State: "verified", Received: now,
		DueBy: now.AddDate(0, 1, 0), Known: true}}
	return id, nil
}

func (f *fakeBackend) Ask(ctx context.Context, a Ask) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	f.asks++
	if !slices.Contains(kinds, a.Kind) {
		return "", garde.Errorf(garde.EInvalid, "unknown request type %q", a.Kind)
	}
	if a.Jurisdiction != "GDPR" && a.Jurisdiction != "CCPA" {
		return "", garde.Errorf(garde.EInvalid, "unknown jurisdiction %q", a.Jurisdiction)
	}
	if a.Jurisdiction == "CCPA" && (a.Kind == KindRestriction || a.Kind == KindObjection) {
		return "", garde.Errorf(garde.EInvalid, "%s is not a CCPA right", a.Kind)
	}
	if !strings.Contains(a.Email, "@") {
		return "", garde.Errorf(garde.EInvalid, "this is not an email address")
	}
	if strings.HasPrefix(a.Email, "flood") {
		return "", garde.Errorf(garde.ETooMany, "too many codes; wait a few minutes")
	}
	prefix := "r_"
	if a.Kind == KindConsents {
		prefix = "v_"
	}
	id := prefix + garde.RandomID()
	now := f.clk.Now()
	f.requests[id] = &fakeRequest{ask: a, status: Status{ID: id, Kind: a.Kind, State: "received", Received: now,
		DueBy: now.AddDate(0, 1, 0)}}
	return id, nil
}

func (f *fakeBackend) Confirm(ctx context.Context, id, code, ip string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	r := f.requests[id]
	if r == nil || code != goodCode {
		return garde.Errorf(garde.EInvalid, "wrong or expired code")
	}
	r.verified = true
	r.status.State = "verified"
	r.status.Known = r.ask.Email == knownEmail
	return nil
}

func (f *fakeBackend) find(id string) (*fakeRequest, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	r := f.requests[id]
	if r == nil {
		return nil, garde.Errorf(garde.ENotFound, "no such request")
	}
	if !r.verified {
		return nil, garde.Errorf(garde.EForbidden, "the address is not verified yet")
	}
	return r, nil
}

func (f *fakeBackend) Status(ctx context.Context, id string) (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.find(id)
	if err != nil {
		return Status{}, err
	}
	return r.status, nil
}

// set changes a request's status as the jobs would.
func (f *fakeBackend) set(id string, change func(*Status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.requests[id].status)
}

func (f *fakeBackend) Consents(ctx context.Context, id string) ([]Consent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.find(id)
	if err != nil || !r.status.Known {
		return nil, err
	}
	var out []Consent
	for _, p := range f.inv.Purposes {
		given, ok := f.consents[p.Key]
		if !ok {
			continue
		}
		c := Consent{Purpose: p.Key, Description: inLang(p.Description, r.ask.Lang), LegalBasis: string(p.LegalBasis), Given: given}
		if given {
			c.Expires = f.clk.Now().AddDate(0, 13, 0)
		}
		out = append(out, c)
	}
	return out, nil
}

func (f *fakeBackend) Decide(ctx context.Context, id string, d Decision) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.find(id)
	if err != nil {
		return err
	}
	if !r.status.Known {
		return garde.Errorf(garde.ENotFound, "Garde holds no consent for this address")
	}
	if _, ok := f.consents[d.Purpose]; !ok {
		return garde.Errorf(garde.EInvalid, "no purpose %q asks for consent", d.Purpose)
	}
	f.decides++
	f.consents[d.Purpose] = d.Give
	return nil
}

func (f *fakeBackend) Fields(ctx context.Context, id string) ([]Field, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.find(id)
	if err != nil || !r.status.Known {
		return nil, err
	}
	var out []Field
	for _, name := range []string{"email", "first_name", "phone"} {
		tr := f.inv.Plan.Traits[name]
		out = append(out, Field{Name: name, Category: tr.Category.Key, Value: f.fields[name]})
	}
	return out, nil
}

func (f *fakeBackend) Rectify(ctx context.Context, id, field, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.find(id)
	if err != nil {
		return err
	}
	if f.inv.Plan.Traits[field] == nil {
		return garde.Errorf(garde.EInvalid, "%q is not a field Garde keeps", field)
	}
	if value == "not-a-string" {
		return garde.Errorf(garde.EInvalid, "%s takes a string", field)
	}
	if !r.status.Known {
		return garde.Errorf(garde.ENotFound, "Garde holds nothing to correct for this address")
	}
	f.rectifs++
	f.fields[field] = value
	return nil
}

func (f *fakeBackend) Take(ctx context.Context, token string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	zip, ok := f.tokens[token]
	if !ok {
		return nil, garde.Errorf(garde.ENotFound, "this link is not valid")
	}
	delete(f.tokens, token)
	return zip, nil
}

// fixture is a centre over the fake backend, with the example inventory.
type fixture struct {
	c    *Centre
	fake *fakeBackend
	clk  *gardetest.Clock
	h    http.Handler
	logs *bytes.Buffer
}

var testKey = bytes.Repeat([]byte{7}, 32)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	inv := inventory.MustExample()
	clk := gardetest.NewClock(time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC))
	fake := newFake(inv, clk)
	logs := &bytes.Buffer{}
	c := &Centre{Backend: fake, Inventory: inv, Key: testKey, Clock: clk,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	mux := http.NewServeMux()
	c.Register(mux)
	return &fixture{c: c, fake: fake, clk: clk, h: mux, logs: logs}
}

// browser keeps cookies between requests, like a browser without script.
type browser struct {
	t        testing.TB
	h        http.Handler
	cookies  map[string]*http.Cookie
	language string // Accept-Language
	last     string // the last page's body
}

func (fx *fixture) browser(t testing.TB, language string) *browser {
	return &browser{t: t, h: fx.h, cookies: map[string]*http.Cookie{}, language: language}
}

func (b *browser) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	req.RemoteAddr = "192.0.2.10:4321"
	if b.language != "" {
		req.Header.Set("Accept-Language", b.language)
	}
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, req)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		b.last = w.Body.String()
	}
	return w
}

func (b *browser) get(target string) *httptest.ResponseRecorder {
	return b.do(http.MethodGet, target, nil)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post sends a form with the CSRF token of the last page seen.
func (b *browser) post(target string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if m := csrfInput.FindStringSubmatch(b.last); m != nil && !form.Has(csrfField) {
		form.Set(csrfField, m[1])
	}
	return b.do(http.MethodPost, target, form)
}

// ask fills the home page's form and returns the answer (a redirect to
// the code page when accepted).
func (b *browser) ask(kind, where, email string) *httptest.ResponseRecorder {
	b.t.Helper()
	b.get("/privacy")
	return b.post("/privacy/ask", url.Values{"kind": {kind}, "where": {where}, "email": {email}})
}

// verified asks and types the right code, and returns the request id.
func (b *browser) verified(kind, email string) string {
	b.t.Helper()
	w := b.ask(kind, "gdpr", email)
	if w.Code != http.StatusSeeOther {
		b.t.Fatalf("ask: status %d, want 303\n%s", w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/privacy/requests/"), "/verify")
	b.get(loc)
	w = b.post(loc, url.Values{"code": {goodCode}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/privacy/requests/"+id {
		b.t.Fatalf("verify: status %d, location %q", w.Code, w.Header().Get("Location"))
	}
	return id
}
