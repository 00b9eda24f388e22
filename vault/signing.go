package vault

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/garde-privacy/garde"
)

// Signing keys.
//
// Garde signs what people and auditors keep and check offline — consent
// receipts, erasure certificates, guardian links, audit checkpoints — with
// Ed25519 keys, one rotating set per use. A use's current key signs; its
// retired keys only verify, and stay published, so that rotation never
// invalidates what was signed before.
//
// Each private key is stored as its 32-byte seed, sealed with AES-256-GCM
// under a key derived from the root secret (never the master key, so
// master-key rotation leaves signing keys untouched) with associated data
// "garde/signing/v1/" + use + "/" + kid, which binds it to its use and id.
// A private key never leaves the vault: no method returns it, and printing a
// Signer shows only its use and current key id. Loading a set opens every
// seed and recomputes every public key, so a public key slipped into the key
// store by someone without the root secret is refused, not trusted.

// Signing-key uses. Any lower-case name (see Vault.Signer) may be used; these
// are Garde's.
const (
	UseReceipts     = "receipts"     // consent receipts
	UseAudit        = "audit"        // audit-log checkpoints
	UseCertificates = "certificates" // erasure certificates
	UseLinks        = "links"        // guardian (parental consent) links
)

const (
	signingSeedInfo = "garde signing-seed v1"
	signingPrefix   = "garde/signing/v1/"
	maxUseLen       = 32
)

// Errors of signing keys, compared with errors.Is.
var (
	// ErrBadSignature: a signature does not verify under the named key.
	ErrBadSignature error = &garde.Error{Code: garde.EInvalid, Message: "signature does not verify"}
	// ErrUnknownKey: no key of the signer's use has the given key id.
	ErrUnknownKey error = &garde.Error{Code: garde.EInvalid, Message: "unknown key id"}
	// ErrSigningKeyRotated: Rotate lost a race against another rotation of
	// the same use (the signer has since reloaded; retry if still wanted).
	ErrSigningKeyRotated error = &garde.Error{Code: garde.EConflict, Message: "signing key was rotated concurrently"}
)

// SigningKey is the public part of a signing key.
type SigningKey struct {
	// ID is the key id (JWS "kid"): base64url, unpadded, of the first 12
	// bytes of SHA-256(Public) — 16 url-safe characters.
	ID      string
	Use     string
	Public  ed25519.PublicKey
	Created time.Time
	Retired time.Time // zero while the key is current
}

// WrappedSigningKey is a signing key as stored: the public key in clear and
// the private seed sealed under the root-derived signing-seed key, with
// associated data "garde/signing/v1/" + Use + "/" + ID.
type WrappedSigningKey struct {
	ID         string
	Use        string
	Generation int // 1 for a use's first key, +1 per rotation
	Public     []byte
	Wrapped    []byte
	Created    time.Time
	Retired    time.Time // zero while the key is current
}

// SigningKeyStore keeps wrapped signing keys. It is implemented by the same
// key store as KeyStore (store.Keys); the vault finds it there with a type
// assertion, so a KeyStore without it simply cannot sign. It must be safe for
// concurrent use, within and across processes.
type SigningKeyStore interface {
	// FindSigningKeys returns every key of use, highest generation first (so
	// the current key, whose Retired is zero, comes first), or none.
	FindSigningKeys(ctx context.Context, use string) ([]WrappedSigningKey, error)

	// CreateSigningKey stores k, the first key of its use, if and only if
	// that use has no key yet, in one transaction. It reports created=false,
	// and changes nothing, when one exists (another process won the race;
	// the caller then reads that one).
	CreateSigningKey(ctx context.Context, k WrappedSigningKey) (created bool, err error)

	// RotateSigningKey, in one transaction, retires the current key of
	// k.Use (Retired = k.Created) and stores k as the new current key —
	// provided the current key's id is from, else it fails with
	// ErrSigningKeyRotated and changes nothing.
	RotateSigningKey(ctx context.Context, from string, k WrappedSigningKey) error
}

// Signer signs with the current key of one use and verifies with any key of
// that use, current or retired. It is safe for concurrent use. Get one per use
// with Vault.Signer and keep it.
type Signer struct {
	use  string
	ks   SigningKeyStore
	aead cipher.AEAD // seals the seeds: derived from the root secret
	now  func() time.Time

	mu  sync.Mutex // serialises Rotate and Reload
	set atomic.Pointer[signingSet]
}

// signingSet is an immutable snapshot of a use's keys.
type signingSet struct {
	current    SigningKey
	generation int
	private    privateKey
	keys       []SigningKey // current first
	byID       map[string]ed25519.PublicKey
}

// privateKey hides itself from fmt, in case a snapshot is ever printed.
type privateKey ed25519.PrivateKey

func (privateKey) String() string               { return "PrivateKey(redacted)" }
func (privateKey) GoString() string             { return "PrivateKey(redacted)" }
func (k privateKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// Signer returns the signer of use, loading its keys from the key store and
// creating the first one if the use has none (safe against a concurrent
// creation in another process: the first stored key wins and both use it).
// use is a lower-case name of at most 32 characters (a-z, 0-9, '-'), such as
// UseReceipts. It fails with ErrTampered if a stored key does not open under
// this vault's root secret or does not match its public key or id.
func (v *Vault) Signer(ctx context.Context, use string) (*Signer, error) {
	if !validUse(use) {
		return nil, garde.Errorf(garde.EInvalid, "vault: signing-key use must be 1 to %d characters a-z, 0-9 or '-'", maxUseLen)
	}
	ks, ok := v.ks.(SigningKeyStore)
	if !ok {
		return nil, garde.Errorf(garde.EInternal, "vault: the key store cannot keep signing keys")
	}
	key := v.derive(signingSeedInfo)
	s := &Signer{use: use, ks: ks, aead: newAEAD(key), now: v.clock.Now}
	clear(key)
	keys, err := ks.FindSigningKeys(ctx, use)
	if err != nil {
		return nil, fmt.Errorf("vault: find %s signing keys: %w", use, err)
	}
	if len(keys) == 0 {
		first, _ := s.newKey(1)
		if _, err := ks.CreateSigningKey(ctx, first); err != nil {
			return nil, fmt.Errorf("vault: create %s signing key: %w", use, err)
		}
		// Created or not, the stored key is the one to use.
		if keys, err = ks.FindSigningKeys(ctx, use); err != nil {
			return nil, fmt.Errorf("vault: find %s signing keys: %w", use, err)
		}
	}
	set, err := s.load(keys)
	if err != nil {
		return nil, err
	}
	s.set.Store(set)
	return s, nil
}

func validUse(use string) bool {
	if len(use) == 0 || len(use) > maxUseLen || use[0] < 'a' || use[0] > 'z' {
		return false
	}
	for i := 0; i < len(use); i++ {
		c := use[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// KeyID returns the key id of an Ed25519 public key (see SigningKey.ID).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func signingAAD(use, kid string) []byte {
	return []byte(signingPrefix + use + "/" + kid)
}

// newKey makes a fresh key of generation gen, wrapped for storage.
func (s *Signer) newKey(gen int) (WrappedSigningKey, ed25519.PrivateKey) {
	seed := random32()
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	kid := KeyID(pub)
	wk := WrappedSigningKey{
		ID: kid, Use: s.use, Generation: gen, Public: pub,
		Wrapped: s.aead.Seal(nil, nil, seed, signingAAD(s.use, kid)),
		Created: s.now().UTC().Truncate(time.Millisecond), // as stored
	}
	clear(seed)
	return wk, priv
}

// load opens a use's stored keys into a snapshot. Every seed is opened and
// its public key recomputed; the stored public key and id must match.
func (s *Signer) load(stored []WrappedSigningKey) (*signingSet, error) {
	set := &signingSet{byID: make(map[string]ed25519.PublicKey, len(stored))}
	for i, wk := range stored {
		if wk.Use != s.use || (i == 0) != wk.Retired.IsZero() {
			return nil, fmt.Errorf("vault: %s signing key %s: out of place in the key store: %w", s.use, wk.ID, ErrTampered)
		}
		priv, err := s.open(wk)
		if err != nil {
			return nil, err
		}
		pub := priv.Public().(ed25519.PublicKey)
		if i == 0 {
			set.private, set.generation = privateKey(priv), wk.Generation
		} else {
			clear(priv)
		}
		k := SigningKey{ID: wk.ID, Use: wk.Use, Public: pub, Created: wk.Created, Retired: wk.Retired}
		set.keys = append(set.keys, k)
		set.byID[k.ID] = pub
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("vault: %s signing keys vanished from the key store", s.use)
	}
	set.current = set.keys[0]
	return set, nil
}

// open unwraps a stored key and checks it against its public key and id.
func (s *Signer) open(wk WrappedSigningKey) (ed25519.PrivateKey, error) {
	seed, err := s.aead.Open(nil, nil, wk.Wrapped, signingAAD(wk.Use, wk.ID))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("vault: %s signing key %s: %w", s.use, wk.ID, ErrTampered)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	clear(seed)
	pub := priv.Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, wk.Public) || KeyID(pub) != wk.ID {
		clear(priv)
		return nil, fmt.Errorf("vault: %s signing key %s: public key does not match: %w", s.use, wk.ID, ErrTampered)
	}
	return priv, nil
}

// Use returns the signer's use.
func (s *Signer) Use() string { return s.use }

// KeyID returns the id of the current key, the one Sign uses (unless a
// Rotate comes in between).
func (s *Signer) KeyID() string { return s.set.Load().current.ID }

// Sign signs msg with the current key and returns that key's id with the
// 64-byte Ed25519 signature. It does not fail today; the error is there for
// signers backed by an external key service.
func (s *Signer) Sign(msg []byte) (kid string, sig []byte, err error) {
	set := s.set.Load()
	return set.current.ID, ed25519.Sign(ed25519.PrivateKey(set.private), msg), nil
}

// Verify checks sig over msg with the key kid, which may be current or
// retired. It fails with ErrUnknownKey (a *garde.Error, EInvalid) if no key
// of this use has that id, and with ErrBadSignature if the signature does
// not verify.
func (s *Signer) Verify(kid string, msg, sig []byte) error {
	pub, ok := s.set.Load().byID[kid]
	if !ok {
		return ErrUnknownKey
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, msg, sig) {
		return ErrBadSignature
	}
	return nil
}

// PublicKey returns the public key with id kid, current or retired, and
// whether this use has it. jws.KeyFunc(s.PublicKey) makes the signer a key
// set for jws.Verify.
func (s *Signer) PublicKey(kid string) (ed25519.PublicKey, bool) {
	pub, ok := s.set.Load().byID[kid]
	if !ok {
		return nil, false
	}
	return bytes.Clone(pub), true
}

// Current returns the public part of the current key.
func (s *Signer) Current() SigningKey {
	return cloneKey(s.set.Load().current)
}

// Keys returns the public parts of the use's keys, the current one first,
// then the retired ones, most recent first: what the JWKS publishes.
func (s *Signer) Keys() []SigningKey {
	keys := s.set.Load().keys
	out := make([]SigningKey, len(keys))
	for i, k := range keys {
		out[i] = cloneKey(k)
	}
	return out
}

func cloneKey(k SigningKey) SigningKey {
	k.Public = bytes.Clone(k.Public)
	return k
}

// Rotate makes a fresh key current and retires the current one, in one
// key-store transaction; from then on Sign uses the new key, and Verify
// still accepts the old one. If another process rotated the use first, it
// reloads the keys and fails with ErrSigningKeyRotated (nothing is changed
// by this call). Other processes see the new key after their Reload.
func (s *Signer) Rotate(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.set.Load()
	wk, priv := s.newKey(old.generation + 1)
	if err := s.ks.RotateSigningKey(ctx, old.current.ID, wk); err != nil {
		clear(priv)
		// The store may have committed before failing, or another process
		// rotated first: believe the store, not the error.
		s.reloadLocked(ctx)
		return fmt.Errorf("vault: rotate %s signing key: %w", s.use, err)
	}
	retired := old.current
	retired.Retired = wk.Created
	cur := SigningKey{ID: wk.ID, Use: s.use, Public: wk.Public, Created: wk.Created}
	set := &signingSet{
		current: cur, generation: wk.Generation, private: privateKey(priv),
		keys: append([]SigningKey{cur, retired}, old.keys[1:]...),
		byID: make(map[string]ed25519.PublicKey, len(old.byID)+1),
	}
	for id, pub := range old.byID {
		set.byID[id] = pub
	}
	set.byID[cur.ID] = cur.Public
	s.set.Store(set)
	return nil
}

// Reload reads the use's keys again from the key store, to pick up a
// rotation done by another process. On error the keys in memory are kept.
func (s *Signer) Reload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadLocked(ctx)
}

func (s *Signer) reloadLocked(ctx context.Context) error {
	keys, err := s.ks.FindSigningKeys(ctx, s.use)
	if err != nil {
		return fmt.Errorf("vault: find %s signing keys: %w", s.use, err)
	}
	set, err := s.load(keys)
	if err != nil {
		return err
	}
	s.set.Store(set)
	return nil
}

// String, GoString and Format show the use and the current key id, never a
// private key.
func (s *Signer) String() string {
	kid := ""
	if set := s.set.Load(); set != nil {
		kid = set.current.ID
	}
	return "vault.Signer(" + s.use + ", " + kid + ")"
}
func (s *Signer) GoString() string           { return s.String() }
func (s *Signer) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }
