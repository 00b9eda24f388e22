package privacy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/garde-privacy/garde/inventory"
)

// knownLang reports whether the centre speaks lang.
func knownLang(lang string) bool { return lang == "en" || lang == "fr" }

func otherLang(lang string) string {
	if lang == "fr" {
		return "en"
	}
	return "fr"
}

// pickLang chooses the page's language: ?lang=fr|en (remembered in a
// cookie), else that cookie, else the best of Accept-Language, else
// English.
func (c *Centre) pickLang(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); knownLang(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: cookiePath, MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode})
		return l
	}
	if ck, err := r.Cookie(langCookie); err == nil && knownLang(ck.Value) {
		return ck.Value
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

// negotiate returns the known language of highest weight in an
// Accept-Language header ("fr-CH, fr;q=0.9, en;q=0.8"), or English. Among
// equal weights the first listed wins; q=0 means "not this one".
func negotiate(header string) string {
	if len(header) > 1024 {
		header = header[:1024]
	}
	best, bestQ := "en", 0.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if !knownLang(base) {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

// inLang is an inventory text in lang, falling back to the other language.
func inLang(t inventory.Text, lang string) string {
	if lang == "fr" && t.FR != "" {
		return t.FR
	}
	if t.EN != "" {
		return t.EN
	}
	return t.FR
}

var months = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
		"November", "December"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
		"novembre", "décembre"},
}

// day writes a date in lang ("2 March 2026", "2 mars 2026"), in UTC; ""
// for the zero time.
func day(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if !knownLang(lang) {
		lang = "en"
	}
	return strconv.Itoa(t.Day()) + " " + months[lang][t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// moment writes a date and time in lang, in UTC.
func moment(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	sep := ", "
	if lang == "fr" {
		sep = " à "
	}
	return day(t, lang) + sep + t.UTC().Format("15:04") + " UTC"
}

// period writes a retention period in lang ("1 year 6 months", "1 an
// 6 mois").
func period(p inventory.Period, lang string) string {
	if lang != "fr" {
		return p.String()
	}
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n != 0:
			parts = append(parts, strconv.Itoa(n)+" "+many)
		}
	}
	add(p.Years, "an", "ans")
	add(p.Months, "mois", "mois")
	add(p.Days, "jour", "jours")
	if len(parts) == 0 {
		return "0 jour"
	}
	return strings.Join(parts, " ")
}
