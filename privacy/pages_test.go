package privacy

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkHTML checks what every page must be: its language declared, no
// script, no inline style or event handler, a label for every input, ids
// unique and every aria-describedby resolved, headings in order, no
// untranslated key and no formatting mistake.
func checkHTML(t *testing.T, name, lang, body string) {
	t.Helper()
	for _, p := range htmlProblems(lang, body) {
		t.Errorf("%s: %s", name, p)
	}
}

// htmlProblems lists what is wrong with a page (see checkHTML).
func htmlProblems(lang, body string) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !strings.Contains(body, `<html lang="`+lang+`">`) {
		errorf("no <html lang=%q>", lang)
	}
	low := strings.ToLower(body)
	for _, bad := range []string{"<script", "<style", "javascript:", "%!"} {
		if strings.Contains(low, bad) {
			errorf("contains %q", bad)
		}
	}
	if m := regexp.MustCompile(`\s(style|on[a-z]+)\s*=`).FindString(low); m != "" {
		errorf("inline attribute %q", m)
	}
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(`\sid="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			errorf("id %q used %d times", id, n)
		}
	}
	attr := func(tag, a string) string {
		if m := regexp.MustCompile(`\s` + a + `="([^"]*)"`).FindStringSubmatch(tag); m != nil {
			return m[1]
		}
		return ""
	}
	for _, tag := range regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`).FindAllString(body, -1) {
		typ := attr(tag, "type")
		if typ == "hidden" || typ == "submit" || typ == "button" {
			continue
		}
		id := attr(tag, "id")
		if id == "" || !strings.Contains(body, `<label for="`+id+`">`) {
			errorf("no label for %s", tag)
		}
	}
	for _, m := range regexp.MustCompile(`aria-(?:describedby|labelledby)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		for ref := range strings.FieldsSeq(m[1]) {
			if ids[ref] == 0 {
				errorf("aria reference to missing id %q", ref)
			}
		}
	}
	prev := 0
	for i, m := range regexp.MustCompile(`<h([1-6])\b`).FindAllStringSubmatch(body, -1) {
		level, _ := strconv.Atoi(m[1])
		if (i == 0 && level != 1) || (i > 0 && level == 1) || level > prev+1 {
			errorf("heading h%d after h%d", level, prev)
		}
		prev = level
	}
	for _, m := range regexp.MustCompile(`(?:>\s*|(?:aria-label|title)=")([a-z_]+(?:\.[a-z_]+)+)\s*[<"]`).FindAllStringSubmatch(body, -1) {
		errorf("untranslated key %q", m[1])
	}
	return out
}

// TestPagesInBothLanguages renders every page in French and English,
// chosen by Accept-Language and by ?lang=, and checks each one.
func TestPagesInBothLanguages(t *testing.T) {
	type page struct {
		name   string
		status int
		// visit runs the scenario up to the page, the first GET carrying
		// query (?lang=… or ""); it returns the page's answer.
		visit func(fx *fixture, b *browser, query string) (int, string)
	}
	show := func(target string) func(*fixture, *browser, string) (int, string) {
		return func(fx *fixture, b *browser, q string) (int, string) {
			w := b.get(target + q)
			return w.Code, w.Body.String()
		}
	}
	request := func(kind, email string, change func(*Status)) func(*fixture, *browser, string) (int, string) {
		return func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			id := b.verified(kind, email)
			if change != nil {
				fx.fake.set(id, change)
			}
			w := b.get("/privacy/requests/" + id)
			return w.Code, w.Body.String()
		}
	}
	pages := []page{
		{"home", 200, show("/privacy")},
		{"home with errors", 400, func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			w := b.post("/privacy/ask", url.Values{"email": {""}})
			return w.Code, w.Body.String()
		}},
		{"home refused by backend", 400, func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			w := b.post("/privacy/ask", url.Values{"kind": {KindObjection}, "where": {"ccpa"}, "email": {"a@example.com"}})
			return w.Code, w.Body.String()
		}},
		{"code", 200, func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			w := b.get(b.ask(KindAccess, "gdpr", knownEmail).Header().Get("Location"))
			return w.Code, w.Body.String()
		}},
		{"wrong code", 400, func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			loc := b.ask(KindAccess, "gdpr", knownEmail).Header().Get("Location")
			b.get(loc)
			w := b.post(loc, url.Values{"code": {"000000"}})
			return w.Code, w.Body.String()
		}},
		{"access running", 200, request(KindAccess, knownEmail, nil)},
		{"access ready", 200, request(KindAccess, knownEmail, func(s *Status) {
			s.State, s.Download, s.DownloadExpires = "completed", "tok", time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
		})},
		{"access link used", 200, request(KindPortability, knownEmail, func(s *Status) { s.State = "completed" })},
		{"access unknown person", 200, request(KindAccess, "nobody@example.com", func(s *Status) { s.State = "completed" })},
		{"erasure done", 200, request(KindErasure, knownEmail, func(s *Status) {
			s.State, s.Certificate = "completed", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"
		})},
		{"refused", 200, request(KindObjection, knownEmail, func(s *Status) { s.State, s.Reason = "refused", "manifestly unfounded" })},
		{"extended", 200, request(KindRestriction, knownEmail, func(s *Status) { s.State, s.Reason = "extended", "complex" })},
		{"opt-out", 200, request(KindOptOut, knownEmail, func(s *Status) { s.State = "in_progress" })},
		{"consents", 200, request(KindConsents, knownEmail, nil)},
		{"consents unknown person", 200, request(KindConsents, "nobody@example.com", nil)},
		{"fields", 200, request(KindRectification, knownEmail, nil)},
		{"fields unknown person", 200, request(KindRectification, "nobody@example.com", nil)},
		{"field error", 400, func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			id := b.verified(KindRectification, knownEmail)
			b.get("/privacy/requests/" + id)
			w := b.post("/privacy/requests/"+id+"/fields", url.Values{"field": {"first_name"}, "value": {"not-a-string"}})
			return w.Code, w.Body.String()
		}},
		{"not verified", 403, func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			id := strings.Split(b.ask(KindAccess, "gdpr", knownEmail).Header().Get("Location"), "/")[3]
			w := b.get("/privacy/requests/" + id)
			return w.Code, w.Body.String()
		}},
		{"not found", 404, show("/privacy/nothing")},
		{"malformed id", 404, show("/privacy/requests/%3Cx%3E/verify")},
		{"link gone", 410, show("/privacy/download/unknown")},
		{"forged form", 403, func(fx *fixture, b *browser, q string) (int, string) {
			b.get("/privacy" + q)
			w := b.do(http.MethodPost, "/privacy/ask", url.Values{"kind": {KindAccess}})
			return w.Code, w.Body.String()
		}},
	}
	ways := []struct {
		name, accept, query string
		lang                string
	}{
		{"Accept-Language fr", "fr-FR, fr;q=0.9, en;q=0.8", "", "fr"},
		{"Accept-Language en", "en-GB,en;q=0.9", "", "en"},
		{"?lang=fr", "en", "?lang=fr", "fr"},
		{"?lang=en", "fr", "?lang=en", "en"},
	}
	for _, p := range pages {
		for _, way := range ways {
			t.Run(p.name+"/"+way.name, func(t *testing.T) {
				fx := newFixture(t)
				b := fx.browser(t, way.accept)
				status, body := p.visit(fx, b, way.query)
				if status != p.status {
					t.Fatalf("status %d, want %d\n%s", status, p.status, body)
				}
				checkHTML(t, p.name, way.lang, body)
				if !strings.Contains(body, catalogue[way.lang]["app.name"]) {
					t.Errorf("the page is not in %s", way.lang)
				}
				other := otherLang(way.lang)
				if !strings.Contains(body, `lang="`+other+`" hreflang="`+other+`">`+catalogue[way.lang]["lang.switch"]) ||
					!strings.Contains(body, `?lang=`+other+`"`) {
					t.Errorf("no switch to %s", other)
				}
			})
		}
	}
}

// TestHTMLCheck: the page check finds what it looks for.
func TestHTMLCheck(t *testing.T) {
	good := `<html lang="en"><h1>T</h1><label for="a">A</label><input type="text" id="a" aria-describedby="h"><p id="h">x</p>` +
		`<input type="hidden" name="csrf" value="x"><h2>U</h2>`
	if p := htmlProblems("en", good); p != nil {
		t.Fatalf("good page: %v", p)
	}
	for name, bad := range map[string]string{
		"language":      strings.Replace(good, `lang="en"`, `lang="fr"`, 1),
		"script":        good + `<script src="/x.js"></script>`,
		"inline style":  good + `<p style="color:red">x</p>`,
		"event handler": good + `<p onclick="x()">x</p>`,
		"no label":      good + `<input type="email" id="b">`,
		"no id":         good + `<input name="c">`,
		"duplicate id":  good + `<p id="h">y</p>`,
		"dangling aria": strings.Replace(good, `aria-describedby="h"`, `aria-describedby="h nope"`, 1),
		"heading skip":  good + `<h4>V</h4>`,
		"second h1":     good + `<h1>W</h1>`,
		"raw key":       good + `<p>status.title</p>`,
		"fmt mistake":   good + `<p>%!s(MISSING)</p>`,
	} {
		if htmlProblems("en", bad) == nil {
			t.Errorf("%s: not found", name)
		}
	}
}
