// Package web is Garde's admin console at /console: server-rendered HTML
// (html/template), French and English, no JavaScript framework, every
// template and asset embedded in the binary.
//
// # The shell
//
// Console holds what the pages need and registers them on a ServeMux
// (Register). Every console route is listed by Routes, with who may reach
// it, so that a test can walk them all. Every answer carries the strict
// security headers of SecurityHeaders: a Content-Security-Policy without
// inline script or style, frame denial, no sniffing, no referrer, no
// caching, and HSTS under TLS.
//
// # Signing in
//
// Operators sign in with email, password and TOTP code in one form (one
// generic failure message; rate limits and lock-out are access.Auth's). An
// operator who has no second factor yet gets an enrolment-only session
// that reaches only /console/enrol. The session cookie is HttpOnly,
// SameSite=Strict, Path=/console and Secure under TLS; access.Auth ends
// sessions 12 hours after sign-in or 30 minutes after last use, and the
// console then asks to sign in again. Every form carries a CSRF token and
// every POST is refused (403) without the right one; the sign-in form,
// which has no session yet, uses a token bound to a pre-session cookie.
//
// # Adding a capability's page
//
// A capability adds its page to the navigation with AddPage, its other
// routes with Handle, its templates with AddTemplates and its strings with
// AddMessages, then renders with Render:
//
//	//go:embed templates/*.html
//	var tmpl embed.FS
//
//	c.AddMessages("en", web.Messages{"vendors.title": "Vendors", …})
//	c.AddMessages("fr", web.Messages{"vendors.title": "Fournisseurs", …})
//	c.AddTemplates(tmpl, "templates/*.html") // each file {{define "content"}} … {{end}}
//	c.AddPage(web.Page{Path: "/console/vendors", Title: inventory.Text{EN: "Vendors", FR: "Fournisseurs"},
//		Roles: []string{web.GroupOversight}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		c.Render(w, r, "vendors.html", data)
//	}))
//	c.Handle("POST /console/vendors", []string{web.GroupAdmin}, false, h) // CSRF checked before h runs
//
// Call them before Register (or after: a Console registered on a mux adds
// the routes at once). A page's template sees the view: {{$.T "key"}}
// translates, {{$.CSRF}} is the form token (put {{template "csrf" $}} in
// every form), {{$.Data}} is what the handler passed. Then add the new
// routes to the route table of routes_test.go (routeCases): the suite fails on a
// route it does not know.
//
// # Privacy rule
//
// Every value is rendered through html/template, never as template.HTML;
// secrets (initial passwords, API keys, TOTP secrets, recovery codes) are
// shown once, in the answer to the request that made them, and never
// logged. Every administrative act appends an audit entry (AppendAudit)
// whose actor is "operator:<id>" and whose detail holds ids and keys only.
package web
