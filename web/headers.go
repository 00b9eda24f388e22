package web

import "net/http"

// ContentSecurityPolicy is the console's policy: its own stylesheet and
// script only, nothing inline, images from itself or data: URLs (the TOTP
// QR code), forms posted only to itself, never framed.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders sets the console's security headers on every answer of
// next: the Content-Security-Policy above, frame denial, no MIME sniffing,
// no referrer, no caching, and, when secure (served over TLS), HSTS for a
// year. The lead may wrap the whole server with it; the console wraps its
// own routes.
//
// The values are shared by every answer, set without Header.Set's copy of
// each: a handler that changes one replaces it (Set), or appends to it
// (Add), which copies a slice that is full.
func SecurityHeaders(secure bool, next http.Handler) http.Handler {
	set := securityHeaders
	if secure {
		set = append(set[:len(set):len(set)], header{"Strict-Transport-Security", []string{"max-age=31536000; includeSubDomains"}})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, kv := range set {
			h[kv.key] = kv.value
		}
		next.ServeHTTP(w, r)
	})
}

// header is one header, its key canonical and its value a full slice.
type header struct {
	key   string
	value []string
}

var securityHeaders = []header{
	{"Content-Security-Policy", []string{ContentSecurityPolicy}},
	{"X-Frame-Options", []string{"DENY"}},
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"Referrer-Policy", []string{"no-referrer"}},
	{"Cache-Control", []string{"no-store"}},
}
