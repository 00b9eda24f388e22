package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// movingClock is a clock the test moves forward.
type movingClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}

func (c *movingClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// guardianSite serves the guardian flow of a running Garde, built from its
// pieces exactly as app.go is to build it, on its own loopback listener
// (Main does not mount it yet), with a MemoryNotifier and a clock the test
// moves.
type guardianSite struct {
	in    *instance
	g     *consent.Guardians
	mail  *consent.MemoryNotifier
	clock *movingClock
	base  string
}

func (in *instance) guardianSite() *guardianSite {
	t := in.t
	t.Helper()
	ctx := context.Background()
	m := in.m
	receipts, err := m.Vault.Signer(ctx, vault.UseReceipts)
	if err != nil {
		t.Fatal(err)
	}
	links, err := m.Vault.Signer(ctx, vault.UseLinks)
	if err != nil {
		t.Fatal(err)
	}
	h := &consent.Handler{Inventory: m.Inventory, Ledger: m.Ledger, Index: m.Consent, BlindIdx: m.Vault, Receipts: receipts,
		Operator: func(*http.Request) (string, error) {
			return "", garde.Errorf(garde.EUnauthorized, "no API keys on this test listener")
		}, Clock: garde.SystemClock{}, Log: m.Log}
	s := &guardianSite{in: in, mail: &consent.MemoryNotifier{}, clock: &movingClock{}}
	s.g = &consent.Guardians{Ledger: m.Ledger, Store: store.NewGuardians(m.Data), Links: links, Notifier: s.mail,
		Clock: s.clock, API: h}
	mux := http.NewServeMux()
	s.g.Register(mux, func(next http.Handler) http.Handler { return next })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.g.BaseURL, s.base = srv.URL, srv.URL
	return s
}

func (s *guardianSite) do(method, path string, body io.Reader, header map[string]string) answer {
	s.in.t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.in.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// ask posts a minor's call to POST /v1/consent/guardian.
func (s *guardianSite) ask(body map[string]any, writeKey string) answer {
	s.in.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.base+"/v1/consent/guardian", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if writeKey != "" {
		req.SetBasicAuth(writeKey, "")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.in.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: out}
}

// answerForm posts the guardian page's form.
func (s *guardianSite) answerForm(path string, form url.Values) answer {
	return s.do("POST", path, strings.NewReader(form.Encode()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
}

var guardianLinkRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+(/consent/guardian/[A-Za-z0-9_.-]+)`)

// lastLink returns the path of the link in the last message.
func (s *guardianSite) lastLink() string {
	s.in.t.Helper()
	msgs := s.mail.Messages()
	if len(msgs) == 0 {
		s.in.t.Fatal("no message to the guardian")
	}
	m := guardianLinkRE.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		s.in.t.Fatalf("no link in:\n%s", msgs[len(msgs)-1].Text)
	}
	return m[1]
}

func childCall(anon string, decisions map[string]any) map[string]any {
	return map[string]any{
		"anonymousId": anon, "decisions": decisions, "source": "banner",
		"notice": map[string]any{"version": 1, "language": "fr"}, "country": "FR",
		"age": map[string]any{"status": "minor", "years": 14, "method": "self_declared"},
	}
}

const guardianEmail = "ondine.vasseur-guardian@example.net"

// TestGuardianEndToEnd: a 14-year-old in France cannot consent alone; the
// guardian flow over HTTP (request → message → page → answer) makes the
// approved purposes allowed and only those; targeted advertising is never
// allowed; the link answers once, and an expired or tampered link records
// nothing; the guardian's address is stored nowhere.
func TestGuardianEndToEnd(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir, collect.WriterOptions{})
	site := in.guardianSite()
	const anon = "anon-guardian-child"
	decisions := map[string]any{"analytics": "given", "personalisation": "given", "email_marketing": "refused"}

	// alone: refused
	b, _ := json.Marshal(childCall(anon, decisions))
	if a := in.do("POST", "/v1/consent", gardetest.WebKey, b, nil); a.status != http.StatusForbidden || a.errorCode(t) != garde.ENoConsent {
		t.Fatalf("a minor alone: %d %s", a.status, a.body)
	}

	// bad calls: no write key, targeted advertising, no address, unknown field
	withEmail := func(c map[string]any, email string) map[string]any {
		c["guardianEmail"] = email
		return c
	}
	for _, tc := range []struct {
		name     string
		body     map[string]any
		key      string
		status   int
		wantCode string
	}{
		{"no write key", withEmail(childCall(anon, decisions), guardianEmail), "", http.StatusUnauthorized, garde.EUnauthorized},
		{"targeted advertising", withEmail(childCall(anon, map[string]any{"targeted_advertising": "given"}), guardianEmail), gardetest.WebKey, http.StatusForbidden, garde.EForbidden},
		{"no address", childCall(anon, decisions), gardetest.WebKey, http.StatusBadRequest, garde.EInvalid},
		{"a misspelt field", map[string]any{"guardianEmial": guardianEmail, "anonymousId": anon, "decisions": decisions}, gardetest.WebKey, http.StatusBadRequest, garde.EInvalid},
		{"an adult", withEmail(map[string]any{"anonymousId": anon, "decisions": decisions, "country": "FR", "age": map[string]any{"status": "adult"}}, guardianEmail), gardetest.WebKey, http.StatusBadRequest, garde.EInvalid},
	} {
		a := site.ask(tc.body, tc.key)
		if a.status != tc.status || a.errorCode(t) != tc.wantCode {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
		}
	}
	if n := len(site.mail.Messages()); n != 0 {
		t.Fatalf("%d messages after refused calls", n)
	}

	// the request
	a := site.ask(withEmail(childCall(anon, decisions), guardianEmail), gardetest.WebKey)
	if a.status != http.StatusAccepted {
		t.Fatalf("guardian request: %d %s", a.status, a.body)
	}
	var started consent.GuardianPostAnswer
	a.decode(t, &started)
	if !strings.HasPrefix(started.RequestID, "gr_") || started.Expires.IsZero() {
		t.Fatalf("answer %s", a.body)
	}
	msgs := site.mail.Messages()
	if len(msgs) != 1 || msgs[0].To != guardianEmail || msgs[0].Lang != "fr" || !strings.Contains(msgs[0].Text, "Mesure d'audience") {
		t.Fatalf("messages: %+v", msgs)
	}
	link := site.lastLink()

	// until the guardian answers, nothing based on consent is allowed
	state := func() map[string]bool {
		t.Helper()
		a := in.do("GET", "/v1/consent?anonymousId="+anon, gardetest.WebKey, nil, nil)
		if a.status != http.StatusOK {
			t.Fatalf("state: %d %s", a.status, a.body)
		}
		var st map[string]any
		a.decode(t, &st)
		return purposesOf(st)
	}
	if st := state(); st["analytics"] || st["personalisation"] || st["targeted_advertising"] || !st["service"] {
		t.Fatalf("state before the guardian answered: %v", st)
	}

	// the page: English by Accept-Language, every purpose unticked, two
	// buttons of one style, labels, no script
	page := site.do("GET", link, nil, map[string]string{"Accept-Language": "en-GB,en;q=0.9"})
	html := string(page.body)
	if page.status != http.StatusOK || !strings.Contains(html, `<html lang="en">`) || !strings.Contains(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", page.status, html)
	}
	for _, want := range []string{`id="p-analytics" name="purpose" value="analytics"`, `<label for="p-analytics">Audience measurement</label>`,
		`id="p-personalisation"`, `<label for="guardian">`, `value="approve" class="choice"`, `value="refuse" class="choice"`} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(html, "checked") || strings.Contains(html, "<script") || strings.Contains(html, "email_marketing") {
		t.Errorf("page ticks a box, runs a script or asks about a refused purpose:\n%s", html)
	}
	if page.header.Get("Referrer-Policy") != "no-referrer" || page.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", page.header)
	}
	// the only style is allowed by its hash: no inline style or script else
	style := html[strings.Index(html, "<style>")+len("<style>") : strings.Index(html, "</style>")]
	sum := sha256.Sum256([]byte(style))
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") ||
		strings.Contains(csp, "unsafe") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if fr := site.do("GET", link, nil, map[string]string{"Accept-Language": "fr"}); !strings.Contains(string(fr.body), `<html lang="fr">`) ||
		!strings.Contains(string(fr.body), "Tout refuser") {
		t.Errorf("French page: %s", fr.body)
	}

	// approving without the confirmation of being the guardian: refused
	if a := site.answerForm(link, url.Values{"action": {"approve"}, "purpose": {"analytics"}}); a.status != http.StatusBadRequest {
		t.Fatalf("approve without confirmation: %d", a.status)
	}
	// the answer: analytics approved, personalisation not
	done := site.answerForm(link, url.Values{"action": {"approve"}, "purpose": {"analytics"}, "guardian": {"yes"}})
	if done.status != http.StatusOK {
		t.Fatalf("answer: %d %s", done.status, done.body)
	}
	receiptID := regexp.MustCompile(`<strong id="receipt">(rcpt_[a-z2-7]+)</strong>`).FindStringSubmatch(string(done.body))
	token := regexp.MustCompile(`<textarea id="token" rows="6" readonly>([A-Za-z0-9_.-]+)</textarea>`).FindStringSubmatch(string(done.body))
	if receiptID == nil || token == nil || !strings.Contains(string(done.body), "Votre réponse est enregistrée") {
		t.Fatalf("confirmation:\n%s", done.body)
	}
	// the receipt verifies against the keys Garde publishes
	keys, err := jws.ParseJWKS(in.do("GET", "/.well-known/jwks.json", "", nil, nil).body)
	if err != nil {
		t.Fatal(err)
	}
	r, err := consent.VerifyReceipt(token[1], keys)
	if err != nil || r.ID != receiptID[1] || r.CollectionMethod != consent.SourceGuardian || len(r.Purposes) != 2 {
		t.Fatalf("receipt %+v, %v", r, err)
	}

	st := state()
	if !st["analytics"] || st["personalisation"] || st["targeted_advertising"] {
		t.Fatalf("state after the guardian approved analytics: %v", st)
	}
	// targeted advertising stays off for a known minor, even asked for again
	if a := site.ask(withEmail(childCall(anon, map[string]any{"targeted_advertising": "given"}), guardianEmail), gardetest.WebKey); a.status != http.StatusForbidden {
		t.Fatalf("ads for a minor: %d %s", a.status, a.body)
	}

	// the ledger: two guardian records naming the request, the child's refusal
	if n := in.count(`SELECT count(*) FROM consent_records WHERE json_extract(body, '$.source') = 'guardian'
		AND json_extract(body, '$.guardian') = ? AND json_extract(body, '$.age.method') = 'guardian'`, started.RequestID); n != 2 {
		t.Fatalf("%d guardian records, want 2", n)
	}
	guardianRecords := func() int {
		return in.count(`SELECT count(*) FROM consent_records WHERE json_extract(body, '$.source') = 'guardian'`)
	}

	// replayed: 409, nothing recorded
	if a := site.answerForm(link, url.Values{"action": {"approve"}, "purpose": {"personalisation"}, "guardian": {"yes"}}); a.status != http.StatusConflict {
		t.Fatalf("replay: %d %s", a.status, a.body)
	}
	if a := site.do("GET", link, nil, nil); a.status != http.StatusConflict {
		t.Fatalf("replayed page: %d", a.status)
	}

	// tampered: 400, nothing recorded
	a = site.ask(withEmail(childCall("anon-guardian-child-2", decisions), guardianEmail), gardetest.WebKey)
	if a.status != http.StatusAccepted {
		t.Fatalf("second request: %d %s", a.status, a.body)
	}
	link2 := site.lastLink()
	// one character of the payload changed (the request id): the signature
	// no longer verifies
	i := strings.Index(link2, ".") + 20
	c := byte('A')
	if link2[i] == 'A' {
		c = 'B'
	}
	tampered := link2[:i] + string(c) + link2[i+1:]
	for _, l := range []string{tampered, link2[:len(link2)-4], "/consent/guardian/nonsense"} {
		if a := site.answerForm(l, url.Values{"action": {"approve"}, "purpose": {"analytics"}, "guardian": {"yes"}}); a.status != http.StatusBadRequest {
			t.Fatalf("tampered link: %d %s", a.status, a.body)
		}
	}
	// expired: 400 on the page and on the answer, nothing recorded
	site.clock.Add(7*24*time.Hour + time.Minute)
	if a := site.do("GET", link2, nil, nil); a.status != http.StatusBadRequest || !strings.Contains(string(a.body), "expired") {
		t.Fatalf("expired page: %d %s", a.status, a.body)
	}
	if a := site.answerForm(link2, url.Values{"action": {"approve"}, "purpose": {"analytics"}, "guardian": {"yes"}}); a.status != http.StatusBadRequest {
		t.Fatalf("expired answer: %d %s", a.status, a.body)
	}
	if n := guardianRecords(); n != 2 {
		t.Fatalf("%d guardian records after refused answers, want 2", n)
	}

	// the ledger's chain verifies
	if n, brk, err := consent.VerifyChain(context.Background(), store.NewConsent(in.m.Data)); err != nil || brk != nil || n < 3 {
		t.Fatalf("chain: %d, %+v, %v", n, brk, err)
	}

	// the guardian's address is in no file of the data directory, nor in
	// the logs
	in.close()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), []byte("ondine.vasseur")) {
			t.Errorf("%s holds the guardian's address", path)
		}
		return nil
	})
	if strings.Contains(in.logs.String(), "ondine.vasseur") {
		t.Error("the logs hold the guardian's address")
	}
}
