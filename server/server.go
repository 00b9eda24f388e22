// Package server assembles Garde's HTTP surface on one listener: the
// collection API, the operator API, and operations (/metrics, /healthz,
// /readyz), with the middleware every route shares (request ids, panic
// recovery, an access log without personal data, operator authentication).
package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/consent/banner"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/privacy"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/web"
)

// Server is Garde's HTTP surface.
type Server struct {
	Inventory *inventory.Inventory
	Collect   *collect.Handler
	Consent   *consent.Handler
	Console   *web.Console
	Guardians *consent.Guardians
	// Privacy is the privacy centre (/privacy); nil: not served.
	Privacy *privacy.Centre
	// Auth runs operators' accounts (training records); nil: no such routes.
	Auth     *access.Auth
	Profiles *profile.Reader
	Index    collect.Indexer
	APIKeys  access.KeyStore
	Data     *store.DB
	Registry *prometheus.Registry
	Log      *slog.Logger
	Clock    garde.Clock
	// Gate returns, of the purposes named by a read, those the subject's
	// data may be processed for now (the consent gate at read time).
	Gate func(s garde.SubjectID, purposes inventory.PurposeSet) inventory.PurposeSet
	// Audit appends an audit entry in its own transaction.
	Audit func(ctx context.Context, e audit.Entry) error
	// Requests runs data-subject requests (nil: no request routes);
	// Enqueue queues the durable job that answers a verified one.
	Requests *rights.Service
	Enqueue  func(ctx context.Context, args rights.JobArgs) error
	// Rectify overwrites one declared trait of a subject, erasing the old
	// value (an undeclared field or a wrongly typed value is EInvalid).
	Rectify func(ctx context.Context, s garde.SubjectID, field, value string) error
	// Ready reports whether the server can take traffic (nil: ready).
	Ready func(context.Context) error

	pages sync.Once // the console pages this package adds
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Collect.Register(mux)
	if s.Consent != nil {
		s.Consent.Register(mux, s.Collect.CORS)
		banner.New(s.Inventory).Register(mux)
	}
	if s.Guardians != nil {
		s.Guardians.Register(mux, s.Collect.CORS)
	}
	for _, rt := range s.operatorRoutes() {
		mux.Handle(rt.Pattern, s.operator(rt.handler))
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		api.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Ready(r.Context()); err != nil {
			api.Error(w, r, s.Log, garde.Wrap(garde.EUnavailable, err, "not ready"))
			return
		}
		api.JSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if s.Console != nil {
		s.pages.Do(func() {
			if err := s.addPeoplePage(); err != nil {
				s.Log.Error("console: the people page", "err", err)
			}
		})
		s.Console.Register(mux)
	}
	if s.Privacy != nil {
		s.Privacy.Register(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api.Error(w, r, s.Log, garde.Errorf(garde.ENotFound, "no such route"))
	})
	return api.WithRequestID(s.recover(s.accessLog(mux)))
}

// recover turns a panic into a 500 answer and a log line, never a crash.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("panic", "path", r.URL.Path, "request_id", api.RequestID(r.Context()))
				api.Error(w, r, nil, garde.Errorf(garde.EInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// accessLog logs each request by its route pattern — never the query string,
// which may hold an email address, nor any header or body.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if !s.Log.Enabled(r.Context(), slog.LevelDebug) {
			return // its arguments cost a few allocations per request
		}
		s.Log.Debug("http", "method", r.Method, "route", r.Pattern, "status", sw.status,
			"ms", float64(time.Since(start).Microseconds())/1000, "request_id", api.RequestID(r.Context()))
	})
}

type operatorKey struct{}

// operator requires an operator API key.
func (s *Server) operator(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := access.Authenticate(r.Context(), s.APIKeys, r, s.Clock.Now())
		if err != nil {
			api.Error(w, r, s.Log, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, k)))
	})
}

// Route is an operator route: it needs an API key, and Admin ones a role
// that administers Garde; Purpose ones are reads of personal data that
// name a purpose.
type Route struct {
	Pattern string
	Admin   bool
	Purpose bool
	handler http.HandlerFunc
}

// operatorRoutes lists the routes served under operator API keys.
func (s *Server) operatorRoutes() []Route {
	rs := []Route{
		{Pattern: "GET /v1/subjects/{id}", Purpose: true, handler: s.getSubject},
		{Pattern: "GET /v1/subjects", Purpose: true, handler: s.findSubject},
		{Pattern: "POST /v1/subjects/read", Purpose: true, handler: s.readSubjects},
		{Pattern: "GET /v1/inventory/violations", handler: s.violations},
	}
	if s.Auth != nil {
		rs = append(rs,
			Route{Pattern: "GET /v1/operators/{id}/training", Admin: true, handler: s.admin(s.getTraining)},
			Route{Pattern: "POST /v1/operators/{id}/training", Admin: true, handler: s.admin(s.postTraining)})
	}
	return append(rs, s.requestRoutes()...)
}

// Routes lists every route that needs an operator's API key, including
// the consent check: the route-table test walks it, so that a new route
// without a test case fails the suite.
func (s *Server) Routes() []Route {
	rs := s.operatorRoutes()
	if s.Consent != nil {
		rs = append(rs, Route{Pattern: "POST /v1/consent/check"})
	}
	return rs
}

// OperatorID authenticates an operator's API key and names it for records
// ("apikey:<id>").
func (s *Server) OperatorID(r *http.Request) (string, error) {
	k, err := access.Authenticate(r.Context(), s.APIKeys, r, s.Clock.Now())
	if err != nil {
		return "", err
	}
	return "apikey:" + k.ID, nil
}
