package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// edSigner is a small Ed25519 audit.Signer, as vault.Signer is.
type edSigner struct {
	kid  string
	priv ed25519.PrivateKey
}

func newSigner(kid string) *edSigner {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, kid)
	return &edSigner{kid: kid, priv: ed25519.NewKeyFromSeed(seed)}
}

func (s *edSigner) Sign(msg []byte) (string, []byte, error) {
	return s.kid, ed25519.Sign(s.priv, msg), nil
}

func (s *edSigner) Verify(kid string, msg, sig []byte) error {
	if kid != s.kid {
		return errors.New("unknown key")
	}
	if !ed25519.Verify(s.priv.Public().(ed25519.PublicKey), msg, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// memLog is an in-memory audit store: audit.Tx and audit.Reader.
type memLog struct {
	mu      sync.Mutex
	entries []audit.Entry
	cps     []audit.Checkpoint
}

func (m *memLog) LastAudit(context.Context) (int64, []byte, error) {
	if len(m.entries) == 0 {
		return 0, nil, nil
	}
	e := m.entries[len(m.entries)-1]
	return e.Seq, e.Hash, nil
}

func (m *memLog) CreateAudit(_ context.Context, es []audit.Entry, _ [][]byte) error {
	for _, e := range es {
		e.Subjects = slices.Clone(e.Subjects)
		e.Categories = slices.Clone(e.Categories)
		m.entries = append(m.entries, e)
	}
	return nil
}

func (m *memLog) CreateCheckpoint(_ context.Context, cp audit.Checkpoint) error {
	m.cps = append(m.cps, cp)
	return nil
}

func (m *memLog) LastCheckpoint(context.Context) (audit.Checkpoint, bool, error) {
	if len(m.cps) == 0 {
		return audit.Checkpoint{}, false, nil
	}
	return m.cps[len(m.cps)-1], true, nil
}

func (m *memLog) FindAudit(_ context.Context, f audit.Filter, fn func(*audit.Entry) error) error {
	n := 0
	for i := range m.entries {
		e := m.entries[i]
		if e.Seq <= f.After || !f.Since.IsZero() && e.Time.Before(f.Since) || !f.Until.IsZero() && !e.Time.Before(f.Until) ||
			f.Actor != "" && e.Actor != f.Actor || f.Action != "" && e.Action != f.Action ||
			f.Purpose != "" && e.Purpose != f.Purpose || f.Subject != "" && !slices.Contains(e.Subjects, f.Subject) {
			continue
		}
		if f.Limit > 0 && n == f.Limit {
			break
		}
		n++
		if err := fn(&e); err != nil {
			return err
		}
	}
	return nil
}

func (m *memLog) FindCheckpoints(context.Context) ([]audit.Checkpoint, error) {
	return slices.Clone(m.cps), nil
}

// stepClock advances by step on every reading.
type stepClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)

func subjectIDs(n int) []garde.SubjectID {
	ids := make([]garde.SubjectID, n)
	for i := range ids {
		ids[i] = garde.NewSubjectID()
	}
	return ids
}

// sample returns a varied entry i, as an act would describe it.
func sample(i int) audit.Entry {
	e := audit.Entry{
		Actor: "op_" + string(rune('a'+i%26)), Role: "marketer", Action: audit.ActionSubjectRead,
		Purpose: "email_marketing", Subjects: subjectIDs(i % 4), Categories: []string{"user.contact.email", "user.behavior"},
		RequestID: "req-42", Source: "203.0.113.9:4431", Outcome: audit.OutcomeOK,
	}
	switch i % 5 {
	case 1:
		e.Action, e.Actor, e.Source, e.Purpose = audit.ActionEventsWrite, "source:web", "", ""
	case 2:
		e.Action, e.Detail = audit.ActionRoleUpdate, map[string]string{"operator": "op_z", "role": "analyst"}
	case 3:
		e.Outcome, e.Detail = audit.OutcomeRefused, map[string]string{"rule": "no consent for purpose"}
	case 4:
		e.Subjects = subjectIDs(audit.MaxListed + 1)
	}
	return e
}

// build appends n sample entries, k per transaction, with a checkpoint every
// `every` entries.
func build(n, k, every int) (*memLog, *audit.Log) {
	m := &memLog{}
	l := &audit.Log{Signer: newSigner("k1"), Clock: &stepClock{now: t0, step: time.Second}, CheckpointEvery: every}
	for i := 0; i < n; i += k {
		var es []audit.Entry
		for j := i; j < min(n, i+k); j++ {
			es = append(es, sample(j))
		}
		if err := l.Append(context.Background(), m, es...); err != nil {
			panic(err)
		}
	}
	return m, l
}
