package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

//go:embed templates static
var assets embed.FS

// View is what every console template sees as $: the language, the
// navigation, the signed-in operator, the CSRF token and the page's Data.
type View struct {
	Lang      string
	OtherLang string
	Path      string // the current request URI, for the language switch
	Title     string
	Nav       []NavItem
	Operator  string // the operator's name, or id when unnamed
	RoleName  string
	CSRF      string
	// Training is set when the operator's data-protection training is
	// missing, expired or expiring within the warning period.
	Training *TrainingNotice
	Data     any

	msgs Messages
	en   Messages
}

// NavItem is a navigation link.
type NavItem struct {
	Href, Title, Icon string
	Current           bool
}

// TrainingNotice warns about the operator's own training.
type TrainingNotice struct {
	Valid   bool
	Expires time.Time
}

// T returns the text of key in the view's language (English when the
// language lacks it, the key itself when both do), formatted with args.
func (v *View) T(key string, args ...any) string {
	msg, ok := v.msgs[key]
	if !ok {
		if msg, ok = v.en[key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// Date formats a time for the view (UTC); "—" for the zero time.
func (v *View) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Day formats a date (UTC); "—" for the zero time.
func (v *View) Day(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateOnly)
}

var funcs = template.FuncMap{
	"join": strings.Join,
}

// Render writes the page template name ("operators.html", or one added
// with AddTemplates) inside the layout, with data as $.Data.
func (c *Console) Render(w http.ResponseWriter, r *http.Request, name string, data any) {
	c.render(w, r, http.StatusOK, name, data)
}

// RenderStatus is Render with another status than 200 (a refusal shown in
// the page).
func (c *Console) RenderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	c.render(w, r, status, name, data)
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	c.mu.Lock()
	t := c.tmpls[name]
	c.mu.Unlock()
	if t == nil {
		c.Log.Error("console: no such template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := c.view(r, data)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.Log.Error("console: render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (c *Console) view(r *http.Request, data any) *View {
	lang := langOf(r)
	v := &View{Lang: lang, OtherLang: otherLang(lang), Path: r.URL.RequestURI(), Data: data,
		msgs: c.messages[lang], en: c.messages["en"]}
	vw := viewerOf(r)
	if vw == nil {
		return v
	}
	v.Operator = vw.op.Name
	if v.Operator == "" {
		v.Operator = vw.op.ID
	}
	v.RoleName = c.roleName(vw.op.Role, lang)
	v.CSRF = c.Auth.CSRFToken(vw.session)
	if vw.session.EnrolOnly {
		return v
	}
	c.mu.Lock()
	pages := append([]Page(nil), c.pages...)
	c.mu.Unlock()
	for _, p := range pages {
		if !c.allowed(vw.op.Role, p.Roles) {
			continue
		}
		href := strings.TrimSuffix(p.Path, "{$}")
		title := text(p.Title, lang)
		cur := r.URL.Path == href
		if cur {
			v.Title = title
		}
		v.Nav = append(v.Nav, NavItem{Href: href, Title: title, Icon: p.Icon, Current: cur})
	}
	if st, err := c.Auth.TrainingStatus(r.Context(), vw.op.ID, c.now()); err == nil && (!st.Valid || st.WarnSoon) {
		v.Training = &TrainingNotice{Valid: st.Valid, Expires: st.Expires}
	}
	return v
}

// errorPage renders the error page with status and the message of key.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	c.render(w, r, status, "error.html", errorData{Status: status, Key: key})
}

type errorData struct {
	Status int
	Key    string
	Text   string // when set, shown instead of Key's message
}

// fail renders err: its code sets the status, its public message (or the
// translation of it) the text; internal causes are logged, never shown.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := garde.ErrorCode(err)
	status := garde.ErrorStatus(code)
	if status >= 500 {
		c.Log.Error("console request failed", "path", r.URL.Path, "code", code, "err", err)
	}
	c.render(w, r, status, "error.html", errorData{Status: status, Text: c.errorText(r, err)})
}

// errorText is the public message of err in the request's language: its
// translation when the catalogue has one, else the English message in
// English and the code's sentence in French.
func (c *Console) errorText(r *http.Request, err error) string {
	lang := langOf(r)
	code := garde.ErrorCode(err)
	if code == garde.EInternal {
		return c.messages[lang]["code."+code]
	}
	msg := garde.ErrorMessage(err)
	if t, ok := c.messages[lang]["msg:"+msg]; ok {
		return t
	}
	if lang == "en" {
		return msg
	}
	if t, ok := c.messages[lang]["code."+code]; ok {
		return t
	}
	return c.messages[lang]["code."+garde.EInvalid]
}

// static serves the embedded stylesheet and script.
func (c *Console) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := assets.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		c.notFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Write(b)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.errorPage(w, r, http.StatusNotFound, "error.notfound")
}
