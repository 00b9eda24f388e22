package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

type countingKeys struct {
	access.KeyStore
	finds int
	keys  map[string]*access.APIKey
}

func (c *countingKeys) FindAPIKeyByHash(_ context.Context, hash []byte, _ time.Time) (*access.APIKey, error) {
	c.finds++
	if k, ok := c.keys[string(hash)]; ok {
		kk := *k
		return &kk, nil
	}
	return nil, garde.Errorf(garde.ENotFound, "no such key")
}

func (c *countingKeys) TouchAPIKey(context.Context, string, time.Time) error { return nil }

// TestKeyCache: a found key is served from memory for TTL, then looked up
// again (a deleted key stops working after at most TTL); unknown keys are
// never cached.
func TestKeyCache(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	store := &countingKeys{keys: map[string]*access.APIKey{"h1": {ID: "k1", Role: "support"}}}
	c := &access.KeyCache{KeyStore: store, TTL: 5 * time.Second}
	ctx := context.Background()
	for i := range 3 {
		if k, err := c.FindAPIKeyByHash(ctx, []byte("h1"), t0.Add(time.Duration(i)*time.Second)); err != nil || k.ID != "k1" {
			t.Fatalf("find: %v %v", k, err)
		}
	}
	if store.finds != 1 {
		t.Fatalf("%d store look-ups within the TTL, want 1", store.finds)
	}
	delete(store.keys, "h1")
	if _, err := c.FindAPIKeyByHash(ctx, []byte("h1"), t0.Add(6*time.Second)); garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("a deleted key still works after the TTL: %v", err)
	}
	for range 2 {
		c.FindAPIKeyByHash(ctx, []byte("nope"), t0)
	}
	if store.finds != 4 {
		t.Fatalf("unknown keys cached: %d look-ups", store.finds)
	}
}
