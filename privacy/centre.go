package privacy

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/inventory"
)

// Centre serves the privacy centre's pages over a Backend. Set the fields,
// then call Register; the Centre is safe for concurrent use afterwards.
type Centre struct {
	Backend   Backend
	Inventory *inventory.Inventory // what Garde holds and why: categories, purposes (FR/EN descriptions), retention
	Key       []byte               // 32 bytes: HMAC key for the session cookie and the CSRF token
	Secure    bool                 // cookies get Secure (TLS)
	Clock     garde.Clock
	Log       *slog.Logger

	once  sync.Once
	tmpls map[string]*template.Template
	held  map[string]holdings // by language
}

// maxForm bounds a form's body.
const maxForm = 16 << 10

// Register mounts the centre on mux, every route under /privacy. It panics
// when Key is shorter than 32 bytes or Backend is nil: a wiring mistake.
// The routes set their own security headers (a Content-Security-Policy
// without script or inline style, no framing, no referrer, no caching).
func (c *Centre) Register(mux *http.ServeMux) {
	c.init()
	mux.HandleFunc("GET /privacy/static/{file}", c.static)
	c.handle(mux, "GET /privacy", c.home)
	c.handle(mux, "GET /privacy/{$}", func(w http.ResponseWriter, r *http.Request, _ *visit) {
		http.Redirect(w, r, "/privacy", http.StatusSeeOther)
	})
	c.handle(mux, "POST /privacy/ask", c.ask)
	c.handle(mux, "GET /privacy/signed", c.signed)
	c.handle(mux, "GET /privacy/requests/{id}/verify", c.verifyForm)
	c.handle(mux, "POST /privacy/requests/{id}/verify", c.verify)
	c.handle(mux, "GET /privacy/requests/{id}", c.request)
	c.handle(mux, "POST /privacy/requests/{id}/consents", c.decide)
	c.handle(mux, "POST /privacy/requests/{id}/fields", c.rectify)
	c.handle(mux, "GET /privacy/download/{token}", c.download)
	mux.HandleFunc("/privacy/", func(w http.ResponseWriter, r *http.Request) {
		v := c.visit(w, r)
		v.here = "/privacy"
		c.errorPage(w, r, v, http.StatusNotFound, "notfound.title", "notfound.text")
	})
}

func (c *Centre) init() {
	c.once.Do(func() {
		if len(c.Key) < 32 {
			panic("privacy: Centre.Key must hold at least 32 bytes")
		}
		if c.Backend == nil {
			panic("privacy: Centre.Backend is nil")
		}
		if c.Clock == nil {
			c.Clock = garde.SystemClock{}
		}
		if c.Log == nil {
			c.Log = slog.New(slog.DiscardHandler)
		}
		c.tmpls = parseTemplates()
		c.held = map[string]holdings{}
		for _, l := range []string{"en", "fr"} {
			c.held[l] = holdingsOf(c.Inventory, l)
		}
	})
}

func (c *Centre) now() time.Time { return c.Clock.Now() }

// visit is what a handler knows of the browser: its language, its CSRF
// seed, and the page's address for the language switch.
type visit struct {
	lang    string
	seed    string
	here    string // a GET path showing this page (the language switch adds ?lang=)
	refresh bool
}

// handle mounts h behind the centre's common steps: security headers, the
// language, the CSRF seed and, for a POST, a bounded body whose CSRF token
// is checked before anything else.
func (c *Centre) handle(mux *http.ServeMux, pattern string, h func(http.ResponseWriter, *http.Request, *visit)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v := c.visit(w, r)
		if r.Method != http.MethodPost {
			h(w, r, v)
			return
		}
		v.here = "/privacy"
		if ck, err := r.Cookie(csrfCookie); err != nil || ck.Value != v.seed {
			// no seed, so no token can match: refused before the body is read
			c.errorPage(w, r, v, http.StatusForbidden, "csrf.title", "csrf.text")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				c.errorPage(w, r, v, http.StatusRequestEntityTooLarge, "error.title", "error.toolarge")
				return
			}
			c.errorPage(w, r, v, http.StatusBadRequest, "error.title", "error.form")
			return
		}
		if !c.checkCSRF(r, r.PostForm.Get(csrfField)) {
			c.errorPage(w, r, v, http.StatusForbidden, "csrf.title", "csrf.text")
			return
		}
		h(w, r, v)
	})
}

// visit sets the security headers and reads the language and the CSRF
// seed (setting their cookies when needed).
func (c *Centre) visit(w http.ResponseWriter, r *http.Request) *visit {
	securityHeaders(w)
	return &visit{lang: c.pickLang(w, r), seed: c.csrfSeed(w, r), here: r.URL.Path}
}

// contentSecurityPolicy allows the centre's own stylesheet and nothing
// else: no script, no inline style, forms posted to itself only.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // request ids and download tokens ride in URLs
	h.Set("Cache-Control", "no-store")
}

// homeData is the home page: the request form and what Garde holds.
type homeData struct {
	Hold          holdings
	Kinds         []choice
	Jurisdictions []choice
	Email         string
	KindError     string
	WhereError    string
	EmailError    string
}

// choice is one radio button.
type choice struct {
	Value, Label, Hint string
	Checked            bool
}

// kinds are what a person may ask for, in the form's order.
var kinds = []string{KindAccess, KindPortability, KindRectification, KindErasure, KindRestriction, KindObjection,
	KindOptOut, KindConsents}

// jurisdictions maps the form's values to the laws (rights.Jurisdiction).
var jurisdictions = []struct{ value, law string }{{"gdpr", "GDPR"}, {"ccpa", "CCPA"}}

func (c *Centre) home(w http.ResponseWriter, r *http.Request, v *visit) {
	c.render(w, r, v, http.StatusOK, "home.html", "home.title", c.homeData(v, "", "", ""), nil)
}

func (c *Centre) homeData(v *visit, kind, where, email string) *homeData {
	d := &homeData{Hold: c.held[v.lang], Email: email}
	for _, k := range kinds {
		d.Kinds = append(d.Kinds, choice{Value: k, Label: "kind." + k, Hint: "kind." + k + ".hint", Checked: k == kind})
	}
	for _, j := range jurisdictions {
		d.Jurisdictions = append(d.Jurisdictions, choice{Value: j.value, Label: "where." + j.value, Checked: j.value == where})
	}
	return d
}

// ask records a request and sends the code. Whatever the address, a valid
// form leads to the same code page: nothing tells whether Garde knows it.
func (c *Centre) ask(w http.ResponseWriter, r *http.Request, v *visit) {
	kind, where := r.PostForm.Get("kind"), r.PostForm.Get("where")
	email := strings.TrimSpace(r.PostForm.Get("email"))
	d := c.homeData(v, kind, where, email)
	var problems []problem
	if !contains(kinds, kind) {
		d.KindError = c.t(v, "ask.kind.missing")
		problems = append(problems, problem{Field: "kind-" + kinds[0], Text: d.KindError})
	}
	law := ""
	for _, j := range jurisdictions {
		if j.value == where {
			law = j.law
		}
	}
	if law == "" {
		d.WhereError = c.t(v, "ask.where.missing")
		problems = append(problems, problem{Field: "where-" + jurisdictions[0].value, Text: d.WhereError})
	}
	if email == "" || len(email) > 254 {
		d.EmailError = c.t(v, "ask.email.missing")
		problems = append(problems, problem{Field: "email", Text: d.EmailError})
	}
	if problems == nil {
		id, err := c.Backend.Ask(r.Context(), Ask{Kind: kind, Jurisdiction: law, Email: email, Lang: v.lang,
			IP: api.RemoteHost(r)})
		if err == nil && validID(id) {
			http.Redirect(w, r, requestPath(id)+"/verify", http.StatusSeeOther)
			return
		}
		if err == nil {
			err = garde.Errorf(garde.EInternal, "the backend returned a malformed request id")
		}
		status := c.status(r, err)
		text := c.errorText(v, err)
		if status == http.StatusBadRequest {
			// kind and jurisdiction were checked above: what is left is
			// the address, or a right the chosen law does not give
			d.EmailError = text
			problems = append(problems, problem{Field: "email", Text: text})
		} else {
			problems = append(problems, problem{Text: text})
		}
		c.render(w, r, v, status, "home.html", "home.title", d, problems)
		return
	}
	c.render(w, r, v, http.StatusBadRequest, "home.html", "home.title", d, problems)
}

// signed answers the brand's own site linking a signed-in customer here
// (GET /privacy/signed?token=…&kind=…&where=…): the token vouches for the
// person, so the request is verified at once and this browser gets its
// session. The token works once and for minutes.
func (c *Centre) signed(w http.ResponseWriter, r *http.Request, v *visit) {
	q := r.URL.Query()
	kind, where, token := q.Get("kind"), q.Get("where"), q.Get("token")
	if where == "" {
		where = jurisdictions[0].value
	}
	law := ""
	for _, j := range jurisdictions {
		if j.value == where {
			law = j.law
		}
	}
	var err error
	var id string
	switch {
	case !contains(kinds, kind) || law == "" || token == "":
		err = garde.Errorf(garde.EInvalid, "this link is not complete")
	default:
		id, err = c.Backend.AskSigned(r.Context(), Ask{Kind: kind, Jurisdiction: law, Lang: v.lang, IP: api.RemoteHost(r)}, token)
	}
	if err == nil && validID(id) {
		c.setSession(w, id)
		http.Redirect(w, r, requestPath(id), http.StatusSeeOther)
		return
	}
	if err == nil {
		err = garde.Errorf(garde.EInternal, "the backend returned a malformed request id")
	}
	v.here = "/privacy"
	c.errorPage(w, r, v, c.status(r, err), "signed.title", "signed.text")
}

// verifyData is the code page.
type verifyData struct {
	Action string
	Error  string
}

func (c *Centre) verifyForm(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	if !validID(id) {
		v.here = "/privacy"
		c.errorPage(w, r, v, http.StatusNotFound, "notfound.title", "notfound.text")
		return
	}
	if c.sessionID(r) == id {
		// already verified in this browser
		http.Redirect(w, r, requestPath(id), http.StatusSeeOther)
		return
	}
	c.render(w, r, v, http.StatusOK, "verify.html", "verify.title", &verifyData{Action: requestPath(id) + "/verify"}, nil)
}

// verify checks the code; the browser then holds a session for this
// request. A wrong, expired or unknown code gets one same answer.
func (c *Centre) verify(w http.ResponseWriter, r *http.Request, v *visit) {
	id := r.PathValue("id")
	v.here = requestPath(id) + "/verify"
	if !validID(id) {
		v.here = "/privacy"
		c.errorPage(w, r, v, http.StatusNotFound, "notfound.title", "notfound.text")
		return
	}
	d := &verifyData{Action: requestPath(id) + "/verify"}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	var err error
	switch {
	case code == "" || len(code) > 32:
		err = garde.Errorf(garde.EInvalid, "wrong code")
	default:
		err = c.Backend.Confirm(r.Context(), id, code, api.RemoteHost(r))
	}
	if err == nil {
		c.setSession(w, id)
		http.Redirect(w, r, requestPath(id), http.StatusSeeOther)
		return
	}
	status := c.status(r, err)
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusForbidden:
		// wrong, expired, for another request, or no such request
		status, d.Error = http.StatusBadRequest, c.t(v, "verify.wrong")
	case http.StatusTooManyRequests:
		d.Error = c.t(v, "verify.toomany")
	default:
		d.Error = c.errorText(v, err)
	}
	c.render(w, r, v, status, "verify.html", "verify.title", d, []problem{{Field: "code", Text: d.Error}})
}

// requestPath is the address of a request's page.
func requestPath(id string) string { return "/privacy/requests/" + url.PathEscape(id) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
