package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/garde-privacy/garde/web"
)

// routeCase is what one console route must answer a visitor without a
// session and an operator of the wrong role. Every route the console
// registers must have one: add yours here.
type routeCase struct {
	pattern string
	// unauth is the status for a visitor without a session (303: sent to
	// the sign-in form).
	unauth int
	// wrongRole is the status for a signed-in marketer (0: the marketer
	// may use the route).
	wrongRole int
}

var routeCases = []routeCase{
	{"GET /console/login", http.StatusOK, 0},
	{"POST /console/login", http.StatusForbidden, 0}, // no CSRF token
	{"GET /console/lang", http.StatusBadRequest, 0},  // no language named
	{"GET /console/static/{file}", http.StatusOK, 0},
	{"/console/", http.StatusNotFound, 0},
	{"GET /console/enrol", http.StatusSeeOther, 0},
	{"POST /console/enrol", http.StatusUnauthorized, 0},
	{"POST /console/logout", http.StatusUnauthorized, 0},
	{"GET /console/{$}", http.StatusSeeOther, 0},
	{"GET /console/operators", http.StatusSeeOther, http.StatusForbidden},
	{"POST /console/operators", http.StatusUnauthorized, http.StatusForbidden},
	{"POST /console/operators/{id}/role", http.StatusUnauthorized, http.StatusForbidden},
	{"POST /console/operators/{id}/disabled", http.StatusUnauthorized, http.StatusForbidden},
	{"POST /console/operators/{id}/unlock", http.StatusUnauthorized, http.StatusForbidden},
	{"GET /console/keys", http.StatusSeeOther, http.StatusForbidden},
	{"POST /console/keys", http.StatusUnauthorized, http.StatusForbidden},
	{"POST /console/keys/{id}/delete", http.StatusUnauthorized, http.StatusForbidden},
	{"GET /console/training", http.StatusSeeOther, http.StatusForbidden},
	{"POST /console/training", http.StatusUnauthorized, http.StatusForbidden},
	{"GET /console/audit", http.StatusSeeOther, http.StatusForbidden},
	{"POST /console/audit/verify", http.StatusUnauthorized, http.StatusForbidden},
	{"GET /console/alerts", http.StatusSeeOther, http.StatusForbidden},
	{"POST /console/alerts/{id}/ack", http.StatusUnauthorized, http.StatusForbidden},
}

// request turns a route pattern into a method and a concrete path.
func request(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok { // the catch-all: any path no other route serves
		return http.MethodGet, pattern + "nowhere"
	}
	r := strings.NewReplacer("{id}", "x", "{file}", "console.css", "{$}", "")
	return method, r.Replace(path)
}

// TestRoutes walks every registered console route: a visitor without a
// session is sent to sign in (GET, 303) or refused (401), a signed-in
// operator of the wrong role is refused (403), and every answer carries
// the security headers.
func TestRoutes(t *testing.T) {
	e := newEnv(t)
	marketer := e.signIn(e.operator("marketer", "Mara"))
	anon := e.client()
	token := marketer.csrf("/console/")

	var registered []string
	for _, rt := range e.console.Routes() {
		registered = append(registered, rt.Pattern)
	}
	var tested []string
	for _, rc := range routeCases {
		tested = append(tested, rc.pattern)
	}
	for _, p := range registered {
		if !slices.Contains(tested, p) {
			t.Errorf("route %q has no case in routeCases: add one", p)
		}
	}
	for _, p := range tested {
		if !slices.Contains(registered, p) {
			t.Errorf("routeCases has %q, which is not registered", p)
		}
	}

	for _, rc := range routeCases {
		t.Run(rc.pattern, func(t *testing.T) {
			method, path := request(rc.pattern)
			var res response
			if method == http.MethodGet {
				res = anon.get(path)
			} else {
				res = anon.post(path, url.Values{})
			}
			if res.status != rc.unauth {
				t.Errorf("without a session: got %d, want %d", res.status, rc.unauth)
			}
			if res.status == http.StatusSeeOther && !strings.HasPrefix(res.header.Get("Location"), "/console/login") {
				t.Errorf("without a session: sent to %q, want the sign-in form", res.header.Get("Location"))
			}
			checkHeaders(t, res.header)
			if rc.wrongRole == 0 {
				return
			}
			if method == http.MethodGet {
				res = marketer.get(path)
			} else {
				res = marketer.post(path, url.Values{"csrf": {token}})
			}
			if res.status != rc.wrongRole {
				t.Errorf("as a marketer: got %d, want %d", res.status, rc.wrongRole)
			}
			checkHeaders(t, res.header)
		})
	}
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": web.ContentSecurityPolicy,
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s: got %q, want %q", k, got, v)
		}
	}
	if h.Get("Strict-Transport-Security") != "" {
		t.Errorf("HSTS sent without TLS")
	}
}

// TestRightRoles opens each page as a role that may.
func TestRightRoles(t *testing.T) {
	e := newEnv(t)
	admin := e.signIn(e.operator("admin", "Ada"))
	dpo := e.signIn(e.operator("dpo", "Dora"))
	sec := e.signIn(e.operator("security_officer", "Sam"))
	for _, tc := range []struct {
		c    *client
		path string
		want int
	}{
		{admin, "/console/", 200}, {admin, "/console/operators", 200}, {admin, "/console/keys", 200},
		{admin, "/console/training", 200}, {admin, "/console/audit", 403}, {admin, "/console/alerts", 403},
		{dpo, "/console/audit", 200}, {dpo, "/console/alerts", 200}, {dpo, "/console/operators", 403},
		{sec, "/console/audit", 200}, {sec, "/console/alerts?status=all", 200}, {sec, "/console/keys", 403},
		{admin, "/console/nowhere", 404},
	} {
		if res := tc.c.get(tc.path); res.status != tc.want {
			t.Errorf("GET %s: got %d, want %d", tc.path, res.status, tc.want)
		}
	}
	// The navigation shows only what the role may open.
	home := admin.get("/console/").body
	if !strings.Contains(home, `href="/console/operators"`) || strings.Contains(home, `href="/console/audit"`) {
		t.Errorf("admin navigation: want operators and no audit trail")
	}
	home = dpo.get("/console/").body
	if strings.Contains(home, `href="/console/operators"`) || !strings.Contains(home, `href="/console/audit"`) {
		t.Errorf("DPO navigation: want the audit trail and no operators")
	}
}
