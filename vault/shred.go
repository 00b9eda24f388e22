package vault

import (
	"context"
	"fmt"

	"github.com/garde-privacy/garde"
)

// Shred destroys the subjects' data keys, which erases everything sealed for
// them: the keys are deleted from the key store, which keeps no copy of them
// (see KeyStore.DeleteSubjectKeys), and dropped from memory. Afterwards Open
// of any value sealed for them fails with ErrShredded, in this vault and in
// any vault opened on the same key store. Subjects without a key are ignored,
// so a failed Shred may simply be retried.
//
// Values sealed concurrently with Shred for the same subject may be written
// with the dying key; they cannot be opened either.
func (v *Vault) Shred(ctx context.Context, subjects ...garde.SubjectID) error {
	return v.ShredThen(ctx, nil, subjects...)
}

// StagedDeleter is a KeyStore that can tell when a deletion of keys has
// committed, before it is final (store.Keys).
type StagedDeleter interface {
	// DeleteSubjectKeysThen is DeleteSubjectKeys calling deleted, once,
	// as soon as the transaction has committed (the keys can no longer be
	// read), before the steps that leave no copy (for SQLite: the TRUNCATE
	// checkpoint); it is not called if the transaction failed.
	DeleteSubjectKeysThen(ctx context.Context, subjects []garde.SubjectID, deleted func()) error
}

// ShredThen is Shred calling deleted (if not nil) as soon as the keys are
// deleted — gone from the key store and from this vault's cache, so that no
// Open succeeds any more — while the key store still makes the destruction
// final (for SQLite, the checkpoint and truncation of its write-ahead log,
// whose fsyncs take longer than the deletion).
// An erasure uses the moment to let the data go meanwhile. deleted is not
// called if the deletion failed; with a key store that is no
// StagedDeleter, it is called once the destruction is final. Shred's
// guarantee holds once ShredThen returns nil.
func (v *Vault) ShredThen(ctx context.Context, deleted func(), subjects ...garde.SubjectID) error {
	if len(subjects) == 0 {
		if deleted != nil {
			deleted()
		}
		return nil
	}
	var err error
	if sd, ok := v.ks.(StagedDeleter); ok {
		err = sd.DeleteSubjectKeysThen(ctx, subjects, func() {
			v.forget(subjects)
			if deleted != nil {
				deleted()
			}
		})
	} else {
		err = v.ks.DeleteSubjectKeys(ctx, subjects)
		if err == nil && deleted != nil {
			v.forget(subjects)
			deleted()
		}
	}
	// Drop from the cache even on error: the rows may be gone already, and
	// a cache miss is always safe.
	v.forget(subjects)
	if err != nil {
		return fmt.Errorf("vault: shred %d subjects: %w", len(subjects), err)
	}
	return nil
}

// forget drops the subjects' keys from the cache. Bumping gen keeps keys
// read from the store before the delete out of the cache.
func (v *Vault) forget(subjects []garde.SubjectID) {
	v.cacheMu.Lock()
	v.gen.Add(1)
	for _, s := range subjects {
		v.cache.Remove(s)
	}
	v.cacheMu.Unlock()
}
