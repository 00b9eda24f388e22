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
func SecurityHeaders(secure bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}
