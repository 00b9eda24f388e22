package privacy

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHome renders the home page: the inventory's holdings and the
// request form.
func BenchmarkHome(b *testing.B) {
	fx := newFixture(b)
	req := httptest.NewRequest(http.MethodGet, "/privacy", nil)
	req.Header.Set("Accept-Language", "fr")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkRequestPage renders a verified person's consents page.
func BenchmarkRequestPage(b *testing.B) {
	fx := newFixture(b)
	br := fx.browser(b, "en")
	id := br.verified(KindConsents, knownEmail)
	req := httptest.NewRequest(http.MethodGet, "/privacy/requests/"+id, nil)
	for _, c := range br.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		fx.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkSessionCookie checks a session cookie.
func BenchmarkSessionCookie(b *testing.B) {
	v := encodeSession(testKey, "r_0123456789abcdefghijklmnop", time.Now().Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := decodeSession(testKey, v); err != nil {
			b.Fatal(err)
		}
	}
}
