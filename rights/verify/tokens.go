package verify

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/garde-privacy/garde"
)

// SiteKeys are the keys one brand's site signs its tokens with, by key id.
// A key id names one key: it must not appear in both maps.
type SiteKeys struct {
	// Issuer is the iss the brand's tokens carry.
	Issuer string
	// Ed25519 holds the public keys of EdDSA tokens.
	Ed25519 map[string]ed25519.PublicKey
	// HMAC holds the shared secrets of HS256 tokens, at least 32 bytes each.
	HMAC map[string][]byte
}

// MinHMACKey is the shortest HS256 secret SiteKeys accepts, in bytes.
const MinHMACKey = 32

// Validate checks the configuration: an issuer, at least one key, keys of
// the right sizes, no key id in both maps. The messages name key ids, never
// keys.
func (k SiteKeys) Validate() error {
	if k.Issuer == "" || len(k.Issuer) > 256 || hasControl(k.Issuer) {
		return garde.Errorf(garde.EInvalid, "site keys: an issuer of 1 to 256 characters is required")
	}
	if len(k.Ed25519)+len(k.HMAC) == 0 {
		return garde.Errorf(garde.EInvalid, "site keys: no key")
	}
	for kid, pub := range k.Ed25519 {
		if err := validKid(kid); err != nil {
			return err
		}
		if len(pub) != ed25519.PublicKeySize {
			return garde.Errorf(garde.EInvalid, "site keys: key %q is not an Ed25519 public key", kid)
		}
		if _, both := k.HMAC[kid]; both {
			return garde.Errorf(garde.EInvalid, "site keys: key id %q names an Ed25519 key and an HMAC secret", kid)
		}
	}
	for kid, secret := range k.HMAC {
		if err := validKid(kid); err != nil {
			return err
		}
		if len(secret) < MinHMACKey {
			return garde.Errorf(garde.EInvalid, "site keys: HMAC secret %q is shorter than %d bytes", kid, MinHMACKey)
		}
	}
	return nil
}

func validKid(kid string) error {
	if kid == "" || len(kid) > 128 || !printableASCII(kid) {
		return garde.Errorf(garde.EInvalid, "site keys: a key id must be 1 to 128 printable ASCII characters")
	}
	return nil
}

// TokenStore remembers the site tokens already used (store.Verifications).
// RememberToken records the token whose id (a hash of iss and jti) is id,
// until expires; it answers EConflict, recording nothing, if that id is
// already remembered and has not expired at now. It may forget ids that
// expired before now.
type TokenStore interface {
	RememberToken(ctx context.Context, id []byte, expires, now time.Time) error
}

// Tokens verifies the tokens one brand's site signs. Its fields are
// read-only once in use; it is safe for concurrent use.
type Tokens struct {
	Keys  SiteKeys
	Store TokenStore  // replay: remembers each jti until its token expires
	Clock garde.Clock // garde.SystemClock when nil
	// Skew is the allowance for the clocks of the brand's site and Garde
	// (DefaultSkew when zero).
	Skew time.Duration
}

// DefaultSkew is Tokens' default clock-skew allowance.
const DefaultSkew = time.Minute

// Verify checks a site token and returns its claims: the signature
// (ed25519.Verify, or hmac.Equal over HMAC-SHA-256) under the key its kid
// names, which must be of its alg's kind; iss and aud; iat and nbf not in
// the future and exp not past, each within Skew; exp after iat by at most
// MaxTokenLifetime. Then it records the jti: a token works once, and a
// replay is EInvalid. Every refusal is an EInvalid whose message quotes
// nothing from the token; a store failure is EUnavailable.
func (t *Tokens) Verify(ctx context.Context, token string) (SiteClaims, error) {
	if t.Store == nil || t.Keys.Issuer == "" {
		return SiteClaims{}, garde.Errorf(garde.EInternal, "site tokens are not configured")
	}
	p, err := parseSiteToken(token)
	if err != nil {
		return SiteClaims{}, err
	}
	if err := t.checkSignature(p); err != nil {
		return SiteClaims{}, err
	}
	c := p.claims
	now := garde.SystemClock{}.Now()
	if t.Clock != nil {
		now = t.Clock.Now()
	}
	skew := t.Skew
	if skew <= 0 {
		skew = DefaultSkew
	}
	switch {
	case c.Issuer != t.Keys.Issuer:
		return SiteClaims{}, invalid("unexpected issuer")
	case c.Audience != Audience:
		return SiteClaims{}, invalid("unexpected audience")
	case !c.Expires.After(c.IssuedAt):
		return SiteClaims{}, invalid("exp must be after iat")
	case c.Expires.Sub(c.IssuedAt) > MaxTokenLifetime:
		return SiteClaims{}, invalid("lifetime (exp - iat) longer than 10 minutes")
	case c.IssuedAt.After(now.Add(skew)):
		return SiteClaims{}, invalid("issued in the future")
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(skew)):
		return SiteClaims{}, invalid("not valid yet")
	case !now.Before(c.Expires.Add(skew)):
		return SiteClaims{}, invalid("expired")
	}
	if err := t.Store.RememberToken(ctx, tokenID(c.Issuer, c.ID), c.Expires.Add(skew), now); err != nil {
		if garde.ErrorCode(err) == garde.EConflict {
			return SiteClaims{}, invalid("already used")
		}
		return SiteClaims{}, storeError(err)
	}
	return c, nil
}

// checkSignature verifies p's signature under the key its kid names, which
// must be of its alg's kind: an HS256 token is never checked against an
// Ed25519 public key, nor the reverse.
func (t *Tokens) checkSignature(p parsed) error {
	kid := p.header.Kid
	switch p.header.Alg {
	case AlgEdDSA:
		pub, ok := t.Keys.Ed25519[kid]
		if !ok {
			return t.unknownKey(kid)
		}
		if len(pub) != ed25519.PublicKeySize {
			return garde.Errorf(garde.EInternal, "site token: the configured key is not an Ed25519 public key")
		}
		if !ed25519.Verify(pub, []byte(p.signed), p.sig) {
			return invalid("signature does not verify")
		}
	case AlgHS256:
		secret, ok := t.Keys.HMAC[kid]
		if !ok {
			return t.unknownKey(kid)
		}
		if len(secret) < MinHMACKey {
			return garde.Errorf(garde.EInternal, "site token: the configured HMAC secret is too short")
		}
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(p.signed))
		if !hmac.Equal(m.Sum(nil), p.sig) {
			return invalid("signature does not verify")
		}
	default: // the parser lets no other alg through
		return invalid("alg not allowed: want EdDSA or HS256")
	}
	return nil
}

// unknownKey tells a kid of the other kind (alg confusion) from an
// unknown one.
func (t *Tokens) unknownKey(kid string) error {
	_, ed := t.Keys.Ed25519[kid]
	_, hm := t.Keys.HMAC[kid]
	if ed || hm {
		return invalid("alg does not match the key's kind")
	}
	return invalid("unknown key id")
}

// tokenID is what the replay store keeps of a token: a hash of its issuer
// and jti.
func tokenID(issuer, jti string) []byte {
	h := sha256.New()
	h.Write([]byte("garde/verify/jti\x00"))
	h.Write([]byte(issuer))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	return h.Sum(nil)
}
