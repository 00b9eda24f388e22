package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/garde-privacy/garde"
)

// Rotate re-wraps the root secret and every subject's data key under
// newMaster, in one key-store transaction, without touching any data: values
// sealed before open after, blind indexes and derived keys do not change.
// Once it returns nil, the old master key no longer opens the key store.
//
// CreateKeys waits while Rotate runs; Seal and Open go on (keys not in the
// cache are unwrapped with whichever master key the store holds them under).
// Another process that holds the old master key fails with ErrMasterMismatch
// and must be restarted with the new one.
func (v *Vault) Rotate(ctx context.Context, newMaster MasterKey) error {
	v.rotating.Lock()
	defer v.rotating.Unlock()
	old := v.masters.Load().current
	if newMaster == old.key {
		return garde.Errorf(garde.EInvalid, "vault: the new master key is the current one")
	}
	next := masterOf(newMaster)
	root := Root{Wrapped: next.aead.Seal(nil, nil, v.root[:], []byte(rootAAD)), MasterID: next.id, Created: v.clock.Now()}
	rewrap := func(k WrappedKey) (WrappedKey, error) {
		if k.MasterID != old.id {
			return WrappedKey{}, fmt.Errorf("vault: key of %s is wrapped under master key %s: %w", k.Subject, k.MasterID, ErrMasterMismatch)
		}
		dk, err := old.aead.Open(nil, nil, k.Wrapped, dekAAD(k.Subject))
		if err != nil {
			return WrappedKey{}, fmt.Errorf("vault: wrapped key of %s: %w", k.Subject, ErrTampered)
		}
		k.Wrapped, k.MasterID = next.aead.Seal(nil, nil, dk, dekAAD(k.Subject)), next.id
		clear(dk)
		return k, nil
	}
	// While the transaction runs, readers see keys under the old master key;
	// right after it commits, under the new one: unwrap with both until then.
	v.masters.Store(&keyring{current: old, next: next})
	if err := v.ks.Rewrap(ctx, old.id, root, rewrap); err != nil {
		// The store may have committed before failing (e.g. on the final
		// checkpoint): believe the store, not the error.
		if r, ok, ferr := v.ks.FindRoot(ctx); ferr == nil && ok && r.MasterID == next.id {
			v.masters.Store(&keyring{current: next})
		} else {
			v.masters.Store(&keyring{current: old})
		}
		return fmt.Errorf("vault: rotate master key: %w", err)
	}
	v.masters.Store(&keyring{current: next})
	return nil
}

// Key files and rotation.
//
// RotateKeyFile replaces the master key in a key file in three durable steps:
//
//  1. a new key is written to keyFile + ".new" (mode 0600, synced);
//  2. the key store is rotated to it (one transaction);
//  3. keyFile + ".new" is renamed over keyFile.
//
// A crash at any point leaves a usable key: before step 2 commits, the store
// is still under keyFile's key (keyFile.new is a leftover); after, it is under
// keyFile.new's key until step 3 is done. ResolveKeyFile tells which, by
// comparing the store's master key id with both files, and finishes step 3 if
// needed; use it (or OpenKeyFile) wherever a key file is opened.

// ResolveKeyFile returns the master key that opens ks: keyFile's, or
// keyFile.new's if an interrupted RotateKeyFile already committed, in which
// case it renames keyFile.new over keyFile first. It never deletes a leftover
// keyFile.new (a rotation may be running in another process); RotateKeyFile
// refuses to start while one exists.
func ResolveKeyFile(ctx context.Context, ks KeyStore, keyFile string) (MasterKey, error) {
	cur, err := LoadMasterKeyFile(keyFile)
	if err != nil {
		return MasterKey{}, err
	}
	root, ok, err := ks.FindRoot(ctx)
	if err != nil {
		return MasterKey{}, fmt.Errorf("vault: find root: %w", err)
	}
	if !ok || root.MasterID == cur.ID() {
		return cur, nil
	}
	next, err := LoadMasterKeyFile(keyFile + ".new")
	if errors.Is(err, os.ErrNotExist) || err == nil && root.MasterID != next.ID() {
		return MasterKey{}, fmt.Errorf("vault: %s holds master key %s, key store wrapped under %s: %w", keyFile, cur.ID(), root.MasterID, ErrMasterMismatch)
	}
	if err != nil {
		return MasterKey{}, err
	}
	if err := os.Rename(keyFile+".new", keyFile); err != nil {
		return MasterKey{}, garde.Wrap(garde.EInternal, err, "cannot finish the interrupted rotation of "+keyFile)
	}
	syncDir(filepath.Dir(keyFile)) // best effort: if lost, the next resolve redoes it
	return next, nil
}

// OpenKeyFile opens a vault on ks with the master key resolved from keyFile
// (see ResolveKeyFile).
func OpenKeyFile(ctx context.Context, ks KeyStore, keyFile string, opts Options) (*Vault, error) {
	k, err := ResolveKeyFile(ctx, ks, keyFile)
	if err != nil {
		return nil, err
	}
	return Open(ctx, k, ks, opts)
}

// RotateKeyFile rotates ks from the master key in keyFile to a fresh one and
// replaces keyFile with it (see above). It is what `garde keys rotate` runs.
// No other process should hold a vault on ks meanwhile (they would need a
// restart with the new key).
func RotateKeyFile(ctx context.Context, ks KeyStore, keyFile string) error {
	cur, err := ResolveKeyFile(ctx, ks, keyFile)
	if err != nil {
		return err
	}
	v, err := Open(ctx, cur, ks, Options{CacheSize: 1})
	if err != nil {
		return err
	}
	nextFile := keyFile + ".new"
	next, err := CreateMasterKeyFile(nextFile)
	if garde.ErrorCode(err) == garde.EConflict {
		return garde.Errorf(garde.EConflict, "%s exists: another rotation is running, or one was interrupted before it took effect; "+
			"if none is running, delete %s and retry", nextFile, nextFile)
	}
	if err != nil {
		return err
	}
	if err := v.Rotate(ctx, next); err != nil {
		// Whether the store took the new key decides which file is right.
		if k, rerr := ResolveKeyFile(ctx, ks, keyFile); rerr == nil && k == cur {
			os.Remove(nextFile)
		}
		return err
	}
	if err := os.Rename(nextFile, keyFile); err != nil {
		return garde.Wrap(garde.EInternal, err, "key store rotated, but "+nextFile+" could not be renamed to "+keyFile+"; rename it by hand")
	}
	if err := syncDir(filepath.Dir(keyFile)); err != nil {
		return garde.Wrap(garde.EInternal, err, "key store rotated, but the rename of "+nextFile+" may not be durable")
	}
	return nil
}
