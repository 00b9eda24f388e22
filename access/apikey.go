// Package access decides who may read what. For now it holds operator API
// keys: random secrets shown once, stored only as a hash, each bound to a
// role; roles, purposes, sessions and training come with the access issue.
package access

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// Roles.
const (
	RoleAdmin = "admin"
)

// APIKey is an operator key as stored: never the secret itself.
type APIKey struct {
	ID        string
	Name      string
	Role      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: no expiry
}

// KeyStore keeps API keys.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k *APIKey, hash []byte) error
	// FindAPIKeyByHash returns the key with that hash and records its use,
	// or a garde.ENotFound error.
	FindAPIKeyByHash(ctx context.Context, hash []byte, now time.Time) (*APIKey, error)
}

const keyPrefix = "garde_"

// NewAPIKey creates a key for role, stores its hash and returns the secret,
// which is shown once and never again.
func NewAPIKey(ctx context.Context, ks KeyStore, name, role string, now time.Time) (string, *APIKey, error) {
	k := &APIKey{ID: garde.RandomID()[:12], Name: name, Role: role, CreatedAt: now}
	secret := keyPrefix + k.ID + "_" + garde.RandomID() + garde.RandomID()[:12]
	if err := ks.CreateAPIKey(ctx, k, HashAPIKey(secret)); err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

// HashAPIKey is how a key is stored and looked up. The secret has 190 bits
// of entropy, so a plain SHA-256 cannot be brute-forced; no slow hash needed.
func HashAPIKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Authenticate returns the API key of a request's bearer token.
func Authenticate(ctx context.Context, ks KeyStore, r *http.Request, now time.Time) (*APIKey, error) {
	auth := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || !strings.HasPrefix(secret, keyPrefix) {
		return nil, garde.Errorf(garde.EUnauthorized, "an API key is required (Authorization: Bearer …)")
	}
	k, err := ks.FindAPIKeyByHash(ctx, HashAPIKey(strings.TrimSpace(secret)), now)
	if garde.ErrorCode(err) == garde.ENotFound {
		return nil, garde.Errorf(garde.EUnauthorized, "unknown API key")
	}
	if err != nil {
		return nil, err
	}
	if !k.ExpiresAt.IsZero() && now.After(k.ExpiresAt) {
		return nil, garde.Errorf(garde.EUnauthorized, "API key has expired")
	}
	return k, nil
}
