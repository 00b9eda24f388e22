package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/garde-privacy/garde/inventory"
)

// Messages is a message catalogue of one language: key → text (a
// fmt format when the template passes arguments).
type Messages map[string]string

// Languages the console speaks; the first is the default.
var languages = []string{"en", "fr"}

// AddMessages adds (or replaces) messages of lang ("en" or "fr").
func (c *Console) AddMessages(lang string, m Messages) {
	c.init()
	c.addMessages(lang, m)
}

func (c *Console) addMessages(lang string, m Messages) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dst := c.messages[lang]
	if dst == nil {
		dst = Messages{}
		c.messages[lang] = dst
	}
	for k, v := range m {
		dst[k] = v
	}
}

type langKey struct{}

// withLang picks the request's language: the lang cookie, else the best
// of Accept-Language, else English.
func (c *Console) withLang(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := ""
		if ck, err := r.Cookie(langCookie); err == nil && known(ck.Value) {
			lang = ck.Value
		}
		if lang == "" {
			lang = negotiate(r.Header.Get("Accept-Language"))
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, lang)))
	})
}

func langOf(r *http.Request) string {
	if l, ok := r.Context().Value(langKey{}).(string); ok {
		return l
	}
	return languages[0]
}

func known(lang string) bool { return lang == "en" || lang == "fr" }

func otherLang(lang string) string {
	if lang == "fr" {
		return "en"
	}
	return "fr"
}

// negotiate returns the known language of highest weight in an
// Accept-Language header ("fr-CH, fr;q=0.9, en;q=0.8"), or English.
func negotiate(header string) string {
	best, bestQ := languages[0], -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if !known(base) {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > bestQ && q > 0 {
			best, bestQ = base, q
		}
	}
	return best
}

// switchLang sets the lang cookie and goes back to the page it came from.
func (c *Console) switchLang(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("to")
	if !known(lang) {
		c.errorPage(w, r, http.StatusBadRequest, "error.lang")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: cookiePath, MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode})
	next := r.URL.Query().Get("next")
	if !localPath(next) {
		next = "/console/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func text(t inventory.Text, lang string) string {
	if lang == "fr" && t.FR != "" {
		return t.FR
	}
	if t.EN != "" {
		return t.EN
	}
	return t.FR
}

// roleName is a role's name in lang, or its key.
func (c *Console) roleName(key, lang string) string {
	if r := c.Inventory.Role(key); r != nil {
		if n := text(r.Name, lang); n != "" {
			return n
		}
	}
	return key
}
