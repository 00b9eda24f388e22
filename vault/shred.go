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
	if len(subjects) == 0 {
		return nil
	}
	err := v.ks.DeleteSubjectKeys(ctx, subjects)
	// Drop from the cache even on error: the rows may be gone already, and
	// a cache miss is always safe. Bumping gen keeps keys read from the store
	// before the delete out of the cache.
	v.cacheMu.Lock()
	v.gen.Add(1)
	for _, s := range subjects {
		v.cache.Remove(s)
	}
	v.cacheMu.Unlock()
	if err != nil {
		return fmt.Errorf("vault: shred %d subjects: %w", len(subjects), err)
	}
	return nil
}
