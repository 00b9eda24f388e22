package privacy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
)

// TestCSRF: a form without the token, with a wrong one, or without the
// cookie is refused with 403 before the backend is asked anything.
func TestCSRF(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "")
	id := b.verified(KindConsents, knownEmail)
	b.get("/privacy/requests/" + id)
	good := csrfInput.FindStringSubmatch(b.last)[1]
	asks, decides := fx.fake.asks, fx.fake.decides

	form := func(token string) url.Values {
		v := url.Values{"kind": {KindAccess}, "where": {"gdpr"}, "email": {knownEmail}, "purpose": {"analytics"},
			"give": {"no"}, "field": {"first_name"}, "value": {"Eve"}, "code": {goodCode}}
		if token != "-" {
			v.Set(csrfField, token)
		}
		return v
	}
	targets := []string{"/privacy/ask", "/privacy/requests/" + id + "/verify", "/privacy/requests/" + id + "/consents",
		"/privacy/requests/" + id + "/fields"}
	cases := []struct {
		name   string
		token  string
		cookie bool
	}{
		{"no token", "-", true},
		{"empty token", "", true},
		{"wrong token", strings.Repeat("A", len(good)), true},
		{"another browser's token", (&Centre{Key: testKey}).csrfToken(strings.Repeat("B", 43)), true},
		{"token without its cookie", good, false},
	}
	for _, c := range cases {
		for _, target := range targets {
			saved := b.cookies[csrfCookie]
			if !c.cookie {
				delete(b.cookies, csrfCookie)
			}
			w := b.do(http.MethodPost, target, form(c.token))
			if w.Code != http.StatusForbidden {
				t.Errorf("%s, %s: status %d, want 403", c.name, target, w.Code)
			}
			b.cookies[csrfCookie] = saved
		}
	}
	if fx.fake.asks != asks || fx.fake.decides != decides || fx.fake.rectifs != 0 || !fx.fake.consents["analytics"] {
		t.Errorf("a forged form reached the backend")
	}
	if w := b.do(http.MethodPost, targets[2], form(good)); w.Code != http.StatusSeeOther {
		t.Errorf("with the token: status %d, want 303", w.Code)
	}
}

// TestSessionRequired: a request's page and forms need this browser's
// verification for that request: none, another request's, a tampered or
// an expired cookie gets 403 and changes nothing.
func TestSessionRequired(t *testing.T) {
	fx := newFixture(t)
	a := fx.browser(t, "")
	idA := a.verified(KindRectification, knownEmail)
	b := fx.browser(t, "")
	idB := b.verified(KindAccess, "nobody@example.com")

	if w := a.get("/privacy/requests/" + idA); w.Code != http.StatusOK {
		t.Fatalf("own request: status %d", w.Code)
	}
	forbidden := func(name string, br *browser, id string) {
		t.Helper()
		w := br.get("/privacy/requests/" + id)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "/privacy/requests/"+id+"/verify") {
			t.Errorf("%s: status %d, want 403 offering to verify again", name, w.Code)
		}
		br.get("/privacy")
		if w := br.post("/privacy/requests/"+id+"/fields", url.Values{"field": {"first_name"}, "value": {"Eve"}}); w.Code != http.StatusForbidden {
			t.Errorf("%s: correcting: status %d, want 403", name, w.Code)
		}
	}
	forbidden("another request's cookie", a, idB)
	forbidden("another request's cookie", b, idA)

	fresh := fx.browser(t, "")
	forbidden("no cookie", fresh, idA)

	tampered := fx.browser(t, "")
	good := a.cookies[sessionCookie].Value
	for i, bad := range []string{
		good[:len(good)-2] + "AA",
		strings.Replace(good, ".", "..", 1),
		encodeSession(make([]byte, 32), idA, fx.clk.Now().Add(time.Hour)),
		encodeSession(testKey, idA, fx.clk.Now().Add(time.Hour))[:len(good)-1],
		"v1." + b64.EncodeToString([]byte(idA)) + "." + strconv.FormatInt(fx.clk.Now().Add(time.Hour).Unix(), 10) + "." + strings.Split(good, ".")[3],
	} {
		tampered.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: bad}
		forbidden(fmt.Sprintf("tampered cookie %d", i), tampered, idA)
	}

	fx.clk.Add(cookieTTL + time.Second)
	forbidden("expired cookie", a, idA)
	if fx.fake.rectifs != 0 || fx.fake.fields["first_name"] != "Ada" {
		t.Errorf("a refused form changed a field")
	}
}

// TestSessionCookieAttributes: the cookie set after the code is HttpOnly,
// SameSite=Strict, scoped to /privacy, Secure with TLS, and lasts 30
// minutes.
func TestSessionCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		fx := newFixture(t)
		fx.c.Secure = secure
		b := fx.browser(t, "")
		b.verified(KindAccess, knownEmail)
		ck := b.cookies[sessionCookie]
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/privacy" ||
			ck.Secure != secure || ck.MaxAge != 1800 {
			t.Errorf("secure=%v: session cookie %+v", secure, ck)
		}
		if ck := b.cookies[csrfCookie]; ck == nil || !ck.HttpOnly || ck.Path != "/privacy" || ck.Secure != secure {
			t.Errorf("secure=%v: CSRF cookie %+v", secure, ck)
		}
	}
}

// TestAskSameAnswer: a known and an unknown address get the same
// redirect to the same code page; nothing but the request id differs.
func TestAskSameAnswer(t *testing.T) {
	fx := newFixture(t)
	answer := func(email string) (int, string, []string, string) {
		b := fx.browser(t, "fr")
		w := b.ask(KindErasure, "gdpr", email)
		loc := w.Header().Get("Location")
		id := strings.Split(loc, "/")[3]
		var names []string
		for _, c := range w.Result().Cookies() {
			names = append(names, c.Name)
		}
		page := b.get(loc)
		if page.Code != http.StatusOK {
			t.Errorf("%s: code page status %d", email, page.Code)
		}
		body := strings.ReplaceAll(page.Body.String(), id, "ID")
		body = csrfInput.ReplaceAllString(body, "CSRF")
		return w.Code, strings.Replace(loc, id, "ID", 1), names, body
	}
	s1, l1, c1, p1 := answer(knownEmail)
	s2, l2, c2, p2 := answer("nobody@example.com")
	if s1 != http.StatusSeeOther || s1 != s2 || l1 != l2 || l1 != "/privacy/requests/ID/verify" ||
		strings.Join(c1, ",") != strings.Join(c2, ",") || p1 != p2 {
		t.Errorf("known: %d %s %v; unknown: %d %s %v; same page: %v", s1, l1, c1, s2, l2, c2, p1 == p2)
	}
}

// TestAskErrors: a form missing a choice or the address, an address the
// backend refuses, or too many codes: a clear 4xx, the form again with
// the error linked to its control, nothing asked of the backend when the
// form itself is incomplete.
func TestAskErrors(t *testing.T) {
	cases := []struct {
		name              string
		form              url.Values
		status            int
		want              string // in the page
		describedBy       string
		reachesTheBackend bool
	}{
		{"nothing", url.Values{}, 400, catalogue["en"]["ask.kind.missing"], "kind-error", false},
		{"unknown kind", url.Values{"kind": {"everything"}, "where": {"gdpr"}, "email": {knownEmail}}, 400,
			catalogue["en"]["ask.kind.missing"], "kind-error", false},
		{"unknown law", url.Values{"kind": {KindAccess}, "where": {"mars"}, "email": {knownEmail}}, 400,
			catalogue["en"]["ask.where.missing"], "where-error", false},
		{"no address", url.Values{"kind": {KindAccess}, "where": {"gdpr"}}, 400,
			catalogue["en"]["ask.email.missing"], "email-error", false},
		{"malformed address", url.Values{"kind": {KindAccess}, "where": {"gdpr"}, "email": {"nobody"}}, 400,
			catalogue["en"]["msg:this is not an email address"], "email-error", true},
		{"not a right there", url.Values{"kind": {KindRestriction}, "where": {"ccpa"}, "email": {knownEmail}}, 400,
			catalogue["en"]["msg:restriction is not a CCPA right"], "email-error", true},
		{"too many", url.Values{"kind": {KindAccess}, "where": {"gdpr"}, "email": {"flood@example.com"}}, 429,
			catalogue["en"]["code.too_many_requests"], "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t)
			b := fx.browser(t, "")
			b.get("/privacy")
			w := b.post("/privacy/ask", c.form)
			body := w.Body.String()
			if w.Code != c.status || !strings.Contains(body, htmlEscape(c.want)) {
				t.Fatalf("status %d, want %d with %q\n%s", w.Code, c.status, c.want, body)
			}
			if c.describedBy != "" && !regexp.MustCompile(`aria-describedby="[^"]*\b`+c.describedBy+`\b`).MatchString(body) {
				t.Errorf("the error is not linked to its control")
			}
			if (fx.fake.asks > 0) != c.reachesTheBackend {
				t.Errorf("backend asked %d times", fx.fake.asks)
			}
			if len(fx.fake.requests) != 0 {
				t.Errorf("a request was recorded")
			}
			checkHTML(t, c.name, "en", body)
		})
	}
}

func htmlEscape(s string) string { return strings.ReplaceAll(s, "'", "&#39;") }

// TestWrongCode: a wrong code gets 400 and the message beside the input;
// an empty one too, without reaching the backend's attempts; the right one
// opens the request.
func TestWrongCode(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "")
	loc := b.ask(KindAccess, "gdpr", knownEmail).Header().Get("Location")
	b.get(loc)
	for _, code := range []string{"000000", "", strings.Repeat("9", 100)} {
		w := b.post(loc, url.Values{"code": {code}})
		body := w.Body.String()
		if w.Code != http.StatusBadRequest || !strings.Contains(body, catalogue["en"]["verify.wrong"]) ||
			!strings.Contains(body, `aria-describedby="code-hint code-error" aria-invalid="true"`) {
			t.Errorf("code %q: status %d\n%s", code, w.Code, body)
		}
		if b.cookies[sessionCookie] != nil {
			t.Errorf("code %q: a session was opened", code)
		}
	}
	// a request id that does not exist: the same answer
	w := b.post("/privacy/requests/r_nosuchrequest/verify", url.Values{"code": {goodCode}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), catalogue["en"]["verify.wrong"]) {
		t.Errorf("unknown request: status %d", w.Code)
	}
	b.get(loc)
	if w := b.post(loc, url.Values{"code": {" " + goodCode + " "}}); w.Code != http.StatusSeeOther {
		t.Errorf("right code: status %d", w.Code)
	}
}

// TestDownloadOnce: the link hands over the zip once; afterwards, like an
// unknown link, it is gone.
func TestDownloadOnce(t *testing.T) {
	fx := newFixture(t)
	fx.fake.tokens["tok-1"] = []byte("PK\x03\x04zip")
	b := fx.browser(t, "")
	w := b.get("/privacy/download/tok-1")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/zip" ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment;") || w.Body.String() != "PK\x03\x04zip" ||
		w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("first download: %d %v", w.Code, w.Header())
	}
	for _, target := range []string{"/privacy/download/tok-1", "/privacy/download/nope", "/privacy/download/" + strings.Repeat("x", 300)} {
		w := b.get(target)
		if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), catalogue["en"]["gone.title"]) {
			t.Errorf("%s: status %d, want 410", target, w.Code)
		}
	}
	// a link checker's HEAD does not spend the link
	fx.fake.tokens["tok-2"] = []byte("zip")
	if w := b.do(http.MethodHead, "/privacy/download/tok-2", nil); w.Code != http.StatusMethodNotAllowed || fx.fake.tokens["tok-2"] == nil {
		t.Errorf("HEAD: status %d; token still there: %v", w.Code, fx.fake.tokens["tok-2"] != nil)
	}
}

// TestRectify: a correction of an undeclared field, or of a value the
// backend refuses, is a 400 shown beside the field, and nothing changes; a
// valid one is recorded.
func TestRectify(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "fr")
	id := b.verified(KindRectification, knownEmail)
	page := "/privacy/requests/" + id
	b.get(page)
	cases := []struct {
		field, value string
		status       int
	}{
		{"password", "x", 400},
		{"", "x", 400},
		{"first_name", "not-a-string", 400},
		{strings.Repeat("f", 200), "x", 400},
	}
	for _, c := range cases {
		w := b.post(page+"/fields", url.Values{"field": {c.field}, "value": {c.value}})
		if w.Code != c.status || !strings.Contains(w.Body.String(), `role="alert"`) {
			t.Errorf("%q=%q: status %d, want %d", c.field, c.value, w.Code, c.status)
		}
	}
	if fx.fake.rectifs != 0 || fx.fake.fields["first_name"] != "Ada" || len(fx.fake.fields) != 2 {
		t.Fatalf("a refused correction changed something: %v", fx.fake.fields)
	}
	w := b.post(page+"/fields", url.Values{"field": {"first_name"}, "value": {"not-a-string"}})
	if body := w.Body.String(); !strings.Contains(body, `id="field-1" name="value" value="not-a-string"`) ||
		!strings.Contains(body, `aria-describedby="field-1-hint field-1-error" aria-invalid="true"`) {
		t.Errorf("the error is not beside its field:\n%s", body)
	}
	w = b.post(page+"/fields", url.Values{"field": {"first_name"}, "value": {" Grace "}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != page+"?done=field" || fx.fake.fields["first_name"] != "Grace" {
		t.Fatalf("correction: status %d, field %q", w.Code, fx.fake.fields["first_name"])
	}
	if body := b.get(w.Header().Get("Location")).Body.String(); !strings.Contains(body, catalogue["fr"]["done.field"]) {
		t.Errorf("no confirmation")
	}
}

// TestConsents: the person gives and withdraws consent with one button
// each; an unknown purpose or a forged choice is a 400 that changes
// nothing.
func TestConsents(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "")
	id := b.verified(KindConsents, knownEmail)
	page := "/privacy/requests/" + id
	body := b.get(page).Body.String()
	for _, want := range []string{"Audience measurement", catalogue["en"]["consents.withdraw"], catalogue["en"]["consents.give"]} {
		if !strings.Contains(body, want) {
			t.Errorf("consents page lacks %q", want)
		}
	}
	for _, form := range []url.Values{
		{"purpose": {"no_such_purpose"}, "give": {"yes"}},
		{"purpose": {"analytics"}, "give": {"maybe"}},
		{"give": {"yes"}},
	} {
		if w := b.post(page+"/consents", form); w.Code != http.StatusBadRequest {
			t.Errorf("%v: status %d, want 400", form, w.Code)
		}
	}
	if fx.fake.decides != 0 || !fx.fake.consents["analytics"] {
		t.Fatal("a refused choice changed a consent")
	}
	w := b.post(page+"/consents", url.Values{"purpose": {"analytics"}, "give": {"no"}})
	if w.Code != http.StatusSeeOther || fx.fake.consents["analytics"] {
		t.Fatalf("withdraw: status %d", w.Code)
	}
	b.get(w.Header().Get("Location"))
	if w := b.post(page+"/consents", url.Values{"purpose": {"analytics"}, "give": {"yes"}}); w.Code != http.StatusSeeOther || !fx.fake.consents["analytics"] {
		t.Fatalf("give: status %d", w.Code)
	}
}

// TestRequestPage: what the status page shows at each step.
func TestRequestPage(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "")
	id := b.verified(KindErasure, knownEmail)
	body := b.get("/privacy/requests/" + id).Body.String()
	if !strings.Contains(body, `<meta http-equiv="refresh" content="5">`) || !strings.Contains(body, catalogue["en"]["status.refresh"]) ||
		!strings.Contains(body, "2 March 2026, 10:30 UTC") || !strings.Contains(body, "2 April 2026") {
		t.Errorf("running request:\n%s", body)
	}
	if w := b.get("/privacy/requests/" + id + "/verify"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/privacy/requests/"+id {
		t.Errorf("code page once verified: status %d", w.Code)
	}
	fx.fake.set(id, func(s *Status) { s.State, s.Reason = "extended", "many systems to search" })
	body = b.get("/privacy/requests/" + id).Body.String()
	if strings.Contains(body, `http-equiv="refresh"`) || !strings.Contains(body, catalogue["en"]["status.refresh"]) ||
		!strings.Contains(body, "many systems to search") {
		t.Errorf("extended request:\n%s", body)
	}
	fx.fake.set(id, func(s *Status) { s.State, s.Reason, s.Certificate = "completed", "", "header.payload.signature" })
	body = b.get("/privacy/requests/" + id).Body.String()
	if strings.Contains(body, `http-equiv="refresh"`) || !strings.Contains(body, "header.payload.signature</pre>") ||
		!strings.Contains(body, "garde rights verify-certificate certificate.txt --jwks http://example.com/.well-known/jwks.json") {
		t.Errorf("completed erasure:\n%s", body)
	}

	b2 := fx.browser(t, "fr")
	id2 := b2.verified(KindAccess, "nobody@example.com")
	body = b2.get("/privacy/requests/" + id2).Body.String()
	if !strings.Contains(body, htmlEscape(catalogue["fr"]["status.unknown"])) {
		t.Errorf("unknown person: no plain answer")
	}
	fx.fake.set(id2, func(s *Status) {
		s.State, s.Download, s.DownloadExpires = "completed", "tok-9", time.Date(2026, 3, 9, 10, 30, 0, 0, time.UTC)
	})
	body = b2.get("/privacy/requests/" + id2).Body.String()
	if !strings.Contains(body, `href="/privacy/download/tok-9"`) || !strings.Contains(body, "9 mars 2026 à 10:30 UTC") {
		t.Errorf("ready copy:\n%s", body)
	}
}

// TestBackendFailure: an internal error shows a generic page with 500 and
// logs a line without the cause, which may hold personal data; a lost
// verification asks the person to verify again.
func TestBackendFailure(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "")
	id := b.verified(KindAccess, knownEmail)
	fx.fake.fail = garde.Wrap(garde.EInternal, errors.New("smtp: 550 <known@example.com> unknown"), "could not send the code")
	w := b.get("/privacy/requests/" + id)
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), catalogue["en"]["code.internal"]) ||
		strings.Contains(w.Body.String(), "smtp") {
		t.Errorf("status %d\n%s", w.Code, w.Body)
	}
	b.get("/privacy")
	if w := b.post("/privacy/ask", url.Values{"kind": {KindAccess}, "where": {"gdpr"}, "email": {"other@example.org"}}); w.Code != 500 {
		t.Errorf("ask: status %d", w.Code)
	}
	logs := fx.logs.String()
	if !strings.Contains(logs, "privacy centre: request failed") {
		t.Errorf("no log line: %s", logs)
	}
	for _, personal := range []string{"example.com", "example.org", "192.0.2.10", "smtp"} {
		if strings.Contains(logs, personal) {
			t.Errorf("the log holds %q: %s", personal, logs)
		}
	}
	fx.fake.fail = garde.Errorf(garde.EForbidden, "verify your address again")
	if w := b.get("/privacy/requests/" + id); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "/verify") {
		t.Errorf("lost verification: status %d", w.Code)
	}
}

// TestFormLimit: a body over 16 KiB is refused.
func TestFormLimit(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "")
	b.get("/privacy")
	w := b.post("/privacy/ask", url.Values{"email": {strings.Repeat("a", 20<<10)}})
	if w.Code != http.StatusRequestEntityTooLarge || fx.fake.asks != 0 {
		t.Errorf("status %d", w.Code)
	}
}

// TestHeadersAndStatic: the pages' security headers, and the stylesheet.
func TestHeadersAndStatic(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "")
	w := b.get("/privacy")
	h := w.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") ||
		h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v", h)
	}
	if w := b.get("/privacy/static/privacy.css"); w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d", w.Code)
	}
	for _, bad := range []string{"/privacy/static/nope.css", "/privacy/static/..%2Fcentre.go"} {
		if w := b.get(bad); w.Code != 404 {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
	if w := b.get("/privacy/"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/privacy" {
		t.Errorf("/privacy/: %d", w.Code)
	}
}

// TestHoldings: the home page shows what the inventory declares, in the
// page's language.
func TestHoldings(t *testing.T) {
	fx := newFixture(t)
	cases := []struct {
		lang string
		want []string
	}{
		{"en", []string{"E-mail address", "Audience measurement", "13 months from collection, then made anonymous.",
			"Special category (such as health)", "Your consent", "Maison Lumière SAS", "mailto:dpo@maison-lumiere.example",
			`href="#purpose-analytics"`, `id="purpose-analytics"`}},
		{"fr", []string{"Adresse électronique", "Mesure d", "13 mois à compter de la collecte, puis anonymisées.",
			"Catégorie particulière (comme la santé)", "Votre consentement", "3 ans après votre dernier contact avec nous"}},
	}
	for _, c := range cases {
		body := fx.browser(t, c.lang).get("/privacy").Body.String()
		for _, want := range c.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page lacks %q", c.lang, want)
			}
		}
	}
	h := holdingsOf(fx.c.Inventory, "en")
	if len(h.Categories) != len(fx.c.Inventory.Categories) || len(h.Purposes) != len(fx.c.Inventory.Purposes) {
		t.Errorf("%d categories, %d purposes", len(h.Categories), len(h.Purposes))
	}
	for _, hc := range h.Categories {
		if hc.Key == "user.contact.email" && len(hc.Purposes) < 3 {
			t.Errorf("e-mail used for %v", hc.Purposes)
		}
	}
}

// TestLanguage: ?lang= wins and is remembered, then the cookie, then
// Accept-Language by weight, then English.
func TestLanguage(t *testing.T) {
	for _, c := range []struct{ header, want string }{
		{"", "en"},
		{"fr", "fr"},
		{"fr-CA", "fr"},
		{"de, fr;q=0.5, en;q=0.4", "fr"},
		{"en;q=0.5, fr;q=0.8", "fr"},
		{"fr;q=0, en;q=0.1", "en"},
		{"fr;q=abc", "en"},
		{"de-DE,de;q=0.9", "en"},
		{"EN-us, FR;q=0.9", "en"},
		{"fr;level=1;q=0.7, en;q=0.6", "fr"},
	} {
		if got := negotiate(c.header); got != c.want {
			t.Errorf("negotiate(%q) = %q, want %q", c.header, got, c.want)
		}
	}
	fx := newFixture(t)
	b := fx.browser(t, "en")
	b.get("/privacy?lang=fr")
	if ck := b.cookies[langCookie]; ck == nil || ck.Value != "fr" {
		t.Fatalf("no lang cookie")
	}
	if body := b.get("/privacy").Body.String(); !strings.Contains(body, `<html lang="fr">`) {
		t.Errorf("the cookie is not followed")
	}
	if body := b.get("/privacy?lang=xx").Body.String(); !strings.Contains(body, `<html lang="fr">`) {
		t.Errorf("an unknown ?lang changed the language")
	}
}

// TestWithoutInventory: the pages still render (nothing declared) and
// Register refuses a short key.
func TestWithoutInventory(t *testing.T) {
	fx := newFixture(t)
	c := &Centre{Backend: fx.fake, Key: testKey, Clock: fx.clk}
	mux := http.NewServeMux()
	c.Register(mux)
	b := &browser{t: t, h: mux, cookies: map[string]*http.Cookie{}}
	if w := b.get("/privacy"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), catalogue["en"]["held.none"]) {
		t.Errorf("status %d", w.Code)
	}
	checkHTML(t, "home without inventory", "en", b.last)
	defer func() {
		if recover() == nil {
			t.Error("a 16-byte key was accepted")
		}
	}()
	(&Centre{Backend: fx.fake, Key: make([]byte, 16)}).Register(http.NewServeMux())
}

// TestSignedLink: the brand's site links a signed-in customer with a
// token: the request is verified at once and the browser holds its
// session; a replayed, wrong or incomplete link is refused and opens
// nothing.
func TestSignedLink(t *testing.T) {
	fx := newFixture(t)
	b := fx.browser(t, "fr")
	w := b.get("/privacy/signed?kind=access&where=gdpr&token=" + goodSiteToken)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/privacy/requests/r_") {
		t.Fatalf("signed link: %d %v", w.Code, w.Header())
	}
	if page := b.get(w.Header().Get("Location")); page.Code != http.StatusOK {
		t.Errorf("the request page after a signed link: %d", page.Code)
	}
	other := fx.browser(t, "en")
	for _, target := range []string{
		"/privacy/signed?kind=access&where=gdpr&token=" + goodSiteToken, // replayed
		"/privacy/signed?kind=access&where=gdpr&token=forged",
		"/privacy/signed?kind=teleport&token=" + goodSiteToken,
		"/privacy/signed?kind=access&where=mars&token=x",
		"/privacy/signed?kind=access",
	} {
		w := other.get(target)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), catalogue["en"]["signed.title"]) {
			t.Errorf("%s: %d", target, w.Code)
		}
		if len(w.Result().Cookies()) > 0 {
			for _, c := range w.Result().Cookies() {
				if c.Name == sessionCookie {
					t.Errorf("%s set a session cookie", target)
				}
			}
		}
	}
}
