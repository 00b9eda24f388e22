package vault

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"iter"

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

// AppendSealed appends to dst the fields yields, path and plaintext, each
// sealed as Seal seals it for that path, in garde's format of an event's
// sealed fields (garde.AppendSealedField). The subject's key is looked up
// once for all of them. On error, dst is returned as it was given.
func (v *Vault) AppendSealed(ctx context.Context, dst []byte, s garde.SubjectID, fields iter.Seq2[string, []byte]) ([]byte, error) {
	a, err := v.dataKey(ctx, s)
	if err != nil {
		return dst, err
	}
	out := dst
	aad := make([]byte, 0, len(s)+1+64)
	for path, plaintext := range fields {
		out = garde.AppendSealedFieldHeader(out, path, sealOverhead+len(plaintext))
		aad = append(append(append(aad[:0], s...), 0), path...)
		out = a.Seal(append(out, sealVersion), nil, plaintext, aad)
	}
	return out, nil
}

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
// The collection writer calls it once per group commit for the subjects it
// creates.
func (v *Vault) CreateKeys(ctx context.Context, subjects []garde.SubjectID) error {
	if len(subjects) == 0 {
		return nil
	}
	for _, s := range subjects {
		if !s.Valid() {
			return garde.Errorf(garde.EInvalid, "vault: malformed subject id")
		}
	}
	v.rotating.RLock()
	defer v.rotating.RUnlock()
	gen := v.gen.Load()
	m := v.masters.Load().current
	now := v.clock.Now()
	keys := make([]WrappedKey, len(subjects))
	aeads := make([]cipher.AEAD, len(subjects))
	for i, s := range subjects {
		dk := random32()
		keys[i] = WrappedKey{Subject: s, Wrapped: m.aead.Seal(nil, nil, dk, dekAAD(s)), MasterID: m.id, Created: now}
		aeads[i] = newAEAD(dk)
		clear(dk)
	}
	if err := v.ks.CreateSubjectKeys(ctx, keys); err != nil {
		return fmt.Errorf("vault: create %d keys: %w", len(keys), err)
	}
	v.cacheMu.Lock()
	if v.gen.Load() == gen {
		for i, s := range subjects {
			v.cache.Add(s, aeads[i])
		}
	}
	v.cacheMu.Unlock()
	return nil
}

// dataKey returns the subject's data key, from the cache or the key store.
func (v *Vault) dataKey(ctx context.Context, s garde.SubjectID) (cipher.AEAD, error) {
	if a, ok := v.cache.Get(s); ok {
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
