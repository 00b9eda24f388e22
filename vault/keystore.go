package vault

import (
	"context"
	"time"

	"github.com/garde-privacy/garde"
)

// MasterKeyID names a master key without revealing it: the first 8 bytes of
// SHA-256(HKDF-SHA256(master, info "garde master-key id")). It is stored next
// to everything the master key wraps, so that a wrong key is refused by name
// instead of failing as a decryption error.
type MasterKeyID [8]byte

// Root is the vault's root secret as stored: wrapped (AES-256-GCM, AAD
// "garde/root/v1") by the master key named by MasterID.
type Root struct {
	Wrapped  []byte
	MasterID MasterKeyID
	Created  time.Time
}

// WrappedKey is one subject's data key as stored: wrapped (AES-256-GCM, AAD
// "garde/dek/v1/" + subject id) by the master key named by MasterID. It is
// useless without the master key, and the subject's data is useless without
// it.
type WrappedKey struct {
	Subject  garde.SubjectID
	Wrapped  []byte
	MasterID MasterKeyID
	Created  time.Time
}

// KeyStore keeps the wrapped root and the wrapped subject keys. It never sees
// a key in clear. It must live apart from the data (another database file),
// so that a copy of the data never carries the keys.
//
// The vault calls a KeyStore from many goroutines at once; implementations
// must be safe for concurrent use. Errors other than the ones named below are
// reported as they are (the vault wraps them).
type KeyStore interface {
	// FindRoot returns the stored root, or ok=false if none was created yet.
	FindRoot(ctx context.Context) (r Root, ok bool, err error)

	// CreateRoot stores r if and only if no root exists yet. It reports
	// created=false, and changes nothing, when one already exists (another
	// process won the race; the caller then reads that one).
	CreateRoot(ctx context.Context, r Root) (created bool, err error)

	// CreateSubjectKeys stores keys in one transaction: all or none.
	// It fails with ErrKeyExists if a subject already has a key, and with
	// ErrMasterMismatch unless every key's MasterID is the stored root's
	// (checked inside the same transaction, so that a key wrapped under a
	// master key that was just rotated away is never stored).
	CreateSubjectKeys(ctx context.Context, keys []WrappedKey) error

	// FindSubjectKey returns the subject's key, or ok=false if it has none
	// (never created, or destroyed).
	FindSubjectKey(ctx context.Context, s garde.SubjectID) (k WrappedKey, ok bool, err error)

	// DeleteSubjectKeys destroys the subjects' keys in one transaction and
	// then makes the destruction final: no copy of a deleted key may remain
	// in the store's files once it returns nil (for SQLite: secure_delete and
	// a TRUNCATE checkpoint of the write-ahead log). Subjects without a key
	// are ignored. It is idempotent, so a failed call may be retried.
	DeleteSubjectKeys(ctx context.Context, subjects []garde.SubjectID) error

	// Rewrap replaces, in ONE transaction, every subject key k by fn(k) and
	// the root by root — provided the stored root's MasterID is from, else
	// it fails with ErrMasterMismatch. Keys are read in bounded chunks (in
	// ascending subject order), never all at once. fn must return a key for
	// the same subject; any error from fn rolls everything back. Like
	// DeleteSubjectKeys, no copy of a replaced value may remain in the
	// store's files once it returns nil.
	Rewrap(ctx context.Context, from MasterKeyID, root Root, fn func(WrappedKey) (WrappedKey, error)) error
}
