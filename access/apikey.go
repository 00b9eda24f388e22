package access

import (
	"context"
	"crypto/sha256"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// Roles.
const (
	RoleAdmin = "admin"
)

// APIKey is a machine's key as stored: never the secret itself.
type APIKey struct {
	ID   string
	Name string
	Role string
	// Purposes narrows the key to these purpose keys; empty: every purpose
	// of its role.
	Purposes   []string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: no expiry
	LastUsedAt time.Time // zero: never used; recorded at most once a minute
}

// AllowsPurpose reports whether the key may name purpose (its role must
// allow it too).
func (k *APIKey) AllowsPurpose(purpose string) bool {
	return len(k.Purposes) == 0 || slices.Contains(k.Purposes, purpose)
}

// KeyStore keeps API keys.
type KeyStore interface {
	CreateAPIKey(ctx context.Context, k *APIKey, hash []byte) error
	// FindAPIKeyByHash returns the key with that hash, or a garde.ENotFound
	// error.
	FindAPIKeyByHash(ctx context.Context, hash []byte, now time.Time) (*APIKey, error)
	// TouchAPIKey records that the key was used at now.
	TouchAPIKey(ctx context.Context, id string, now time.Time) error
}

// KeyAdmin is the key store as the key management pages need it.
type KeyAdmin interface {
	KeyStore
	// FindAPIKeys lists every key, newest first.
	FindAPIKeys(ctx context.Context) ([]*APIKey, error)
	// DeleteAPIKey revokes a key, or returns a garde.ENotFound error.
	DeleteAPIKey(ctx context.Context, id string) error
}

// keyTouchEvery is the least interval between two recorded uses of a key.
const keyTouchEvery = time.Minute

const keyPrefix = "garde_"

// NewAPIKey creates a key for role, stores its hash and returns the secret,
// which is shown once and never again.
func NewAPIKey(ctx context.Context, ks KeyStore, name, role string, now time.Time) (string, *APIKey, error) {
	return IssueAPIKey(ctx, ks, APIKey{Name: name, Role: role}, now)
}

// IssueAPIKey creates a key with spec's name, role, purposes and expiry,
// stores its hash and returns the secret, which is shown once and never
// again.
func IssueAPIKey(ctx context.Context, ks KeyStore, spec APIKey, now time.Time) (string, *APIKey, error) {
	if strings.TrimSpace(spec.Name) == "" || strings.TrimSpace(spec.Role) == "" {
		return "", nil, garde.Errorf(garde.EInvalid, "an API key needs a name and a role")
	}
	if !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(now) {
		return "", nil, garde.Errorf(garde.EInvalid, "an API key must expire in the future")
	}
	for _, p := range spec.Purposes {
		if p == "" || strings.ContainsAny(p, ", \t\n") {
			return "", nil, garde.Errorf(garde.EInvalid, "purpose keys must be non-empty words")
		}
	}
	k := &APIKey{
		ID: garde.RandomID()[:12], Name: spec.Name, Role: spec.Role,
		Purposes: slices.Clone(spec.Purposes), CreatedAt: now, ExpiresAt: spec.ExpiresAt,
	}
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
	if now.Sub(k.LastUsedAt) >= keyTouchEvery {
		if err := ks.TouchAPIKey(ctx, k.ID, now); err != nil {
			return nil, err
		}
		k.LastUsedAt = now
	}
	return k, nil
}
