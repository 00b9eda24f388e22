package access_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/gardetest"
)

// memStore is an in-memory access.OperatorStore; store/operators_test.go
// holds the SQL store to the same contract.
type memStore struct {
	mu        sync.Mutex
	ops       map[string]access.Operator
	sessions  map[string]access.Session
	trainings []access.Training
	touches   int
}

func newMemStore() *memStore {
	return &memStore{ops: map[string]access.Operator{}, sessions: map[string]access.Session{}}
}

func clone(o access.Operator) *access.Operator {
	o.TOTPSealed = bytes.Clone(o.TOTPSealed)
	o.RecoveryCodes = slices.Clone(o.RecoveryCodes)
	return &o
}

func (m *memStore) CreateOperator(_ context.Context, o *access.Operator) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.ops {
		if x.Email == o.Email {
			return garde.Errorf(garde.EConflict, "email taken")
		}
	}
	m.ops[o.ID] = *clone(*o)
	return nil
}

func (m *memStore) FindOperatorByID(_ context.Context, id string) (*access.Operator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.ops[id]
	if !ok {
		return nil, garde.Errorf(garde.ENotFound, "no such operator")
	}
	return clone(o), nil
}

func (m *memStore) FindOperatorByEmail(_ context.Context, email string) (*access.Operator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.ops {
		if o.Email == email {
			return clone(o), nil
		}
	}
	return nil, garde.Errorf(garde.ENotFound, "no such operator")
}

func (m *memStore) FindOperators(context.Context) ([]*access.Operator, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ops []*access.Operator
	for _, o := range m.ops {
		ops = append(ops, clone(o))
	}
	return ops, nil
}

func (m *memStore) CountOperators(_ context.Context, role string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, o := range m.ops {
		if o.Role == role {
			n++
		}
	}
	return n, nil
}

func (m *memStore) UpdateOperator(_ context.Context, o *access.Operator) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.ops[o.ID]
	if !ok {
		return garde.Errorf(garde.ENotFound, "no such operator")
	}
	n := *clone(*o)
	n.Created = old.Created
	m.ops[o.ID] = n
	return nil
}

func (m *memStore) CreateSession(_ context.Context, s *access.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *s
	c.Token = ""
	m.sessions[s.ID] = c
	return nil
}

func (m *memStore) FindSession(_ context.Context, hash []byte) (*access.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if bytes.Equal(s.TokenHash, hash) {
			return &s, nil
		}
	}
	return nil, garde.Errorf(garde.ENotFound, "no such session")
}

func (m *memStore) TouchSession(_ context.Context, id string, seen time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[id]; ok {
		s.LastSeen = seen
		m.sessions[id] = s
		m.touches++
	}
	return nil
}

func (m *memStore) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

func (m *memStore) DeleteOperatorSessions(_ context.Context, operatorID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, s := range m.sessions {
		if s.OperatorID == operatorID {
			delete(m.sessions, id)
		}
	}
	return nil
}

func (m *memStore) DeleteStaleSessions(_ context.Context, now, idleBefore time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, s := range m.sessions {
		if !s.Expires.After(now) || !s.LastSeen.After(idleBefore) {
			delete(m.sessions, id)
			n++
		}
	}
	return n, nil
}

func (m *memStore) CreateTraining(_ context.Context, t access.Training) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.trainings = append(m.trainings, t)
	return nil
}

func (m *memStore) FindTrainings(_ context.Context, operatorID string) ([]access.Training, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ts []access.Training
	for _, t := range m.trainings {
		if t.OperatorID == operatorID {
			ts = append(ts, t)
		}
	}
	return ts, nil
}

// start is a time well inside a TOTP step.
var start = time.Date(2026, 3, 2, 9, 0, 5, 0, time.UTC)

type fixture struct {
	auth  *access.Auth
	store *memStore
	clock *gardetest.Clock
}

func newFixture(t *testing.T, edit ...func(*access.Config)) *fixture {
	t.Helper()
	sealer, err := access.NewAESSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: newMemStore(), clock: gardetest.NewClock(start)}
	cfg := access.Config{Store: f.store, Sealer: sealer, Clock: f.clock, Argon2: cheap}
	for _, e := range edit {
		e(&cfg)
	}
	if f.auth, err = access.NewAuth(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// admin bootstraps an administrator and returns its credentials.
type creds struct {
	email, password, secret string
	recovery                []string
}

func (f *fixture) admin(t *testing.T) creds {
	t.Helper()
	c := creds{email: "root@example.com"}
	pw, url, rec, err := f.auth.CreateFirstAdmin(context.Background(), c.email)
	if err != nil {
		t.Fatal(err)
	}
	c.password, c.recovery, c.secret = pw, rec, secretOf(t, url)
	return c
}

func (f *fixture) code(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	c, err := access.TOTPCode(secret, f.clock.Now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
