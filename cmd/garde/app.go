package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/retention"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/rights/verify"
	"github.com/garde-privacy/garde/server"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
	"github.com/garde-privacy/garde/web"
)

// Main is one running Garde: the binary's serve and demo verbs and the
// end-to-end tests all run it, so the tests exercise exactly what ships.
// Fill the fields, call Open, then Close.
type Main struct {
	ConfigPath string
	// ConfigExplicit says the config path was given; when it was not and the
	// file is missing, the built-in example inventory is used.
	ConfigExplicit bool
	DataDir        string
	Listen         string
	Log            *slog.Logger
	Clock          garde.Clock
	Writer         collect.WriterOptions
	// AlertWebhook receives insider-threat alerts (signed with
	// GARDE_ALERT_WEBHOOK_SECRET); TLS says the console is served over TLS.
	AlertWebhook string
	TLS          bool
	// TLSCert and TLSKey: PEM files; when set, Garde serves HTTPS only
	// (and sets TLS).
	TLSCert, TLSKey string
	// Notifier sends the links guardians of minors answer (nil: refuse
	// guardian requests until a mail server is configured); PublicURL is
	// the address those links point to (default: the listener's).
	Notifier  consent.Notifier
	PublicURL string
	// SiteKeys, when set, let the brand's own site send signed-in
	// customers to the privacy centre with a signed token (no code).
	SiteKeys *verify.SiteKeys

	Inventory  *inventory.Inventory
	Data       *store.DB
	Keys       *store.DB
	Vault      *vault.Vault
	Consent    *consent.Index
	Ledger     *consent.Ledger
	AuditLog   *audit.Log
	Retention  *retention.Clock
	Requests   *rights.Service
	Eraser     *rights.Eraser
	fulfil     *rights.Fulfiller
	auditStore *store.Audit
	jobs       sync.WaitGroup
	jobsCtx    context.Context
	stopJobs   context.CancelFunc
	writer     *collect.Writer
	srv        *server.Server
	// noGate runs the writer without the consent gate: only benchmarks set
	// it, to measure what the gate costs.
	noGate bool
	http   *http.Server
	ln     net.Listener
	served chan error
}

// File names inside the data directory. The keys have their own database so
// that a copy of the data never carries them.
const (
	dataFile      = "garde.db"
	keysFile      = "keys.db"
	masterKeyFile = "master.key"
)

// Open loads the inventory, opens the databases and the vault, starts the
// writer and starts serving on Listen.
func (m *Main) Open(ctx context.Context) (err error) {
	if m.Log == nil {
		m.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if m.Clock == nil {
		m.Clock = garde.SystemClock{}
	}
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return garde.Errorf(garde.EInvalid, "--tls-cert and --tls-key go together")
	}
	m.TLS = m.TLSCert != ""
	defer func() {
		if err != nil {
			m.Close(context.Background())
		}
	}()
	if m.Inventory, err = loadInventory(m.ConfigPath, m.ConfigExplicit, m.Log); err != nil {
		return err
	}
	if err := m.openStores(ctx); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := collect.NewMetrics(reg)
	inv := m.Inventory
	m.Consent = consent.NewIndex(inv)
	var gate collect.Gate = m.Consent
	if m.noGate {
		gate = nil
	}
	m.writer = collect.NewWriter(store.NewCollect(m.Data), m.Vault, gate,
		func(s inventory.PurposeSet) string { return strings.Join(inv.PurposeKeys(s), ",") },
		m.Writer, m.Log, metrics)
	receipts, err := m.Vault.Signer(ctx, vault.UseReceipts)
	if err != nil {
		return err
	}
	auditSigner, err := m.Vault.Signer(ctx, vault.UseAudit)
	if err != nil {
		return err
	}
	m.auditStore = store.NewAudit(m.Data)
	m.AuditLog = &audit.Log{Signer: auditSigner, Clock: m.Clock}
	// one audit append per group commit: the events written, and the consent
	// decisions the group's jobs recorded (noted by the ledger's hook below)
	// (keyed by transaction: notes of a group that failed are dropped)
	decided := map[collect.Tx]map[string][]garde.SubjectID{}
	m.writer.SetAudit(func(ctx context.Context, tx collect.Tx, sources []string, subjects []garde.SubjectID) error {
		var entries []audit.Entry
		if len(subjects) > 0 {
			entries = append(entries, audit.Entry{Actor: "source:" + strings.Join(sources, ","),
				Action: audit.ActionEventsWrite, Subjects: subjects, Outcome: audit.OutcomeOK})
		}
		notes := decided[tx]
		clear(decided)
		for _, actor := range slices.Sorted(maps.Keys(notes)) {
			entries = append(entries, audit.Entry{Actor: actor, Action: audit.ActionConsentRecord, Subjects: notes[actor], Outcome: audit.OutcomeOK})
		}
		if len(entries) == 0 {
			return nil
		}
		return m.AuditLog.Append(ctx, m.auditStore.CollectTx(tx), entries...)
	})
	cstore := store.NewConsent(m.Data)
	m.Ledger = &consent.Ledger{Inventory: inv, Index: m.Consent, Writer: m.writer, Store: cstore, Subjects: cstore,
		TxOf: store.ConsentTx, Clock: m.Clock, Salt: m.Vault.DeriveKey("consent ip and user-agent salt"),
		// runs in the writer goroutine, inside the group commit that the
		// writer's audit hook above closes
		Audit: func(_ context.Context, tx collect.Tx, actor string, s garde.SubjectID, _ []string) error {
			if decided[tx] == nil {
				decided[tx] = map[string][]garde.SubjectID{}
			}
			decided[tx][actor] = append(decided[tx][actor], s)
			return nil
		}}
	notices := &consent.Notices{Inventory: inv, Store: cstore, Clock: m.Clock}
	if err := notices.Ensure(ctx); err != nil {
		return err
	}
	canonical, err := cstore.CanonicalSubjects(ctx)
	if err != nil {
		return err
	}
	n, err := m.Ledger.Load(ctx, canonical)
	if err != nil {
		return err
	}
	m.Log.Info("consent ledger loaded", "records", n, "subjects", m.Consent.Subjects())
	m.every(time.Hour, "consent expiry", func(ctx context.Context) (int, error) { return m.Ledger.ExpireDue(ctx) })
	m.Retention = &retention.Clock{Inventory: inv, Store: store.NewRetention(m.Data), Clock: m.Clock,
		Audit: func(ctx context.Context, e audit.Entry) error { return m.auditStore.Append(ctx, m.AuditLog, e) }}
	m.every(time.Hour, "retention", func(ctx context.Context) (int, error) {
		rep, err := m.Retention.Run(ctx, false)
		return rep.Deleted + rep.Anonymised, err
	})
	srv := &server.Server{
		Inventory: inv,
		Collect: &collect.Handler{
			Inventory: inv, Pipeline: collect.NewPipeline(inv, m.Vault), Writer: m.writer,
			Metrics: metrics, Log: m.Log, Clock: m.Clock,
		},
		Profiles: &profile.Reader{Store: store.NewProfiles(m.Data), Opener: m.Vault,
			Allowed: func(s garde.SubjectID, keys string) string { return m.Consent.AllowedKeys(s, keys, m.Clock.Now()) }},
		Index: m.Vault,
		// a deleted API key keeps working for at most 5 s (see access.KeyCache)
		APIKeys:  &access.KeyCache{KeyStore: store.NewAPIKeys(m.Data), TTL: 5 * time.Second},
		Data:     m.Data,
		Registry: reg,
		Log:      m.Log,
		Clock:    m.Clock,
		Ready:    func(ctx context.Context) error { return m.Data.Reader().PingContext(ctx) },
	}
	srv.Consent = &consent.Handler{Inventory: inv, Ledger: m.Ledger, Index: m.Consent, BlindIdx: m.Vault, Receipts: receipts, Notices: notices,
		Operator: srv.OperatorID, Clock: m.Clock, Log: m.Log, GPCUpdated: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)}
	certificates, err := m.Vault.Signer(ctx, vault.UseCertificates)
	if err != nil {
		return err
	}
	srv.Consent.Published = []*vault.Signer{certificates}
	srv.Collect.GPC = srv.Consent.CollectGPC
	srv.Gate = func(s garde.SubjectID, p inventory.PurposeSet) inventory.PurposeSet {
		return m.Consent.Allowed(s, p, m.Clock.Now())
	}
	// reads and refusals are audited through the writer's group commits: a
	// read is answered once its entry is durable, and concurrent reads
	// share one commit
	srv.Audit = func(ctx context.Context, e audit.Entry) error {
		if err := e.Validate(); err != nil {
			return err
		}
		return m.writer.Do(ctx, func(ctx context.Context, tx collect.Tx, _ collect.Resolve) (func(), error) {
			return nil, m.AuditLog.Append(ctx, m.auditStore.CollectTx(tx), e)
		})
	}
	m.Requests = rights.NewService(store.NewRequests(m.Data), m.Clock)
	if srv.Console, err = m.console(ctx, auditSigner, srv.Audit); err != nil {
		return err
	}
	srv.Auth = srv.Console.Auth
	m.srv = srv
	links, err := m.Vault.Signer(ctx, vault.UseLinks)
	if err != nil {
		return err
	}
	notifier := m.Notifier
	if notifier == nil {
		notifier = noMail{}
	}
	srv.Guardians = &consent.Guardians{Ledger: m.Ledger, Store: store.NewGuardians(m.Data), Links: links,
		Notifier: notifier, Clock: m.Clock, BaseURL: m.PublicURL, API: srv.Consent}
	if err := m.openRights(ctx, srv, certificates, notifier, notices); err != nil {
		return err
	}
	if m.ln, err = net.Listen("tcp", m.Listen); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Listen, err)
	}
	m.http = &http.Server{
		Handler:           web.SecurityHeaders(m.TLS, srv.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	m.served = make(chan error, 1)
	if srv.Guardians.BaseURL == "" {
		srv.Guardians.BaseURL = map[bool]string{true: "https", false: "http"}[m.TLS] + "://" + m.Addr()
	}
	if m.TLS {
		go func() { m.served <- m.http.ServeTLS(m.ln, m.TLSCert, m.TLSKey) }()
	} else {
		go func() { m.served <- m.http.Serve(m.ln) }()
	}
	m.Log.Info("garde is serving", "addr", m.Addr(), "data", m.DataDir, "sources", len(inv.Sources), "purposes", len(inv.Purposes))
	return nil
}

// openStores opens the data and key databases and the vault, creating the
// data directory and its master key on first start.
func (m *Main) openStores(ctx context.Context) error {
	master, err := masterKey(m.DataDir, m.Log)
	if err != nil {
		return err
	}
	if m.Keys, err = store.OpenSQLite(ctx, filepath.Join(m.DataDir, keysFile), "keys"); err != nil {
		return err
	}
	if m.Vault, err = vault.Open(ctx, master, store.NewKeys(m.Keys), vault.Options{}); err != nil {
		return err
	}
	m.Data, err = store.OpenSQLite(ctx, filepath.Join(m.DataDir, dataFile), "data")
	return err
}

// masterKey returns the master key from GARDE_MASTER_KEY or the key file in
// the data directory, creating both on first start.
func masterKey(dir string, log *slog.Logger) (vault.MasterKey, error) {
	if k, ok, err := vault.MasterKeyFromEnv(); ok || err != nil {
		return k, err
	}
	path := filepath.Join(dir, masterKeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return vault.MasterKey{}, err
		}
		log.Warn("no master key yet: creating one; keep a copy of it apart from the data", "path", path)
		return vault.CreateMasterKeyFile(path)
	}
	return vault.LoadMasterKeyFile(path)
}

// loadInventory loads the inventory at path, or the built-in example when
// path was not given and does not exist.
func loadInventory(path string, explicit bool, log *slog.Logger) (*inventory.Inventory, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && !explicit {
		log.Warn("no inventory file: using the built-in example inventory (run `garde init` to write your own)", "path", path)
		return inventory.MustExample(), nil
	}
	inv, problems, err := inventory.Load(path)
	if err != nil {
		return nil, err
	}
	for _, p := range problems {
		if p.Severity != inventory.SeverityError {
			log.Warn("inventory", "problem", p.String())
		}
	}
	if problems.HasErrors() {
		return nil, garde.Wrap(garde.EInvalid, problems, "the inventory is not valid (run `garde inventory check`)")
	}
	return inv, nil
}

// Addr is the address Garde listens on.
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Wait blocks until the server stops on its own (an error) or ctx ends.
func (m *Main) Wait(ctx context.Context) error {
	select {
	case err := <-m.served:
		return err
	case <-ctx.Done():
		return nil
	}
}

// Close shuts down gracefully: stop accepting, let in-flight calls finish
// (every event already acknowledged is durable; those in flight are
// written), stop the writer, close the databases.
func (m *Main) Close(ctx context.Context) error {
	var errs []error
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		errs = append(errs, m.http.Shutdown(ctx))
		cancel()
	}
	if m.stopJobs != nil {
		m.stopJobs()
		m.jobs.Wait()
	}
	if m.writer != nil {
		m.writer.Close()
		if m.auditStore != nil {
			// sign the tail of the audit log, so that nothing after the
			// last checkpoint can be removed unnoticed while stopped
			if _, _, err := m.auditStore.Checkpoint(context.WithoutCancel(ctx), m.AuditLog); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if m.Data != nil {
		errs = append(errs, m.Data.Close())
	}
	if m.Keys != nil {
		errs = append(errs, m.Keys.Close())
	}
	return errors.Join(errs...)
}

// every runs job a minute after start (or after period, if shorter), then every
// period until Close, logging what it did (counts only).
func (m *Main) every(period time.Duration, name string, job func(context.Context) (int, error)) {
	m.startJobs()
	m.jobs.Add(1)
	go func() {
		defer m.jobs.Done()
		// not at start-up: a scan of the whole database should not compete
		// with the first requests (nor race a test's own calls)
		select {
		case <-m.jobsCtx.Done():
			return
		case <-time.After(min(period, time.Minute)):
		}
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			n, err := job(m.jobsCtx)
			switch {
			case err != nil && m.jobsCtx.Err() == nil:
				m.Log.Error("periodic job failed", "job", name, "err", err)
			case n > 0:
				m.Log.Info("periodic job", "job", name, "count", n)
			}
			select {
			case <-m.jobsCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// startJobs makes the context background jobs run under; Close ends it.
func (m *Main) startJobs() {
	if m.stopJobs == nil {
		m.jobsCtx, m.stopJobs = context.WithCancel(context.Background())
	}
}

// Labels of the keys the vault derives for the console. garde init uses
// them too, so that the first admin's TOTP secret opens in serve.
const (
	operatorSecretsKey = "operator secrets"
	consoleCSRFKey     = "console csrf"
)

// operatorAuth is the operators' authentication over the data database.
func operatorAuth(v *vault.Vault, data *store.DB, clock garde.Clock) (*access.Auth, *store.Operators, error) {
	ops := store.NewOperators(data)
	sealer, err := access.NewAESSealer(v.DeriveKey(operatorSecretsKey))
	if err != nil {
		return nil, nil, err
	}
	auth, err := access.NewAuth(access.Config{Store: ops, Sealer: sealer, Clock: clock, CSRFKey: v.DeriveKey(consoleCSRFKey)})
	return auth, ops, err
}

// console builds the console and starts the insider-threat detector that
// feeds its alerts page.
func (m *Main) console(ctx context.Context, signer audit.Signer, appendAudit func(context.Context, audit.Entry) error) (*web.Console, error) {
	auth, ops, err := operatorAuth(m.Vault, m.Data, m.Clock)
	if err != nil {
		return nil, err
	}
	detector := &audit.Detector{Store: store.NewAlerts(m.Data), Clock: m.Clock, Log: m.Log}
	if m.AlertWebhook != "" {
		detector.Webhook = &audit.Webhook{URL: m.AlertWebhook, Secret: []byte(os.Getenv("GARDE_ALERT_WEBHOOK_SECRET"))}
	}
	m.every(time.Minute, "insider-threat detector", func(ctx context.Context) (int, error) { return detector.Poll(ctx, m.auditStore) })
	m.every(time.Hour, "overdue requests", func(ctx context.Context) (int, error) {
		return overdueAlerts(ctx, m.Requests, detector, m.Clock.Now())
	})
	return &web.Console{Inventory: m.Inventory, Auth: auth, Operators: ops, Keys: store.NewAPIKeys(m.Data),
		Audit: m.auditStore, AuditSigner: signer, Alerts: web.DetectorAlerts(detector),
		AppendAudit: appendAudit, Clock: m.Clock, Log: m.Log, Secure: m.TLS}, nil
}

// noMail refuses to send: verification codes and guardian requests need a
// mail server.
type noMail struct{}

func (noMail) Notify(context.Context, consent.GuardianMail) error {
	return garde.Errorf(garde.EUnavailable, "no mail server is configured (garde serve --smtp-addr, or --mail-dir on a development machine)")
}

var overdueMu sync.Mutex

// overdueAlerts raises one alert per overdue data-subject request (not
// again while that alert is open), stored and sent like the insider-threat
// alerts.
func overdueAlerts(ctx context.Context, requests *rights.Service, d *audit.Detector, now time.Time) (int, error) {
	overdueMu.Lock() // the look-up and the creation below must not interleave
	defer overdueMu.Unlock()
	late, err := requests.Overdue(ctx, now)
	if err != nil || len(late) == 0 {
		return 0, err
	}
	open := true
	existing, err := d.Store.FindAlerts(ctx, audit.AlertFilter{Open: &open, Limit: 10_000})
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	for _, a := range existing {
		if a.Rule == "request_overdue" {
			seen[a.Message] = true
		}
	}
	var raise []audit.Alert
	for i := range late {
		r := &late[i]
		msg := fmt.Sprintf("request %s (%s, %s) was due on %s", r.ID, r.Type, r.Jurisdiction, r.Deadline().Format(time.DateOnly))
		if !seen[msg] {
			raise = append(raise, audit.Alert{Time: now, Actor: audit.ActorSystem, Rule: "request_overdue", Severity: audit.SeverityHigh, Message: msg})
		}
	}
	if len(raise) == 0 {
		return 0, nil
	}
	if err := d.Store.CreateAlerts(ctx, raise); err != nil {
		return 0, err
	}
	for _, a := range raise {
		if d.Webhook != nil {
			d.Webhook.Send(a)
		}
	}
	return len(raise), nil
}
