// Package vault is Garde's envelope encryption: one data key per data subject,
// wrapped by a master key; personal values sealed with their subject's key;
// blind indexes to find a subject by an identifier without storing it; and
// erasure by destroying the subject's key (crypto-shredding).
//
// The keys, from the outside in:
//
//   - The master key (32 bytes) comes from a key file (mode 0600) or from
//     GARDE_MASTER_KEY. It never encrypts data and is never stored: it only
//     wraps the root secret and the subjects' data keys. Rotating it re-wraps
//     those and touches no data.
//   - The root secret (32 random bytes, created once, stored wrapped) derives
//     with HKDF-SHA256 the blind-index key and any other named key
//     (DeriveKey). It survives master-key rotation, so blind indexes and
//     derived keys stay valid.
//   - Each subject's data key (32 random bytes, stored wrapped with AAD
//     "garde/dek/v1/" + subject id) seals that subject's personal values with
//     AES-256-GCM, the subject id and field path as associated data, so a
//     value cannot be moved to another subject or field unnoticed.
//
// The privacy rule: once Shred returns, nothing sealed for the shredded
// subjects can be opened again, by this process or any other, from any copy
// of the data; the key store keeps no copy of the destroyed keys.
//
// Keys live in a KeyStore (store.Keys), a database apart from the data, so
// that a copy of the data never carries the keys.
package vault

import (
	"cmp"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/garde-privacy/garde"
)

// Errors. They are *garde.Error values, compared with errors.Is; the vault
// wraps them with the operation and the (opaque) subject id.
var (
	// ErrShredded: the subject has no data key — it was destroyed (or, for
	// Seal and HasKey callers, never created). Data sealed for the subject
	// can no longer be opened.
	ErrShredded error = &garde.Error{Code: garde.ENotFound, Message: "subject's key was destroyed"}
	// ErrTampered: a sealed value or a wrapped key failed authentication:
	// altered, truncated, or presented for another subject or field.
	ErrTampered error = &garde.Error{Code: garde.EInternal, Message: "sealed value failed verification"}
	// ErrMasterMismatch: the master key is not the one the key store is
	// wrapped under (a wrong key, or the store was rotated to another key).
	ErrMasterMismatch error = &garde.Error{Code: garde.EInvalid, Message: "master key does not match this key store"}
	// ErrKeyExists: CreateKeys was asked for a subject that already has a key.
	ErrKeyExists error = &garde.Error{Code: garde.EConflict, Message: "subject already has a key"}
)

// DefaultCacheSize is how many unwrapped data keys a vault keeps by default.
const DefaultCacheSize = 32768

// Options tune a Vault. The zero value is usable.
type Options struct {
	// CacheSize bounds how many subjects' unwrapped data keys are kept in
	// memory (DefaultCacheSize when zero or negative).
	CacheSize int
	// Clock stamps created keys (garde.SystemClock when nil).
	Clock garde.Clock
}

// Associated data that binds each wrapped secret to its role.
const (
	rootAAD   = "garde/root/v1"
	dekPrefix = "garde/dek/v1/"
)

// Vault seals and opens subjects' personal values, computes blind indexes and
// manages subject keys. It is safe for concurrent use.
type Vault struct {
	ks    KeyStore
	clock garde.Clock
	root  [32]byte // never leaves the vault; derives blind and named keys
	blind sync.Pool

	// masters holds the master key(s) that unwrap stored keys: one, or two
	// while Rotate's transaction is committing (see Rotate).
	masters atomic.Pointer[keyring]
	// rotating excludes CreateKeys (read side) from Rotate (write side), so
	// that no key is wrapped under a master key being rotated away.
	rotating sync.RWMutex

	// cache maps subjects to ready AEADs. cacheMu and gen keep a key read
	// from the store before a Shred from entering the cache after it.
	cache   *lru.Cache[garde.SubjectID, cipher.AEAD]
	cacheMu sync.Mutex
	gen     atomic.Uint64

	// pending holds the keys BeginKeys made and their store has not
	// stored yet, so that they are found even if the cache evicts them
	pendingMu sync.Mutex
	pending   map[garde.SubjectID]cipher.AEAD
}

// master is one master key, ready to wrap and unwrap.
type master struct {
	key  MasterKey
	id   MasterKeyID
	aead cipher.AEAD
}

type keyring struct{ current, next *master }

func (r *keyring) find(id MasterKeyID) *master {
	if r.current.id == id {
		return r.current
	}
	if r.next != nil && r.next.id == id {
		return r.next
	}
	return nil
}

func masterOf(k MasterKey) *master {
	return &master{key: k, id: k.ID(), aead: newAEAD(k[:])}
}

// newAEAD returns AES-256-GCM with a random 96-bit nonce per message,
// prepended to the ciphertext.
func newAEAD(key []byte) cipher.AEAD {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // only for a key that is not 16, 24 or 32 bytes
	}
	a, err := cipher.NewGCMWithRandomNonce(b)
	if err != nil {
		panic(err)
	}
	return a
}

func random32() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// Open opens the vault on ks with master. On first use it creates the root
// secret and stores it wrapped. It fails with ErrMasterMismatch if ks was
// created (or last rotated) under another master key.
func Open(ctx context.Context, mk MasterKey, ks KeyStore, opts Options) (*Vault, error) {
	if ks == nil {
		return nil, errors.New("vault: nil key store")
	}
	m := masterOf(mk)
	root, ok, err := ks.FindRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("vault: find root: %w", err)
	}
	if !ok {
		secret := random32()
		root = Root{Wrapped: m.aead.Seal(nil, nil, secret, []byte(rootAAD)), MasterID: m.id, Created: clockOf(opts).Now()}
		clear(secret)
		created, err := ks.CreateRoot(ctx, root)
		if err != nil {
			return nil, fmt.Errorf("vault: create root: %w", err)
		}
		if !created { // another process created it first: use that one
			if root, ok, err = ks.FindRoot(ctx); err != nil || !ok {
				return nil, fmt.Errorf("vault: find root: %w", cmp.Or(err, errors.New("root vanished")))
			}
		}
	}
	if subtle.ConstantTimeCompare(root.MasterID[:], m.id[:]) != 1 {
		return nil, fmt.Errorf("vault: master key %s, key store wrapped under %s: %w", m.id, root.MasterID, ErrMasterMismatch)
	}
	secret, err := m.aead.Open(nil, nil, root.Wrapped, []byte(rootAAD))
	if err != nil || len(secret) != 32 {
		return nil, fmt.Errorf("vault: root secret: %w", ErrTampered)
	}
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	cache, err := lru.New[garde.SubjectID, cipher.AEAD](size)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	v := &Vault{ks: ks, clock: clockOf(opts), cache: cache, pending: map[garde.SubjectID]cipher.AEAD{}}
	copy(v.root[:], secret)
	clear(secret)
	v.masters.Store(&keyring{current: m})
	v.initBlind()
	return v, nil
}

func clockOf(opts Options) garde.Clock {
	if opts.Clock == nil {
		return garde.SystemClock{}
	}
	return opts.Clock
}

// DeriveKey returns a 32-byte key for name, derived with HKDF-SHA256 from the
// root secret: the same for the same name in every process and across
// master-key rotations, independent for different names (salts for hashing
// IP addresses, signing seeds …). Callers should derive once and keep it.
func (v *Vault) DeriveKey(name string) []byte {
	return v.derive("garde/derive/v1/" + name)
}

func (v *Vault) derive(info string) []byte {
	k, err := hkdf.Key(sha256.New, v.root[:], nil, info, 32)
	if err != nil {
		panic(err) // only for lengths HKDF-SHA256 cannot produce
	}
	return k
}

// dekAAD is the associated data that binds a wrapped data key to its subject.
func dekAAD(s garde.SubjectID) []byte {
	return append([]byte(dekPrefix), s...)
}
