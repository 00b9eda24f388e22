package verify

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"

	"github.com/garde-privacy/garde"
)

// ParseSiteKeys reads a brand's site keys as an operator configures them
// (garde serve: GARDE_SITE_ISSUER and GARDE_SITE_KEYS): spec is a
// comma-separated list of kid:alg:key, where alg is ed25519 (key: the
// 32-byte public key, standard or URL-safe base64) or hs256 (key: the
// shared secret, at least MinHMACKey bytes, base64). The result is
// validated. Errors never echo a key.
func ParseSiteKeys(issuer, spec string) (SiteKeys, error) {
	k := SiteKeys{Issuer: issuer, Ed25519: map[string]ed25519.PublicKey{}, HMAC: map[string][]byte{}}
	if len(spec) > 16<<10 {
		return SiteKeys{}, garde.Errorf(garde.EInvalid, "site keys: too long")
	}
	for i, item := range strings.Split(spec, ",") {
		parts := strings.Split(strings.TrimSpace(item), ":")
		if len(parts) != 3 || parts[0] == "" {
			return SiteKeys{}, garde.Errorf(garde.EInvalid, "site key %d: want kid:ed25519:BASE64 or kid:hs256:BASE64", i+1)
		}
		kid, alg := parts[0], strings.ToLower(parts[1])
		raw, err := decodeKey(parts[2])
		if err != nil {
			return SiteKeys{}, garde.Errorf(garde.EInvalid, "site key %d: the key is not base64", i+1)
		}
		if _, dup := k.Ed25519[kid]; dup {
			return SiteKeys{}, garde.Errorf(garde.EInvalid, "site key %d: key id used twice", i+1)
		}
		if _, dup := k.HMAC[kid]; dup {
			return SiteKeys{}, garde.Errorf(garde.EInvalid, "site key %d: key id used twice", i+1)
		}
		switch alg {
		case "ed25519":
			if len(raw) != ed25519.PublicKeySize {
				return SiteKeys{}, garde.Errorf(garde.EInvalid, "site key %d: an Ed25519 public key is 32 bytes", i+1)
			}
			k.Ed25519[kid] = ed25519.PublicKey(raw)
		case "hs256":
			k.HMAC[kid] = raw
		default:
			return SiteKeys{}, garde.Errorf(garde.EInvalid, "site key %d: algorithm must be ed25519 or hs256", i+1)
		}
	}
	if err := k.Validate(); err != nil {
		return SiteKeys{}, err
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// VerifiedUser verifies token (Verify) and returns the brand's userId of
// the person it vouches for: what the privacy centre looks the person up
// by.
func (t *Tokens) VerifiedUser(ctx context.Context, token string) (string, error) {
	c, err := t.Verify(ctx, token)
	if err != nil {
		return "", err
	}
	return c.Subject, nil
}
