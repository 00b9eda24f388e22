package web

import (
	"context"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/inventory"
)

// Role groups, usable in Page.Roles and Handle besides role keys.
const (
	// GroupAdmin: every role the inventory marks admin (operators, keys,
	// configuration).
	GroupAdmin = "@admin"
	// GroupOversight: every role the inventory marks oversight (the DPO,
	// the security officer): the audit trail, alerts.
	GroupOversight = "@oversight"
)

// OperatorReader lists operators and their training records for the
// operator and training pages (store.Operators implements it).
type OperatorReader interface {
	FindOperators(ctx context.Context) ([]*access.Operator, error)
	FindTrainings(ctx context.Context, operatorID string) ([]access.Training, error)
}

// Console is the admin console. Fill the fields, add capability pages,
// then Register it.
type Console struct {
	Inventory *inventory.Inventory
	Auth      *access.Auth
	// Operators lists operators and training records.
	Operators OperatorReader
	// Keys manages API keys (access.IssueAPIKey issues them through it).
	Keys access.KeyAdmin
	// Audit reads the audit trail; AuditSigner checks its checkpoints.
	Audit       audit.Reader
	AuditSigner audit.Signer
	// Alerts lists and acknowledges insider-threat alerts; nil: the alerts
	// page says there are none to show.
	Alerts AlertStore
	// AppendAudit appends one entry in a transaction of its own: every
	// administrative act done through the console is recorded with it.
	AppendAudit func(context.Context, audit.Entry) error
	Clock       garde.Clock
	Log         *slog.Logger
	// Secure: served over TLS (Secure cookies, HSTS).
	Secure bool

	once     sync.Once
	mu       sync.Mutex
	mux      *http.ServeMux
	routes   []Route
	pending  []pendingRoute
	pages    []Page
	layout   *template.Template
	tmpls    map[string]*template.Template
	messages map[string]Messages
}

// Page is an entry of the console's navigation.
type Page struct {
	Path  string         // "/console/vendors": served on GET
	Title inventory.Text // the navigation label and page title
	Icon  string         // optional: a short symbol shown before the title
	// Roles who see the page and may open it: role keys, GroupAdmin,
	// GroupOversight; empty: every signed-in operator.
	Roles []string
	// Personal: the page shows customers' personal data, and so is refused
	// (403 naming the reason) to an operator without valid data-protection
	// training.
	Personal bool
}

// Access says who may reach a route.
type Access int

const (
	// SignedIn routes need a full session (and, when Route.Roles is set,
	// one of those roles).
	SignedIn Access = iota
	// Public routes need nothing: sign-in, language switch, assets.
	Public
	// Enrolment routes need the enrolment-only session of an operator who
	// must enrol a second factor.
	Enrolment
)

func (a Access) String() string {
	switch a {
	case Public:
		return "public"
	case Enrolment:
		return "enrolment"
	}
	return "signed-in"
}

// Route is one registered console route.
type Route struct {
	Pattern  string // "GET /console/operators"
	Access   Access
	Roles    []string // for SignedIn routes; empty: every signed-in operator
	Personal bool
}

type pendingRoute struct {
	route Route
	h     http.Handler
}

func (c *Console) init() {
	c.once.Do(func() {
		if c.Clock == nil {
			c.Clock = garde.SystemClock{}
		}
		if c.Log == nil {
			c.Log = slog.New(slog.DiscardHandler)
		}
		c.messages = map[string]Messages{"en": {}, "fr": {}}
		for lang, m := range catalogue {
			c.addMessages(lang, m)
		}
		c.layout = template.Must(template.New("layout").Funcs(funcs).ParseFS(assets, "templates/layout.html"))
		c.tmpls = map[string]*template.Template{}
		if err := c.addTemplates(assets, "templates/pages/*.html"); err != nil {
			panic(err)
		}
		c.builtins()
	})
}

// Register adds every console route to mux, each behind the security
// headers, session, role and CSRF checks its Route says.
func (c *Console) Register(mux *http.ServeMux) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mux = mux
	for _, p := range c.pending {
		c.register(p.route, p.h)
	}
	c.pending = nil
}

// Routes returns every console route, in registration order.
func (c *Console) Routes() []Route {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.routes)
	for _, p := range c.pending {
		out = append(out, p.route)
	}
	return out
}

// AddPage adds p to the navigation and serves h on GET p.Path for the
// operators p.Roles names.
func (c *Console) AddPage(p Page, h http.Handler) {
	c.init()
	c.mu.Lock()
	c.pages = append(c.pages, p)
	c.mu.Unlock()
	c.Handle("GET "+p.Path, p.Roles, p.Personal, h)
}

// Handle serves h on pattern ("METHOD /console/…") for the signed-in
// operators roles names (empty: all of them); personal marks routes that
// show customers' personal data (refused without valid training). A POST
// reaches h only with the session's CSRF token in the form field "csrf".
func (c *Console) Handle(pattern string, roles []string, personal bool, h http.Handler) {
	c.add(Route{Pattern: pattern, Access: SignedIn, Roles: roles, Personal: personal}, h)
}

func (c *Console) add(rt Route, h http.Handler) {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mux == nil {
		c.pending = append(c.pending, pendingRoute{rt, h})
		return
	}
	c.register(rt, h)
}

func (c *Console) register(rt Route, h http.Handler) {
	c.routes = append(c.routes, rt)
	var guarded http.Handler
	switch rt.Access {
	case Public:
		guarded = c.withLang(h)
	case Enrolment:
		guarded = c.withLang(c.enrolment(h))
	default:
		guarded = c.withLang(c.signedIn(rt, h))
	}
	c.mux.Handle(rt.Pattern, SecurityHeaders(c.Secure, guarded))
}

// AddTemplates parses the page templates matched by patterns in fsys; each
// file defines "content" (and may define "title") and is rendered inside
// the layout by Render under its base name ("vendors.html").
func (c *Console) AddTemplates(fsys fs.FS, patterns ...string) error {
	c.init()
	return c.addTemplates(fsys, patterns...)
}

func (c *Console) addTemplates(fsys fs.FS, patterns ...string) error {
	for _, pat := range patterns {
		files, err := fs.Glob(fsys, pat)
		if err != nil {
			return err
		}
		for _, f := range files {
			t, err := template.Must(c.layout.Clone()).ParseFS(fsys, f)
			if err != nil {
				return err
			}
			name := f[strings.LastIndexByte(f, '/')+1:]
			c.mu.Lock()
			c.tmpls[name] = t
			c.mu.Unlock()
		}
	}
	return nil
}

// builtins declares the shell's own routes and pages.
func (c *Console) builtins() {
	admin, oversight := []string{GroupAdmin}, []string{GroupOversight}
	public := func(p string, h http.HandlerFunc) { c.addLocked(Route{Pattern: p, Access: Public}, h) }
	enrol := func(p string, h http.HandlerFunc) { c.addLocked(Route{Pattern: p, Access: Enrolment}, h) }
	signed := func(p string, roles []string, h http.HandlerFunc) {
		c.addLocked(Route{Pattern: p, Access: SignedIn, Roles: roles}, h)
	}
	page := func(p Page, h http.HandlerFunc) {
		c.pages = append(c.pages, p)
		signed("GET "+p.Path, p.Roles, h)
	}

	public("GET /console/login", c.loginForm)
	public("POST /console/login", c.login)
	public("GET /console/lang", c.switchLang)
	public("GET /console/static/{file}", c.static)
	public("/console/", c.notFound)
	enrol("GET /console/enrol", c.enrolForm)
	enrol("POST /console/enrol", c.enrol)
	signed("POST /console/logout", nil, c.logout)

	page(Page{Path: "/console/{$}", Title: inventory.Text{EN: "Home", FR: "Accueil"}, Icon: "⌂"}, c.home)
	page(Page{Path: "/console/operators", Title: inventory.Text{EN: "Operators", FR: "Opérateurs"}, Icon: "☺", Roles: admin}, c.operators)
	signed("POST /console/operators", admin, c.createOperator)
	signed("POST /console/operators/{id}/role", admin, c.setRole)
	signed("POST /console/operators/{id}/disabled", admin, c.setDisabled)
	signed("POST /console/operators/{id}/unlock", admin, c.unlock)
	page(Page{Path: "/console/keys", Title: inventory.Text{EN: "API keys", FR: "Clés d’API"}, Icon: "⚿", Roles: admin}, c.keys)
	signed("POST /console/keys", admin, c.createKey)
	signed("POST /console/keys/{id}/delete", admin, c.deleteKey)
	page(Page{Path: "/console/training", Title: inventory.Text{EN: "Training", FR: "Formation"}, Icon: "✎", Roles: admin}, c.training)
	signed("POST /console/training", admin, c.recordTraining)
	page(Page{Path: "/console/audit", Title: inventory.Text{EN: "Audit trail", FR: "Journal d’audit"}, Icon: "☷", Roles: oversight}, c.auditTrail)
	signed("POST /console/audit/verify", oversight, c.verifyAudit)
	page(Page{Path: "/console/alerts", Title: inventory.Text{EN: "Alerts", FR: "Alertes"}, Icon: "⚠", Roles: oversight}, c.alerts)
	signed("POST /console/alerts/{id}/ack", oversight, c.ackAlert)
}

// addLocked queues a route during init (the mux is not known yet).
func (c *Console) addLocked(rt Route, h http.Handler) {
	c.pending = append(c.pending, pendingRoute{rt, h})
}

// allowed reports whether an operator of role may reach a route for roles.
func (c *Console) allowed(role string, roles []string) bool {
	if len(roles) == 0 {
		return true
	}
	r := c.Inventory.Role(role)
	for _, want := range roles {
		switch want {
		case GroupAdmin:
			if r != nil && r.Admin {
				return true
			}
		case GroupOversight:
			if r != nil && r.Oversight {
				return true
			}
		default:
			if want == role {
				return true
			}
		}
	}
	return false
}

func (c *Console) now() time.Time { return c.Clock.Now() }
