package privacy

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/garde-privacy/garde"
)

//go:embed templates static
var assets embed.FS

// pages are the page templates, each rendered inside layout.html.
var pages = []string{"home.html", "verify.html", "request.html", "error.html"}

// parseTemplates parses the embedded templates; a mistake in them is a
// bug caught by the tests, so it panics.
func parseTemplates() map[string]*template.Template {
	funcs := template.FuncMap{"join": strings.Join}
	out := map[string]*template.Template{}
	for _, p := range pages {
		out[p] = template.Must(template.New(p).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+p))
	}
	return out
}

// view is what every template sees as $.
type view struct {
	Lang      string
	OtherLang string
	Switch    string // this page in the other language
	Title     string // a catalogue key
	CSRF      string
	Refresh   bool
	Org       string
	DPOName   string
	DPOEmail  string
	Problems  []problem
	Data      any

	msgs messages
}

// problem is one error of a form, for the summary at the top of the page:
// Field is the id of the control it concerns ("" for none).
type problem struct {
	Field string
	Text  string
}

// T returns the text of key in the page's language, formatted with args.
func (v *view) T(key string, args ...any) string {
	return format(v.msgs, key, args...)
}

func format(m messages, key string, args ...any) string {
	msg, ok := m[key]
	if !ok {
		if msg, ok = catalogue["en"][key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// t is the text of key in the visit's language.
func (c *Centre) t(v *visit, key string, args ...any) string {
	return format(catalogue[v.lang], key, args...)
}

// render writes page name inside the layout with the given status.
func (c *Centre) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name, title string, data any, problems []problem) {
	t := c.tmpls[name]
	vw := &view{Lang: v.lang, OtherLang: otherLang(v.lang), Title: title, CSRF: c.csrfToken(v.seed),
		Refresh: v.refresh, Problems: problems, Data: data, msgs: catalogue[v.lang]}
	vw.Switch = v.here + "?lang=" + vw.OtherLang
	if c.Inventory != nil {
		o := c.Inventory.Organisation
		vw.Org, vw.DPOName, vw.DPOEmail = o.Name, o.DPO.Name, o.DPO.Email
	}
	var buf bytes.Buffer
	if t == nil {
		c.Log.Error("privacy centre: no such template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", vw); err != nil {
		c.Log.Error("privacy centre: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// errorData is the error page.
type errorData struct {
	Heading string // a catalogue key
	Text    string
	Verify  string // the code page to verify again, if any
}

// errorPage renders the error page with status, a heading and a text
// from the catalogue.
func (c *Centre) errorPage(w http.ResponseWriter, r *http.Request, v *visit, status int, heading, text string) {
	c.render(w, r, v, status, "error.html", heading, &errorData{Heading: heading, Text: c.t(v, text)}, nil)
}

// fail renders err on the error page with its status: its public message,
// translated; an internal error shows a generic sentence.
func (c *Centre) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	status := c.status(r, err)
	c.render(w, r, v, status, "error.html", "error.title", &errorData{Heading: "error.title", Text: c.errorText(v, err)}, nil)
}

// status maps err to its HTTP status and logs server errors. The log
// carries the route, the code and the public message, which never holds
// personal data; not the internal cause, which might (a mail server's
// answer naming the address).
func (c *Centre) status(r *http.Request, err error) int {
	code := garde.ErrorCode(err)
	status := garde.ErrorStatus(code)
	if status >= 500 {
		c.Log.Error("privacy centre: request failed", "route", r.Pattern, "code", code,
			"message", garde.ErrorMessage(err), "cause", fmt.Sprintf("%T", errorsCause(err)))
	}
	return status
}

// errorsCause is the innermost error of err's chain, for its type.
func errorsCause(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// errorText is err's public message in the visit's language: its
// translation from the catalogue ("msg:<English message>"), else the
// English message on an English page, else the sentence of its code.
func (c *Centre) errorText(v *visit, err error) string {
	return c.errorTextOr(v, err, "")
}

// errorTextOr is errorText with, for an EInvalid message the catalogue
// cannot translate, the sentence of fallback instead of the code's.
func (c *Centre) errorTextOr(v *visit, err error, fallback string) string {
	code := garde.ErrorCode(err)
	if garde.ErrorStatus(code) >= 500 {
		return c.t(v, "code.internal")
	}
	if code == garde.ETooMany {
		return c.t(v, "code."+code)
	}
	msg := garde.ErrorMessage(err)
	if t, ok := catalogue[v.lang]["msg:"+msg]; ok {
		return t
	}
	if v.lang == "en" && msg != "" {
		return sentence(msg)
	}
	if fallback != "" && code == garde.EInvalid {
		return c.t(v, fallback)
	}
	if _, ok := catalogue[v.lang]["code."+code]; ok {
		return c.t(v, "code."+code)
	}
	return c.t(v, "code.invalid")
}

// sentence makes a public message read as a sentence: a capital first
// letter and a full stop.
func sentence(msg string) string {
	r, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[size:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}

// static serves the embedded stylesheet.
func (c *Centre) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := assets.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") || !strings.HasSuffix(name, ".css") {
		v := c.visit(w, r)
		v.here = "/privacy"
		c.errorPage(w, r, v, http.StatusNotFound, "notfound.title", "notfound.text")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}
