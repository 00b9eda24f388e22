package access

import (
	"context"
	"sync"
	"time"
)

// KeyCache remembers API keys found by hash for a short time, so that an
// API caller does not cost a database look-up per request. A key deleted
// or expired meanwhile keeps working for at most TTL: keep it short
// (seconds). Unknown keys are not cached (a flood of wrong keys still hits
// the store, and is rate limited elsewhere).
type KeyCache struct {
	KeyStore
	TTL time.Duration

	mu   sync.Mutex
	keys map[string]cachedKey
}

type cachedKey struct {
	k       APIKey
	fetched time.Time
}

// maxCachedKeys bounds the cache; past it, the cache starts afresh.
const maxCachedKeys = 10_000

// FindAPIKeyByHash answers from the cache while the entry is younger than
// TTL, else from the store.
func (c *KeyCache) FindAPIKeyByHash(ctx context.Context, hash []byte, now time.Time) (*APIKey, error) {
	c.mu.Lock()
	e, ok := c.keys[string(hash)]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < c.TTL && now.Sub(e.fetched) >= 0 {
		k := e.k
		return &k, nil
	}
	k, err := c.KeyStore.FindAPIKeyByHash(ctx, hash, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = map[string]cachedKey{}
	}
	c.keys[string(hash)] = cachedKey{*k, now}
	c.mu.Unlock()
	return k, nil
}

// TouchAPIKey records the use and refreshes the cached last-used time.
func (c *KeyCache) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	if err := c.KeyStore.TouchAPIKey(ctx, id, now); err != nil {
		return err
	}
	c.mu.Lock()
	for h, e := range c.keys {
		if e.k.ID == id {
			e.k.LastUsedAt = now
			c.keys[h] = e
		}
	}
	c.mu.Unlock()
	return nil
}
