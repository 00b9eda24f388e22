package main

import (
	"bytes"
	"context"
	"strconv"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/jobs"
	"github.com/garde-privacy/garde/privacy"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/rights/bundle"
	"github.com/garde-privacy/garde/rights/verify"
	"github.com/garde-privacy/garde/server"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// Labels of the keys the vault derives for people's requests.
const (
	requestOutcomesKey = "request outcomes"
	verificationKey    = "request verification codes"
	privacyCentreKey   = "privacy centre sessions"
)

// openRights wires data-subject requests: the service and its legal
// clocks, erasure serialised with collection, the copies and their
// one-time links, the durable jobs that answer verified requests, identity
// verification by code, the operator API and the privacy centre.
func (m *Main) openRights(ctx context.Context, srv *server.Server, certificates *vault.Signer, notifier consent.Notifier, notices *consent.Notices) error {
	inv := m.Inventory
	requests := store.NewRequests(m.Data)
	m.Eraser = &rights.Eraser{Data: store.NewErase(m.Data), Keys: m.Vault, KeyStore: store.NewKeys(m.Keys), Certs: certificates,
		Clock: m.Clock, Inventory: inv,
		OnErased: func(ctx context.Context, c *rights.Certificate) {
			if err := m.auditStore.Append(ctx, m.AuditLog, erasureEntry(c)); err != nil {
				m.Log.Error("could not audit an erasure", "certificate", c.ID, "err", err)
			}
		}}
	sealer, err := access.NewAESSealer(m.Vault.DeriveKey(requestOutcomesKey))
	if err != nil {
		return err
	}
	profiles := &profile.Reader{Store: store.NewProfiles(m.Data), Opener: m.Vault}
	builder := &bundle.Builder{Source: store.NewBundle(m.Data), Profiles: profiles, Inventory: inv, Clock: m.Clock}
	downloads := &bundle.Downloads{Store: store.NewDownloads(m.Data), Sealer: m.Vault, Clock: m.Clock}
	fulfil := &rights.Fulfiller{
		Service: m.Requests, Inventory: inv, Outcomes: requests,
		Seal:  func(b []byte) ([]byte, error) { return sealer.Seal(ctx, "request outcome", b) },
		Open:  func(b []byte) ([]byte, error) { return sealer.Open(ctx, "request outcome", b) },
		Erase: m.Erase,
		Export: func(ctx context.Context, r rights.Request, lang string) (string, time.Time, error) {
			var buf bytes.Buffer
			man, err := builder.Build(ctx, r.Subject, lang, &buf)
			if err != nil {
				return "", time.Time{}, err
			}
			token, exp, err := downloads.Put(ctx, r.ID, r.Subject, buf.Bytes())
			if err != nil {
				return "", time.Time{}, err
			}
			// the copy is a disclosure of everything held: audited
			return token, exp, m.auditStore.Append(ctx, m.AuditLog, audit.Entry{Actor: "request:" + r.ID, Action: audit.ActionExport,
				Subjects: append([]garde.SubjectID{man.Subject}, man.Members...), Outcome: audit.OutcomeOK,
				Detail: map[string]string{"request": r.ID, "type": string(r.Type), "events": strconv.Itoa(man.Counts.Events), "bytes": strconv.Itoa(buf.Len())}})
		},
		Decide: func(ctx context.Context, s garde.SubjectID, d map[string]string, request string) error {
			req := &consent.Request{IDs: []collect.Identity{consent.SubjectIdentity(s)}, Decisions: map[string]consent.Decision{},
				Source: consent.SourceForm, Collector: "request:" + request}
			for k, v := range d {
				req.Decisions[k] = consent.Decision(v)
			}
			if err := notices.Fill(ctx, &req.Notice); err != nil {
				return err
			}
			_, err := m.Ledger.Decide(ctx, req)
			return err
		},
	}
	m.fulfil = fulfil
	jobStore := store.NewJobs(m.Data)
	runner := &jobs.Runner{Store: jobStore, Clock: m.Clock, Log: m.Log, Handlers: map[string]jobs.Handler{
		rights.JobFulfil: func(ctx context.Context, j jobs.Job) error {
			var a rights.JobArgs
			if err := json.Unmarshal(j.Args, &a); err != nil {
				return jobs.Cancel(err)
			}
			err := fulfil.Run(ctx, a.Request, a.Actor)
			if c := garde.ErrorCode(err); c == garde.EForbidden || c == garde.EInvalid || c == garde.ENotFound {
				return jobs.Cancel(err) // retrying cannot help
			}
			return err
		},
	}}
	m.startJobs()
	m.jobs.Add(1)
	go func() {
		defer m.jobs.Done()
		if err := runner.Run(m.jobsCtx); err != nil && m.jobsCtx.Err() == nil {
			m.Log.Error("the job runner stopped", "err", err)
		}
	}()
	enqueue := func(ctx context.Context, a rights.JobArgs) error {
		args, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := jobStore.Enqueue(ctx, jobs.Job{Kind: rights.JobFulfil, Key: a.Request, Args: args, MaxAttempts: 10}); err != nil {
			return err
		}
		runner.Notify()
		return nil
	}
	srv.Requests, srv.Enqueue = m.Requests, enqueue
	// a request verified just before a crash may have no job yet: queue
	// every verified or running request again (a job's key is the request
	// id, so one already queued is not doubled, and the fulfiller leaves an
	// answered request alone)
	m.every(10*time.Minute, "requests without a job", func(ctx context.Context) (int, error) {
		open, err := m.Requests.List(ctx, rights.ListFilter{State: rights.StateVerified})
		if err != nil {
			return 0, err
		}
		for _, r := range open {
			if err := enqueue(ctx, rights.JobArgs{Request: r.ID, Actor: "system"}); err != nil {
				return 0, err
			}
		}
		return len(open), nil
	})
	m.every(time.Hour, "expired copies", func(ctx context.Context) (int, error) {
		return store.NewDownloads(m.Data).PurgeDownloads(ctx, m.Clock.Now())
	})
	m.every(24*time.Hour, "finished jobs", func(ctx context.Context) (int, error) {
		return jobStore.DeleteFinishedJobs(ctx, m.Clock.Now().AddDate(0, 0, -30))
	})
	codes := &verify.Codes{Store: store.NewVerifications(m.Data), Key: m.Vault.DeriveKey(verificationKey), Clock: m.Clock,
		Send: func(ctx context.Context, mail verify.Mail) error {
			return notifier.Notify(ctx, consent.GuardianMail{To: mail.To, Subject: mail.Subject, Text: mail.Text, Lang: mail.Lang})
		}}
	backend := &privacy.Service{
		Inventory: inv, Requests: m.Requests, Fulfil: fulfil, Codes: codes, Index: m.Vault,
		Subjects: store.NewProfiles(m.Data), Enqueue: enqueue, Ledger: m.Ledger, Consent: m.Consent, Notices: notices,
		Profiles: profiles, SetTrait: m.writer.SetTrait, Clock: m.Clock,
		Rectified: func(ctx context.Context, s garde.SubjectID, field, category string) error {
			// the old value's page may still sit in the write-ahead log
			if err := m.Data.Checkpoint(ctx); err != nil {
				return err
			}
			return m.auditStore.Append(ctx, m.AuditLog, audit.Entry{Actor: privacy.Actor, Action: "subject.rectify",
				Subjects: []garde.SubjectID{s}, Categories: []string{category}, Outcome: audit.OutcomeOK,
				Detail: map[string]string{"field": field}})
		},
		Download: downloads.Take,
	}
	if m.SiteKeys != nil {
		backend.Tokens = &verify.Tokens{Keys: *m.SiteKeys, Store: store.NewVerifications(m.Data), Clock: m.Clock}
	}
	srv.Rectify = backend.RectifySubject
	srv.Privacy = &privacy.Centre{Backend: backend, Inventory: inv, Key: m.Vault.DeriveKey(privacyCentreKey),
		Secure: m.TLS, Clock: m.Clock, Log: m.Log}
	return nil
}

// Erase erases a subject beside collection: the writer pauses between two
// group commits while the person's key, rows and write-ahead log go, and
// then forgets the person, so that no event resolved against its caches
// lands under the erased id.
func (m *Main) Erase(ctx context.Context, s garde.SubjectID, opts rights.EraseOptions) (*rights.Certificate, string, error) {
	var c *rights.Certificate
	var token string
	var err error
	werr := m.writer.Exclusive(ctx, func(ctx context.Context) ([]garde.SubjectID, error) {
		c, token, err = m.Eraser.Erase(ctx, s, opts)
		if c == nil {
			return nil, err
		}
		return c.Members, err
	})
	if c == nil && err == nil {
		err = werr
	}
	return c, token, err
}
