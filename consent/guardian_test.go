package consent_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// env is a real ledger and guardian flow: SQLite databases in a temp dir,
// the vault, the collection writer.
type env struct {
	t      *testing.T
	inv    *inventory.Inventory
	data   *store.DB
	vault  *vault.Vault
	ledger *consent.Ledger
	g      *consent.Guardians
	mail   *consent.MemoryNotifier
	clock  *gardetest.Clock
}

func newEnv(t *testing.T, inv *inventory.Inventory) *env {
	t.Helper()
	ctx, dir := context.Background(), t.TempDir()
	mk, err := vault.CreateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.OpenSQLite(ctx, filepath.Join(dir, "keys.db"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	v, err := vault.Open(ctx, mk, store.NewKeys(keys), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := store.OpenSQLite(ctx, filepath.Join(dir, "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	idx := consent.NewIndex(inv)
	w := collect.NewWriter(store.NewCollect(data), v, idx,
		func(s inventory.PurposeSet) string { return strings.Join(inv.PurposeKeys(s), ",") },
		collect.WriterOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)), collect.NewMetrics(prometheus.NewRegistry()))
	t.Cleanup(w.Close)
	clock := gardetest.NewClock(t0)
	cstore := store.NewConsent(data)
	l := &consent.Ledger{Inventory: inv, Index: idx, Writer: w, Store: cstore, Subjects: cstore, TxOf: store.ConsentTx,
		Clock: clock, Salt: v.DeriveKey("consent ip and user-agent salt")}
	links, err := v.Signer(ctx, vault.UseLinks)
	if err != nil {
		t.Fatal(err)
	}
	mail := &consent.MemoryNotifier{}
	g := &consent.Guardians{Ledger: l, Store: store.NewGuardians(data), Links: links, Notifier: mail, Clock: clock,
		BaseURL: "https://garde.example/"}
	return &env{t: t, inv: inv, data: data, vault: v, ledger: l, g: g, mail: mail, clock: clock}
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.data.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// minorReq is a banner call of a child of years in country.
func (e *env) minorReq(anon, country string, years int, decisions map[string]consent.Decision) *consent.Request {
	return &consent.Request{
		IDs:    []collect.Identity{{Kind: collect.IdentityAnon, Hash: e.vault.BlindIndex(collect.IdentityAnon, anon)}},
		Create: true, Decisions: decisions, Source: consent.SourceBanner, Country: country,
		Notice: consent.Notice{Version: 1, Hash: "ab", Language: "fr"}, Age: consent.Age{Status: "minor", Years: years, Method: "self_declared"},
		Collector: "source:web", IP: "203.0.113.7", UserAgent: "Firefox",
	}
}

func (e *env) allowed(anon string, purposes ...string) []string {
	e.t.Helper()
	s, err := e.ledger.Canonical(context.Background(), []collect.Identity{{Kind: collect.IdentityAnon, Hash: e.vault.BlindIndex(collect.IdentityAnon, anon)}}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	set, err := e.inv.PurposeSetOf(purposes...)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.inv.PurposeKeys(e.ledger.Index.Allowed(s, set, e.clock.Now()))
}

var linkRE = regexp.MustCompile(`https://garde\.example/consent/guardian/([A-Za-z0-9_.-]+)`)

// lastLink returns the token of the last link mailed.
func (e *env) lastLink() string {
	e.t.Helper()
	msgs := e.mail.Messages()
	if len(msgs) == 0 {
		e.t.Fatal("no message sent")
	}
	m := linkRE.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		e.t.Fatalf("no link in the message:\n%s", msgs[len(msgs)-1].Text)
	}
	return m[1]
}

func given(keys ...string) map[string]consent.Decision {
	d := map[string]consent.Decision{}
	for _, k := range keys {
		d[k] = consent.Given
	}
	return d
}

var adult = consent.Age{Status: "adult", Method: "self_declared"}

// TestMinorAloneRefused: a minor's consent is refused without a guardian,
// and nothing is recorded.
func TestMinorAloneRefused(t *testing.T) {
	e := newEnv(t, inventory.MustExample())
	_, err := e.ledger.Decide(context.Background(), e.minorReq("anon-1", "FR", 14, given("analytics")))
	if garde.ErrorCode(err) != garde.ENoConsent {
		t.Fatalf("got %v, want %s", err, garde.ENoConsent)
	}
	if n := e.count(`SELECT count(*) FROM consent_records`); n != 0 {
		t.Fatalf("%d records, want none", n)
	}
}

// TestGuardianFlow: request → message → link → decision → purposes allowed;
// targeted advertising never; the link answers once.
func TestGuardianFlow(t *testing.T) {
	e := newEnv(t, inventory.MustExample())
	ctx := context.Background()
	const email = "Parent.Lumiere@Example.org"
	req := e.minorReq("anon-child", "FR", 14, map[string]consent.Decision{
		"analytics": consent.Given, "personalisation": consent.Given, "email_marketing": consent.Refused})
	id, err := e.g.Request(ctx, req, email, "fr-FR")
	if err != nil {
		t.Fatal(err)
	}

	// the message: to the guardian, in French, the purposes with their
	// descriptions, the joint consent, the link
	msgs := e.mail.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	for _, want := range []string{"Mesure d'audience", "Pour compter les visites", "Boutique personnalisée", "consentent conjointement",
		"14 ans", "https://garde.example/consent/guardian/", "6 décembre 2026"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Text)
		}
	}
	if m.To != strings.ToLower(email) || m.Lang != "fr" || !strings.Contains(m.Subject, "enfant") {
		t.Errorf("message %q to %q in %q", m.Subject, m.To, m.Lang)
	}
	if strings.Contains(m.Text, "Lettres d'information") {
		t.Error("the message asks about a purpose the child refused")
	}

	// until the guardian answers nothing is given; the child's refusal is
	// recorded at once
	if got := e.allowed("anon-child", "analytics", "personalisation", "email_marketing"); len(got) != 0 {
		t.Fatalf("allowed before the guardian answered: %v", got)
	}
	if n := e.count(`SELECT count(*) FROM consent_records WHERE decision = 'refused' AND purpose = 'email_marketing'`); n != 1 {
		t.Fatalf("the child's refusal: %d records, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM consent_records WHERE decision = 'given'`); n != 0 {
		t.Fatalf("%d consents given before the guardian answered", n)
	}
	// no e-mail address is stored, only its salted hash
	if n := e.count(`SELECT count(*) FROM guardian_requests WHERE id = ? AND status = 'pending' AND length(guardian_hash) = 32
		AND instr(lower(request), 'parent') = 0 AND instr(request, '203.0.113.7') = 0`, id); n != 1 {
		t.Fatal("the pending request is missing, or holds the address or the IP")
	}

	token := e.lastLink()
	gr, err := e.g.Open(ctx, token)
	if err != nil || gr.ID != id {
		t.Fatalf("open: %v, %v", gr, err)
	}
	e.clock.Add(time.Hour)
	res, err := e.g.Decide(ctx, token, map[string]bool{"analytics": true, "personalisation": false}, adult)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Records {
		if r.Source != consent.SourceGuardian || r.Guardian != id || r.Age != (consent.Age{Status: "minor", Years: 14, Method: "guardian"}) ||
			r.Country != "FR" || r.ReceiptID != res.Records[0].ReceiptID {
			t.Errorf("record %+v", r)
		}
		got = append(got, r.Purpose+"="+string(r.Decision))
	}
	if diff := cmp.Diff([]string{"analytics=given", "personalisation=refused"}, got); diff != "" {
		t.Fatalf("records (-want +got):\n%s", diff)
	}
	if got := e.allowed("anon-child", "analytics", "personalisation", "targeted_advertising", "service"); !cmp.Equal(got, []string{"service", "analytics"}) {
		t.Fatalf("allowed after the guardian approved analytics: %v", got)
	}

	// the request is closed with the answer
	gr, err = e.g.Store.FindGuardianRequest(ctx, id)
	if err != nil || gr.Status != consent.GuardianGiven || gr.Decision == nil || gr.Decision.ReceiptID != res.Records[0].ReceiptID ||
		!cmp.Equal(gr.Decision.Approved, []string{"analytics"}) || gr.Decided.IsZero() {
		t.Fatalf("request after the answer: %+v %+v, %v", gr, gr.Decision, err)
	}

	// replayed: refused, nothing more recorded
	before := e.count(`SELECT count(*) FROM consent_records`)
	if _, err := e.g.Decide(ctx, token, map[string]bool{"personalisation": true}, adult); garde.ErrorCode(err) != garde.EConflict {
		t.Fatalf("replay: got %v, want %s", err, garde.EConflict)
	}
	if n := e.count(`SELECT count(*) FROM consent_records`); n != before {
		t.Fatalf("replay recorded %d records", n-before)
	}

	// the chain verifies, and the state rebuilt from the ledger is the same
	if n, brk, err := consent.VerifyChain(ctx, store.NewConsent(e.data)); err != nil || brk != nil || n != 3 {
		t.Fatalf("chain: %d records, %+v, %v", n, brk, err)
	}
	fresh := consent.NewIndex(e.inv)
	l2 := *e.ledger
	l2.Index = fresh
	if _, err := l2.Load(ctx, func(s garde.SubjectID) garde.SubjectID { return s }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e.ledger.Index.State(res.Subject, e.clock.Now()), fresh.State(res.Subject, e.clock.Now())); diff != "" {
		t.Fatalf("state rebuilt from the ledger differs:\n%s", diff)
	}
}

// TestGuardianRequestRefused: bad requests are refused, and nothing is
// recorded or sent.
func TestGuardianRequestRefused(t *testing.T) {
	inv := saleInventory(t)
	for _, tc := range []struct {
		name  string
		req   func(e *env) *consent.Request
		email string
		want  string
	}{
		{"an adult needs no guardian", func(e *env) *consent.Request {
			r := e.minorReq("a", "FR", 0, given("analytics"))
			r.Age = adult
			return r
		}, "parent@example.org", garde.EInvalid},
		{"old enough to consent alone", func(e *env) *consent.Request { return e.minorReq("a", "FR", 15, given("analytics")) }, "parent@example.org", garde.EInvalid},
		{"only refusals", func(e *env) *consent.Request {
			return e.minorReq("a", "FR", 12, map[string]consent.Decision{"analytics": consent.Refused})
		}, "parent@example.org", garde.EInvalid},
		{"targeted advertising", func(e *env) *consent.Request {
			return e.minorReq("a", "FR", 12, given("analytics", "targeted_advertising"))
		}, "parent@example.org", garde.EForbidden},
		{"sale for a US child under 13: more than an e-mail", func(e *env) *consent.Request {
			r := e.minorReq("a", "US", 12, given("data_sale"))
			r.Region = "CA"
			return r
		}, "parent@example.org", garde.EForbidden},
		{"unknown purpose", func(e *env) *consent.Request { return e.minorReq("a", "FR", 12, given("nope")) }, "parent@example.org", garde.EInvalid},
		{"source guardian", func(e *env) *consent.Request {
			r := e.minorReq("a", "FR", 12, given("analytics"))
			r.Source = consent.SourceGuardian
			return r
		}, "parent@example.org", garde.EForbidden},
		{"no address", func(e *env) *consent.Request { return e.minorReq("a", "FR", 12, given("analytics")) }, "", garde.EInvalid},
		{"not an address", func(e *env) *consent.Request { return e.minorReq("a", "FR", 12, given("analytics")) }, "parent", garde.EInvalid},
		{"a display name", func(e *env) *consent.Request { return e.minorReq("a", "FR", 12, given("analytics")) }, "Parent <parent@example.org>", garde.EInvalid},
		{"a header injection", func(e *env) *consent.Request { return e.minorReq("a", "FR", 12, given("analytics")) }, "parent@example.org\r\nBcc: x@example.org", garde.EInvalid},
		{"two addresses", func(e *env) *consent.Request { return e.minorReq("a", "FR", 12, given("analytics")) }, "a@example.org, b@example.org", garde.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, inv)
			_, err := e.g.Request(context.Background(), tc.req(e), tc.email, "en")
			if garde.ErrorCode(err) != tc.want {
				t.Fatalf("got %v, want %s", err, tc.want)
			}
			if n := e.count(`SELECT (SELECT count(*) FROM consent_records) + (SELECT count(*) FROM guardian_requests) + (SELECT count(*) FROM subjects)`); n != 0 {
				t.Errorf("%d rows written", n)
			}
			if n := len(e.mail.Messages()); n != 0 {
				t.Errorf("%d messages sent", n)
			}
		})
	}
}

// TestGuardianLinkRefused: an expired, tampered or foreign link is a 4xx
// and records nothing.
func TestGuardianLinkRefused(t *testing.T) {
	e := newEnv(t, inventory.MustExample())
	ctx := context.Background()
	if _, err := e.g.Request(ctx, e.minorReq("anon-2", "DE", 15, given("analytics", "personalisation")), "parent@example.org", "en"); err != nil {
		t.Fatal(err)
	}
	token := e.lastLink()
	h, p, s, _ := split3(token)
	other := newEdSigner()
	foreign, _ := consent.SignGuardianLink(other, consent.GuardianLink{Request: "gr_aaaaaaaaaaaaaaaaaaaaaaaaaa", Expires: t0.Add(time.Hour).Unix(), Purposes: []string{"analytics"}})
	// signed by the links key, but another typ or another purpose list
	receipt, _ := jws.Sign(e.g.Links, consent.ReceiptType, []byte(`{"rid":"`+mustOpen(t, e, token)+`","exp":9999999999,"purposes":["analytics","personalisation"]}`))
	wider, _ := consent.SignGuardianLink(e.g.Links, consent.GuardianLink{Request: mustOpen(t, e, token), Expires: t0.Add(time.Hour).Unix(),
		Purposes: []string{"analytics", "personalisation", "targeted_advertising"}})
	for _, tc := range []struct{ name, token string }{
		{"empty", ""},
		{"garbage", "not-a-link"},
		{"payload changed", h + "." + flip(p) + "." + s},
		{"signature changed", h + "." + p + "." + flip(s)},
		{"header changed", flip(h) + "." + p + "." + s},
		{"truncated", token[:len(token)-10]},
		{"signed by another key", foreign},
		{"another typ", receipt},
		{"other purposes than asked", wider},
		{"too long", token + strings.Repeat("A", 5000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.g.Decide(ctx, tc.token, map[string]bool{"analytics": true}, adult)
			if code := garde.ErrorCode(err); code != garde.EInvalid {
				t.Fatalf("got %v, want %s", err, garde.EInvalid)
			}
			if strings.Contains(garde.ErrorMessage(err), tc.token[:min(len(tc.token), 20)]) && tc.token != "" {
				t.Errorf("the message quotes the token: %s", garde.ErrorMessage(err))
			}
		})
	}

	// a purpose that was not asked for
	if _, err := e.g.Decide(ctx, token, map[string]bool{"email_marketing": true}, adult); garde.ErrorCode(err) != garde.EInvalid {
		t.Fatalf("unasked purpose: got %v", err)
	}
	// approving takes an adult
	if _, err := e.g.Decide(ctx, token, map[string]bool{"analytics": true}, consent.Age{Status: "minor", Years: 16}); garde.ErrorCode(err) != garde.EForbidden {
		t.Fatalf("a minor guardian: got %v", err)
	}

	// valid until the last second of the TTL (7 days), expired from then on
	e.clock.Add(7*24*time.Hour - time.Second)
	if _, err := e.g.Open(ctx, token); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	e.clock.Add(time.Second)
	_, err := e.g.Decide(ctx, token, map[string]bool{"analytics": true}, adult)
	if garde.ErrorCode(err) != garde.EInvalid || garde.ErrorMessage(err) != "link expired" {
		t.Fatalf("expired: got %v", err)
	}
	if n := e.count(`SELECT count(*) FROM consent_records`); n != 0 {
		t.Fatalf("%d records after refused links, want none", n)
	}
	if got := e.allowed("anon-2", "analytics"); len(got) != 0 {
		t.Fatalf("allowed: %v", got)
	}
}

func mustOpen(t *testing.T, e *env, token string) string {
	t.Helper()
	gr, err := e.g.Open(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return gr.ID
}

func split3(token string) (h, p, s string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// flip changes the first character of a base64url part.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// TestGuardianReplayRace: many answers through one link at once — exactly
// one is recorded, the others are conflicts.
func TestGuardianReplayRace(t *testing.T) {
	e := newEnv(t, inventory.MustExample())
	ctx := context.Background()
	if _, err := e.g.Request(ctx, e.minorReq("anon-3", "BE", 12, given("analytics")), "parent@example.org", "en"); err != nil {
		t.Fatal(err)
	}
	token := e.lastLink()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.g.Decide(ctx, token, map[string]bool{"analytics": i%2 == 0}, adult) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch garde.ErrorCode(err) {
		case garde.EConflict:
		default:
			if err != nil {
				t.Fatalf("unexpected: %v", err)
			}
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d answers recorded, want 1 (%v)", ok, errs)
	}
	if n := e.count(`SELECT count(*) FROM consent_records WHERE json_extract(body, '$.source') = 'guardian'`); n != 1 {
		t.Fatalf("%d guardian records, want 1", n)
	}
}

// TestGuardianRefuses: refusing records refusals; the request is refused.
func TestGuardianRefuses(t *testing.T) {
	e := newEnv(t, inventory.MustExample())
	ctx := context.Background()
	id, err := e.g.Request(ctx, e.minorReq("anon-4", "AT", 13, given("analytics", "personalisation")), "parent@example.org", "")
	if err != nil {
		t.Fatal(err)
	}
	if m := e.mail.Messages()[0]; m.Lang != "fr" || !strings.Contains(m.Text, "13 ans") {
		t.Fatalf("with no language given, the notice's (fr): %q\n%s", m.Lang, m.Text)
	}
	res, err := e.g.Decide(ctx, e.lastLink(), nil, consent.Age{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Records {
		if r.Decision != consent.Refused {
			t.Errorf("record %s: %s", r.Purpose, r.Decision)
		}
	}
	if gr, _ := e.g.Store.FindGuardianRequest(ctx, id); gr.Status != consent.GuardianRefused {
		t.Fatalf("status %s", gr.Status)
	}
}

// TestGuardianPendingCap: a person cannot have more than
// MaxPendingGuardian requests waiting.
func TestGuardianPendingCap(t *testing.T) {
	e := newEnv(t, inventory.MustExample())
	ctx := context.Background()
	for i := range consent.MaxPendingGuardian + 1 {
		_, err := e.g.Request(ctx, e.minorReq("anon-5", "FR", 12, given("analytics")), "parent@example.org", "en")
		if i < consent.MaxPendingGuardian && err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i == consent.MaxPendingGuardian && garde.ErrorCode(err) != garde.EConflict {
			t.Fatalf("request %d: got %v, want %s", i, err, garde.EConflict)
		}
	}
	// once they expire, the person may ask again
	e.clock.Add(8 * 24 * time.Hour)
	if _, err := e.g.Request(ctx, e.minorReq("anon-5", "FR", 12, given("analytics")), "parent@example.org", "en"); err != nil {
		t.Fatal(err)
	}
}

type failingNotifier struct{}

func (failingNotifier) Notify(context.Context, consent.GuardianMail) error {
	return errors.New("smtp: connection refused")
}

// TestGuardianNotifierFails: when the message cannot be sent the call
// fails and the request is closed.
func TestGuardianNotifierFails(t *testing.T) {
	e := newEnv(t, inventory.MustExample())
	e.g.Notifier = failingNotifier{}
	_, err := e.g.Request(context.Background(), e.minorReq("anon-6", "FR", 12, given("analytics")), "parent@example.org", "en")
	if garde.ErrorCode(err) != garde.EUnavailable {
		t.Fatalf("got %v, want %s", err, garde.EUnavailable)
	}
	if n := e.count(`SELECT count(*) FROM guardian_requests WHERE status = 'expired'`); n != 1 {
		t.Fatalf("%d closed requests, want 1", n)
	}
}
