package verify

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"

	"github.com/garde-privacy/garde"
)

// SignSiteToken is what a brand's site does to vouch for a signed-in
// customer (see the package doc): it signs claims with key under key id kid
// and returns the compact token. key is an ed25519.PrivateKey (alg EdDSA) or
// an HMAC secret of at least 32 bytes as a []byte (alg HS256). An empty
// Audience is written as Audience; dates are written in whole seconds, and
// an empty Email or zero NotBefore is left out. It checks nothing else, so
// that tests can mint bad tokens: it is the reference for a brand's
// developer, and a helper for tests and the demo, not something Garde's
// server ever calls.
func SignSiteToken(claims SiteClaims, kid string, key any) (string, error) {
	var alg string
	switch k := key.(type) {
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return "", garde.Errorf(garde.EInvalid, "site token: not an Ed25519 private key")
		}
		alg = AlgEdDSA
	case []byte:
		if len(k) < MinHMACKey {
			return "", garde.Errorf(garde.EInvalid, "site token: HMAC secret shorter than %d bytes", MinHMACKey)
		}
		alg = AlgHS256
	default:
		return "", garde.Errorf(garde.EInvalid, "site token: the key must be an ed25519.PrivateKey or a []byte secret")
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}{alg, "JWT", kid})
	if err != nil {
		return "", garde.Wrap(garde.EInternal, err, "site token: cannot encode the header")
	}
	if claims.Audience == "" {
		claims.Audience = Audience
	}
	var nbf *int64
	if !claims.NotBefore.IsZero() {
		v := claims.NotBefore.Unix()
		nbf = &v
	}
	body, err := json.Marshal(struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Sub   string `json:"sub"`
		Email string `json:"email,omitempty"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
		Nbf   *int64 `json:"nbf,omitempty"`
		Jti   string `json:"jti"`
	}{claims.Issuer, claims.Audience, claims.Subject, claims.Email, claims.IssuedAt.Unix(), claims.Expires.Unix(), nbf,
		claims.ID})
	if err != nil {
		return "", garde.Wrap(garde.EInternal, err, "site token: cannot encode the claims")
	}
	in := b64.EncodeToString(header) + "." + b64.EncodeToString(body)
	var sig []byte
	switch k := key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(in))
	case []byte:
		m := hmac.New(sha256.New, k)
		m.Write([]byte(in))
		sig = m.Sum(nil)
	}
	return in + "." + b64.EncodeToString(sig), nil
}
