// Package jws signs and verifies compact JSON Web Signatures (RFC 7515) with
// Ed25519 (RFC 8037, alg "EdDSA"), and publishes and reads their keys as a JWK
// Set (RFC 7517). Garde uses it for what people and auditors keep and check
// offline: consent receipts, erasure certificates, guardian links and audit
// checkpoints, verified against /.well-known/jwks.json.
//
// Verify is strict on purpose: it accepts only what Sign produces — three
// unpadded base64url parts, a header that is a JSON object with alg "EdDSA",
// a known kid and nothing but alg, kid, typ and cty, a 64-byte signature — so
// that no token means one thing to Garde and another to someone else. Every
// failure is a *garde.Error with code EInvalid and a fixed, safe message
// ("jws: unknown key id", "jws: signature does not verify" …) that never
// quotes the token.
//
// The package holds no private key: Sign asks a Signer (vault.Signer) to
// sign, and keys never leave the vault.
package jws

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/garde-privacy/garde"
)

// Alg is the only algorithm this package signs with and accepts.
const Alg = "EdDSA"

// MaxTokenSize bounds the length of a token Verify reads, in bytes.
const MaxTokenSize = 64 << 10

// Header is a token's protected header. Sign writes alg, kid and typ (and cty
// when set), in that order; Verify returns what it read.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
	Cty string `json:"cty,omitempty"`
}

// Signer signs with one Ed25519 key at a time; *vault.Signer is one. KeyID is
// the id of the key the next Sign will most likely use; Sign returns the id
// of the key it did use (they differ only across a concurrent rotation).
type Signer interface {
	KeyID() string
	Sign(msg []byte) (kid string, sig []byte, err error)
}

// KeyFinder finds a public key by key id: a JWKS, or a *vault.Signer through
// KeyFunc(signer.PublicKey).
type KeyFinder interface {
	Find(kid string) (ed25519.PublicKey, bool)
}

// KeyFunc adapts a function to KeyFinder.
type KeyFunc func(kid string) (ed25519.PublicKey, bool)

// Find calls f.
func (f KeyFunc) Find(kid string) (ed25519.PublicKey, bool) { return f(kid) }

var b64 = base64.RawURLEncoding

// Sign returns the compact serialisation of payload signed by s:
// base64url(header) "." base64url(payload) "." base64url(signature), with
// the header {"alg":"EdDSA","kid":…,"typ":typ} (typ omitted when empty). The
// payload must not be empty. Callers choose a typ per kind of document (e.g.
// "garde-receipt+jwt") and check it when verifying (VerifyType), so that a
// document of one kind cannot be passed off as another.
func Sign(s Signer, typ string, payload []byte) (string, error) {
	if len(payload) == 0 {
		return "", errInvalid("jws: empty payload")
	}
	for range 3 {
		kid := s.KeyID()
		hb, err := json.Marshal(Header{Alg: Alg, Kid: kid, Typ: typ})
		if err != nil {
			return "", garde.Wrap(garde.EInternal, err, "jws: cannot encode the header")
		}
		n := b64.EncodedLen(len(hb)) + 1 + b64.EncodedLen(len(payload))
		buf := make([]byte, 0, n+1+b64.EncodedLen(ed25519.SignatureSize))
		buf = b64.AppendEncode(buf, hb)
		buf = append(buf, '.')
		buf = b64.AppendEncode(buf, payload)
		used, sig, err := s.Sign(buf)
		if err != nil {
			return "", garde.Wrap(garde.EInternal, err, "jws: cannot sign")
		}
		if used != kid {
			continue // rotated between KeyID and Sign: sign again under the new kid
		}
		buf = append(buf, '.')
		buf = b64.AppendEncode(buf, sig)
		return string(buf), nil
	}
	return "", garde.Errorf(garde.EUnavailable, "jws: the signing key keeps changing; retry")
}

// Verify checks token against keys and returns its payload and header. It
// accepts only a token such as Sign makes (see the package doc): at most
// MaxTokenSize bytes; three parts of unpadded base64url (URL alphabet, no
// white space); a header that is one JSON object without duplicate names,
// whose alg is "EdDSA", whose kid is known to keys, that holds no crit, b64,
// embedded key or other parameter; a non-empty payload; a 64-byte signature
// that verifies over the first two parts. Every failure is a *garde.Error
// with code EInvalid. The caller must still check h.Typ (or use VerifyType).
func Verify(token string, keys KeyFinder) (payload []byte, h Header, err error) {
	if len(token) > MaxTokenSize {
		return nil, Header{}, errInvalid("jws: token larger than 64 KiB")
	}
	i, j := strings.IndexByte(token, '.'), strings.LastIndexByte(token, '.')
	if i < 0 || i == j || strings.IndexByte(token[i+1:j], '.') >= 0 {
		return nil, Header{}, errInvalid("jws: not a compact JWS (want three parts)")
	}
	h64, p64, s64 := token[:i], token[i+1:j], token[j+1:]
	if p64 == "" {
		return nil, Header{}, errInvalid("jws: empty payload (detached content is not supported)")
	}
	hb, ok := garde.DecodeBase64URL(h64)
	if !ok {
		return nil, Header{}, errInvalid("jws: header is not base64url")
	}
	if h, err = parseHeader(hb); err != nil {
		return nil, Header{}, err
	}
	if keys == nil {
		return nil, Header{}, errInvalid("jws: unknown key id")
	}
	pub, ok := keys.Find(h.Kid)
	if !ok {
		return nil, Header{}, errInvalid("jws: unknown key id")
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, Header{}, errInvalid("jws: key is not an Ed25519 public key")
	}
	sig, ok := garde.DecodeBase64URL(s64)
	if !ok {
		return nil, Header{}, errInvalid("jws: signature is not base64url")
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, Header{}, errInvalid("jws: signature must be 64 bytes")
	}
	if payload, ok = garde.DecodeBase64URL(p64); !ok {
		return nil, Header{}, errInvalid("jws: payload is not base64url")
	}
	if !ed25519.Verify(pub, []byte(token[:j]), sig) {
		return nil, Header{}, errInvalid("jws: signature does not verify")
	}
	return payload, h, nil
}

// VerifyType is Verify, and also requires the header's typ to be typ.
func VerifyType(token, typ string, keys KeyFinder) ([]byte, Header, error) {
	payload, h, err := Verify(token, keys)
	if err != nil {
		return nil, Header{}, err
	}
	if h.Typ != typ {
		return nil, Header{}, errInvalid("jws: unexpected typ")
	}
	return payload, h, nil
}

// parseHeader reads a protected header strictly (see Verify).
func parseHeader(b []byte) (Header, error) {
	m, err := ReadObject(b)
	if errors.Is(err, ErrDuplicateMember) {
		return Header{}, errInvalid("jws: duplicate header parameter")
	}
	if err != nil {
		return Header{}, errInvalid("jws: header is not a JSON object")
	}
	if raw, ok := m["b64"]; ok && string(raw) != "true" {
		return Header{}, errInvalid("jws: b64=false (unencoded payload) not supported")
	}
	if _, ok := m["crit"]; ok {
		return Header{}, errInvalid("jws: crit header not supported")
	}
	var h Header
	for _, name := range slices.Sorted(maps.Keys(m)) { // sorted: the same token, the same error
		raw := m[name]
		var dst *string
		switch name {
		case "alg":
			dst = &h.Alg
		case "kid":
			dst = &h.Kid
		case "typ":
			dst = &h.Typ
		case "cty":
			dst = &h.Cty
		case "b64": // true, checked above
			continue
		case "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256":
			return Header{}, errInvalid("jws: keys named or embedded in the header are not trusted")
		default:
			return Header{}, errInvalid("jws: unsupported header parameter")
		}
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
			return Header{}, garde.Errorf(garde.EInvalid, "jws: header %s must be a string", name)
		}
	}
	switch {
	case h.Alg == "":
		return Header{}, errInvalid("jws: alg missing")
	case h.Alg != Alg:
		if len(h.Alg) <= 16 {
			return Header{}, garde.Errorf(garde.EInvalid, "jws: alg %q not allowed", h.Alg)
		}
		return Header{}, errInvalid("jws: alg not allowed")
	case h.Kid == "":
		return Header{}, errInvalid("jws: kid missing")
	}
	return h, nil
}

var (
	// ErrDuplicateMember: a JSON object names a member twice (parsers
	// resolve that differently, so signed JSON must not).
	ErrDuplicateMember = errors.New("duplicate member name")
	errNotObject       = errors.New("not one JSON object")
)

// ReadObject reads b as exactly one JSON object, refusing duplicate member
// names (ErrDuplicateMember) and anything after the object: the strict
// reading of JOSE headers and claims, shared by every token Garde parses.
func ReadObject(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotObject
	}
	m := make(map[string]json.RawMessage, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errNotObject
		}
		name, _ := tok.(string)
		if _, dup := m[name]; dup {
			return nil, ErrDuplicateMember
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, errNotObject
		}
		m[name] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errNotObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errNotObject
	}
	return m, nil
}

func errInvalid(msg string) *garde.Error {
	return &garde.Error{Code: garde.EInvalid, Message: msg}
}
