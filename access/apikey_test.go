package access_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

type memKeys struct {
	mu      sync.Mutex
	keys    map[string]access.APIKey
	hashes  map[string][]byte
	touches int
}

func (m *memKeys) CreateAPIKey(_ context.Context, k *access.APIKey, hash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID], m.hashes[k.ID] = *k, hash
	return nil
}

func (m *memKeys) FindAPIKeyByHash(_ context.Context, hash []byte, _ time.Time) (*access.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, h := range m.hashes {
		if bytes.Equal(h, hash) {
			k := m.keys[id]
			return &k, nil
		}
	}
	return nil, garde.Errorf(garde.ENotFound, "no such key")
}

func (m *memKeys) TouchAPIKey(_ context.Context, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keys[id]
	k.LastUsedAt = now
	m.keys[id] = k
	m.touches++
	return nil
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	ks := &memKeys{keys: map[string]access.APIKey{}, hashes: map[string][]byte{}}
	now := start
	expires := now.Add(24 * time.Hour)
	secret, k, err := access.IssueAPIKey(ctx, ks, access.APIKey{Name: "crm sync", Role: "marketer", Purposes: []string{"email_marketing"}, ExpiresAt: expires}, now)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ks.hashes[k.ID], []byte(secret)) || !strings.HasPrefix(secret, "garde_") {
		t.Errorf("secret %q badly formed or stored in clear", secret[:8])
	}
	if !k.AllowsPurpose("email_marketing") || k.AllowsPurpose("analytics") {
		t.Errorf("purposes %v not enforced", k.Purposes)
	}
	auth := func(at time.Time) (*access.APIKey, error) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		return access.Authenticate(ctx, ks, r, at)
	}
	got, err := auth(now)
	if err != nil || got.ID != k.ID || !slices.Equal(got.Purposes, k.Purposes) {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	for i := range 5 {
		auth(now.Add(time.Duration(i) * 10 * time.Second))
	}
	if ks.touches != 1 {
		t.Errorf("%d last-used writes within a minute, want 1", ks.touches)
	}
	auth(now.Add(time.Minute))
	if ks.touches != 2 || !ks.keys[k.ID].LastUsedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("after a minute: %d writes, last used %v", ks.touches, ks.keys[k.ID].LastUsedAt)
	}
	if _, err := auth(expires.Add(time.Second)); garde.ErrorCode(err) != garde.EUnauthorized {
		t.Errorf("expired key: got %v", err)
	}
	for _, spec := range []access.APIKey{
		{Role: "admin"},
		{Name: "x"},
		{Name: "x", Role: "admin", ExpiresAt: now.Add(-time.Second)},
		{Name: "x", Role: "admin", Purposes: []string{"a,b"}},
	} {
		if _, _, err := access.IssueAPIKey(ctx, ks, spec, now); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("IssueAPIKey(%+v) = %v, want %s", spec, err, garde.EInvalid)
		}
	}
}
