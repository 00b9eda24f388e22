package vault

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/garde-privacy/garde"
)

// Sealed values: sealVersion || 12-byte random nonce || ciphertext || 16-byte tag.
const (
	sealVersion  = 1
	sealOverhead = 1 + 12 + 16
)

// Seal encrypts plaintext with the subject's data key, bound to the subject
// and to field (the value's path, e.g. "properties.email"): it opens only
// with the same subject and field. It never creates a key: a subject without
// one gets ErrShredded. plaintext is not modified.
func (v *Vault) Seal(ctx context.Context, s garde.SubjectID, field string, plaintext []byte) ([]byte, error) {
	a, err := v.dataKey(ctx, s)
	if err != nil {
		return nil, err
	}
	n := sealOverhead + len(plaintext)
	out, aad := withAAD(n, s, field)
	out = append(out, sealVersion)
	return a.Seal(out, nil, plaintext, aad), nil
}

// SealFields seals an event's fields, laid out in b from start on as
// garde's format 2 reads them: the header (garde.AppendSealedHeader), then
// the values in clear, concatenated in its order. The values are sealed at
// once, in place, with the subject's key, bound to the subject and to the
// header (its paths and lengths): one AES-GCM operation per event instead
// of one per value. It returns b grown by the version byte, the nonce and
// the tag; nil and ErrShredded if the subject has no key.
func (v *Vault) SealFields(ctx context.Context, s garde.SubjectID, b []byte, start int) ([]byte, error) {
	total := 0
	h, err := garde.SealedHeader(b[start:], func(_ []byte, size int) error { total += size; return nil })
	if err != nil || total != len(b)-start-h {
		return nil, fmt.Errorf("vault: seal %s: the values do not follow their header", s)
	}
	h += start
	a, err := v.dataKey(ctx, s)
	if err != nil {
		return nil, err
	}
	aad := sealedAAD(s, b[start:h])
	defer putAAD(aad)
	// the version byte goes before the values, which AES-GCM then seals
	// where they are (after the nonce it writes first)
	b = append(b, 0)
	copy(b[h+1:], b[h:len(b)-1])
	b[h] = sealVersion
	return a.Seal(b[:h+1], nil, b[h+1:], *aad), nil
}

// OpenFields calls fn with the path and plaintext of each field of sealed,
// an event's sealed fields in any format (garde.SealedFields), in order;
// each plaintext is the caller's to keep (nothing writes to it again). It
// fails with ErrShredded if the subject's key was destroyed, with
// ErrTampered if sealed was altered or belongs to another subject, with
// garde.ErrSealedFields if sealed does not decode, and with fn's error if
// fn fails.
func (v *Vault) OpenFields(ctx context.Context, s garde.SubjectID, sealed []byte, fn func(path string, plaintext []byte) error) error {
	if !garde.IsSealedHeader(sealed) {
		return garde.SealedFields(sealed, func(path string, c []byte) error {
			plain, err := v.Open(ctx, s, path, c)
			if err != nil {
				return err
			}
			return fn(path, plain)
		})
	}
	var fieldsBuf [8]garde.SealedField
	list, total := fieldsBuf[:0], 0
	end, err := garde.SealedHeader(sealed, func(path []byte, size int) error {
		list, total = append(list, garde.SealedField{Path: string(path), Size: size}), total+size
		return nil
	})
	if err != nil {
		return err
	}
	body := sealed[end:]
	if len(body) != sealOverhead+total || body[0] != sealVersion {
		return fmt.Errorf("vault: open %s: %w", s, ErrTampered)
	}
	a, err := v.dataKey(ctx, s)
	if err != nil {
		return err
	}
	aad := sealedAAD(s, sealed[:end])
	plain, err := a.Open(make([]byte, 0, total), nil, body[1:], *aad)
	putAAD(aad)
	if err != nil {
		return fmt.Errorf("vault: open %s: %w", s, ErrTampered)
	}
	for _, f := range list {
		if err := fn(f.Path, plain[:f.Size:f.Size]); err != nil {
			return err
		}
		plain = plain[f.Size:]
	}
	return nil
}

// sealedAAD is the associated data of an event's fields sealed at once:
// subject id + 0x00 + the header (subject ids never contain 0x00). It is
// built in a recycled buffer, which putAAD gives back once AES-GCM has used
// it (it keeps nothing of it).
func sealedAAD(s garde.SubjectID, header []byte) *[]byte {
	p := aadBufs.Get().(*[]byte)
	*p = append(append(append((*p)[:0], s...), 0), header...)
	return p
}

func putAAD(p *[]byte) {
	if cap(*p) <= 4096 {
		aadBufs.Put(p)
	}
}

var aadBufs = sync.Pool{New: func() any { return new([]byte) }}

// Open decrypts a value sealed by Seal for the same subject and field. It
// fails with ErrShredded if the subject's key was destroyed and with
// ErrTampered if sealed was altered or belongs to another subject or field.
func (v *Vault) Open(ctx context.Context, s garde.SubjectID, field string, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return nil, fmt.Errorf("vault: open %s: %w", s, ErrTampered)
	}
	a, err := v.dataKey(ctx, s)
	if err != nil {
		return nil, err
	}
	out, aad := withAAD(len(sealed)-sealOverhead, s, field)
	pt, err := a.Open(out, nil, sealed[1:], aad)
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", s, ErrTampered)
	}
	return pt, nil
}

// withAAD makes, in one allocation, an empty buffer of capacity n and the
// associated data of a sealed value: subject id + 0x00 + field (subject ids
// never contain 0x00). The buffer's capacity is capped so that appending to
// it never reaches the associated data behind it.
func withAAD(n int, s garde.SubjectID, field string) (buf, aad []byte) {
	b := make([]byte, n, n+len(s)+1+len(field))
	aad = append(append(append(b[n:], s...), 0), field...)
	return b[:0:n], aad
}

// HasKey reports whether the subject has a data key.
func (v *Vault) HasKey(ctx context.Context, s garde.SubjectID) (bool, error) {
	if v.cache.Contains(s) {
		return true, nil
	}
	if _, ok := v.pendingKey(s); ok {
		return true, nil
	}
	_, ok, err := v.ks.FindSubjectKey(ctx, s)
	if err != nil {
		return false, fmt.Errorf("vault: find key of %s: %w", s, err)
	}
	return ok, nil
}

// CreateKeys gives each subject a fresh random data key, stores the keys
// wrapped in one key-store transaction (all or none) and caches them. A
// subject that already has a key fails the whole call with ErrKeyExists;
// a malformed subject id (see garde.SubjectID.Valid) with garde.EInvalid.
func (v *Vault) CreateKeys(ctx context.Context, subjects []garde.SubjectID) error {
	k, err := v.makeKeys(subjects)
	if err != nil {
		return err
	}
	if err := k.store(ctx); err != nil {
		return err
	}
	k.cache()
	return nil
}

// BeginKeys is CreateKeys in two steps, so that a caller can seal with the
// keys while they are being stored: it gives each subject a fresh random
// data key that Seal, SealFields and HasKey use at once, in this process,
// and returns store, which writes them to the key store (one transaction,
// all or none). The caller calls store once, and commits nothing sealed
// with the keys before store has returned nil; if it fails, the keys are
// forgotten. The subjects must have no key (the caller created them, or
// HasKey said so): one that has a key in the cache, or twice in subjects,
// fails with ErrKeyExists, and store fails for one whose key is only in
// the key store. The collection writer calls it once per group commit for
// the subjects that need a key, and seals and inserts while store runs.
func (v *Vault) BeginKeys(subjects []garde.SubjectID) (store func(context.Context) error, err error) {
	k, err := v.makeKeys(subjects)
	if err != nil {
		return nil, err
	}
	v.pendingMu.Lock()
	defer v.pendingMu.Unlock()
	for i, s := range k.subjects {
		_, pending := v.pending[s]
		if pending || v.cache.Contains(s) || slices.Contains(k.subjects[:i], s) {
			k.clear()
			return nil, ErrKeyExists
		}
	}
	for i, s := range k.subjects {
		v.pending[s] = k.aeads[i]
	}
	return func(ctx context.Context) error {
		err := k.store(ctx)
		if err == nil {
			k.cache()
		}
		v.pendingMu.Lock()
		for _, s := range k.subjects {
			delete(v.pending, s)
		}
		v.pendingMu.Unlock()
		return err
	}, nil
}

// pendingKey returns a key BeginKeys made and has not stored yet.
func (v *Vault) pendingKey(s garde.SubjectID) (cipher.AEAD, bool) {
	v.pendingMu.Lock()
	defer v.pendingMu.Unlock()
	a, ok := v.pending[s]
	return a, ok
}

// newKeys are fresh data keys, not yet stored.
type newKeys struct {
	v        *Vault
	subjects []garde.SubjectID
	dks      [][]byte
	aeads    []cipher.AEAD
	gen      uint64 // the vault's Shred generation when they were made
}

// makeKeys checks the subjects and makes a fresh key for each.
func (v *Vault) makeKeys(subjects []garde.SubjectID) (*newKeys, error) {
	for _, s := range subjects {
		if !s.Valid() {
			return nil, garde.Errorf(garde.EInvalid, "vault: malformed subject id")
		}
	}
	k := &newKeys{v: v, subjects: subjects, gen: v.gen.Load()}
	for range subjects {
		dk := random32()
		k.dks = append(k.dks, dk)
		k.aeads = append(k.aeads, newAEAD(dk))
	}
	return k, nil
}

// store wraps the keys under the current master key and stores them, in
// one key-store transaction (Rotate waits meanwhile); the clear keys are
// gone after, stored or not.
func (k *newKeys) store(ctx context.Context) error {
	defer k.clear()
	if len(k.subjects) == 0 {
		return nil
	}
	v := k.v
	v.rotating.RLock()
	defer v.rotating.RUnlock()
	m := v.masters.Load().current
	now := v.clock.Now()
	keys := make([]WrappedKey, len(k.subjects))
	for i, s := range k.subjects {
		keys[i] = WrappedKey{Subject: s, Wrapped: m.aead.Seal(nil, nil, k.dks[i], dekAAD(s)), MasterID: m.id, Created: now}
	}
	if err := v.ks.CreateSubjectKeys(ctx, keys); err != nil {
		return fmt.Errorf("vault: create %d keys: %w", len(keys), err)
	}
	return nil
}

// cache caches the stored keys, unless a Shred ran since they were made.
func (k *newKeys) cache() {
	v := k.v
	v.cacheMu.Lock()
	defer v.cacheMu.Unlock()
	if v.gen.Load() == k.gen {
		for i, s := range k.subjects {
			v.cache.Add(s, k.aeads[i])
		}
	}
}

func (k *newKeys) clear() {
	for _, dk := range k.dks {
		clear(dk)
	}
}

// dataKey returns the subject's data key, from the cache or the key store.
func (v *Vault) dataKey(ctx context.Context, s garde.SubjectID) (cipher.AEAD, error) {
	if a, ok := v.cache.Get(s); ok {
		return a, nil
	}
	if a, ok := v.pendingKey(s); ok {
		return a, nil
	}
	for attempt := 0; ; attempt++ {
		gen := v.gen.Load()
		wk, ok, err := v.ks.FindSubjectKey(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("vault: find key of %s: %w", s, err)
		}
		if !ok {
			return nil, fmt.Errorf("vault: key of %s: %w", s, ErrShredded)
		}
		a, err := v.unwrap(wk)
		if errors.Is(err, ErrMasterMismatch) && attempt == 0 {
			continue // read just before Rotate committed: read again
		}
		if err != nil {
			return nil, err
		}
		v.cacheMu.Lock()
		if v.gen.Load() == gen { // no Shred since the read
			v.cache.Add(s, a)
		}
		v.cacheMu.Unlock()
		return a, nil
	}
}

func (v *Vault) unwrap(wk WrappedKey) (cipher.AEAD, error) {
	m := v.masters.Load().find(wk.MasterID)
	if m == nil {
		return nil, fmt.Errorf("vault: key of %s is wrapped under master key %s (rotated by another process? restart with the current key): %w",
			wk.Subject, wk.MasterID, ErrMasterMismatch)
	}
	dk, err := m.aead.Open(nil, nil, wk.Wrapped, dekAAD(wk.Subject))
	if err != nil || len(dk) != 32 {
		return nil, fmt.Errorf("vault: wrapped key of %s: %w", wk.Subject, ErrTampered)
	}
	a := newAEAD(dk)
	clear(dk)
	return a, nil
}
