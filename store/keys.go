package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

// Keys is the vault's key store (vault.KeyStore) over the key database, a
// *DB opened with the "keys" migration set — never the data database, so
// that a copy of the data never carries the keys. It holds keys only in
// wrapped form.
type Keys struct {
	db *DB

	mu   sync.Mutex
	find *sql.Stmt // qkFindKey on the reader, prepared once (see findStmt)
}

// NewKeys returns the key store over db (opened with set "keys").
func NewKeys(db *DB) *Keys { return &Keys{db: db} }

var _ vault.KeyStore = (*Keys)(nil)

// rewrapChunk bounds how many keys Rewrap holds in memory at once.
const rewrapChunk = 1000

// The key store's queries, in portable SQL (also valid on PostgreSQL once
// its placeholders are rebound).
const (
	qkFindRoot   = `SELECT wrapped, master_id, created_at FROM vault_root WHERE id = 1`
	qkRootMaster = `SELECT master_id FROM vault_root WHERE id = 1`
	qkCreateRoot = `INSERT INTO vault_root (id, wrapped, master_id, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING`
	qkUpdateRoot = `UPDATE vault_root SET wrapped = ?, master_id = ?, created_at = ? WHERE id = 1`
	qkCreateKey  = `INSERT INTO subject_keys (subject_id, wrapped, master_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (subject_id) DO NOTHING`
	qkFindKey    = `SELECT wrapped, master_id, created_at FROM subject_keys WHERE subject_id = ?`
	qkDeleteKey  = `DELETE FROM subject_keys WHERE subject_id = ?`
	qkKeysAfter  = `SELECT subject_id, wrapped, master_id, created_at FROM subject_keys WHERE subject_id > ? ORDER BY subject_id LIMIT ?`
	qkRewrapKey  = `UPDATE subject_keys SET wrapped = ?, master_id = ? WHERE subject_id = ?`
)

// FindRoot implements vault.KeyStore.
func (k *Keys) FindRoot(ctx context.Context) (vault.Root, bool, error) {
	var r vault.Root
	var id []byte
	var created int64
	err := k.db.Reader().QueryRowContext(ctx, qkFindRoot).Scan(&r.Wrapped, &id, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.Root{}, false, nil
	}
	if err == nil {
		r.MasterID, err = keyMasterID(id)
	}
	if err != nil {
		return vault.Root{}, false, fmt.Errorf("store: find vault root: %w", err)
	}
	r.Created = time.UnixMilli(created).UTC()
	return r, true, nil
}

// CreateRoot implements vault.KeyStore.
func (k *Keys) CreateRoot(ctx context.Context, r vault.Root) (bool, error) {
	res, err := k.db.Writer().ExecContext(ctx, qkCreateRoot, r.Wrapped, r.MasterID[:], r.Created.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("store: create vault root: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: create vault root: %w", err)
	}
	return n == 1, nil
}

// CreateSubjectKeys implements vault.KeyStore.
func (k *Keys) CreateSubjectKeys(ctx context.Context, keys []vault.WrappedKey) error {
	tx, err := k.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: create subject keys: %w", err)
	}
	defer tx.Rollback()
	current, err := rootMasterID(ctx, tx)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, qkCreateKey)
	if err != nil {
		return fmt.Errorf("store: create subject keys: %w", err)
	}
	defer stmt.Close()
	for _, wk := range keys {
		if wk.MasterID != current {
			return fmt.Errorf("store: key of %s wrapped under %s, root under %s: %w", wk.Subject, wk.MasterID, current, vault.ErrMasterMismatch)
		}
		res, err := stmt.ExecContext(ctx, string(wk.Subject), wk.Wrapped, wk.MasterID[:], wk.Created.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: create key of %s: %w", wk.Subject, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("store: create key of %s: %w", wk.Subject, cmp.Or(err, vault.ErrKeyExists))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: create subject keys: %w", err)
	}
	return nil
}

// FindSubjectKey implements vault.KeyStore.
func (k *Keys) FindSubjectKey(ctx context.Context, s garde.SubjectID) (vault.WrappedKey, bool, error) {
	wk := vault.WrappedKey{Subject: s}
	var id []byte
	var created int64
	st, err := k.findStmt(ctx)
	if err != nil {
		return vault.WrappedKey{}, false, fmt.Errorf("store: find key of %s: %w", s, err)
	}
	err = st.QueryRowContext(ctx, string(s)).Scan(&wk.Wrapped, &id, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.WrappedKey{}, false, nil
	}
	if err == nil {
		wk.MasterID, err = keyMasterID(id)
	}
	if err != nil {
		return vault.WrappedKey{}, false, fmt.Errorf("store: find key of %s: %w", s, err)
	}
	wk.Created = time.UnixMilli(created).UTC()
	return wk, true, nil
}

// findStmt returns qkFindKey prepared on the reader. FindSubjectKey is the
// vault's path to every key not in its cache, and an erasure's first step
// (the certificate names the destroyed keys): parsing it again for every
// call cost more than running it.
func (k *Keys) findStmt(ctx context.Context) (*sql.Stmt, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.find == nil {
		st, err := k.db.Reader().PrepareContext(ctx, qkFindKey)
		if err != nil {
			return nil, err
		}
		k.find = st
	}
	return k.find, nil
}

// DeleteSubjectKeys implements vault.KeyStore: the rows are deleted in one
// transaction (secure_delete overwrites them), then the write-ahead log is
// checkpointed and truncated, so that no older copy of a page holding a
// deleted key survives in it.
func (k *Keys) DeleteSubjectKeys(ctx context.Context, subjects []garde.SubjectID) error {
	return k.DeleteSubjectKeysThen(ctx, subjects, nil)
}

var _ vault.StagedDeleter = (*Keys)(nil)

// DeleteSubjectKeysThen implements vault.StagedDeleter: DeleteSubjectKeys,
// calling deleted between the commit and the checkpoint.
func (k *Keys) DeleteSubjectKeysThen(ctx context.Context, subjects []garde.SubjectID, deleted func()) error {
	tx, err := k.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: delete subject keys: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, qkDeleteKey)
	if err != nil {
		return fmt.Errorf("store: delete subject keys: %w", err)
	}
	defer stmt.Close()
	for _, s := range subjects {
		if _, err := stmt.ExecContext(ctx, string(s)); err != nil {
			return fmt.Errorf("store: delete key of %s: %w", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: delete subject keys: %w", err)
	}
	if deleted != nil {
		deleted()
	}
	// checked and retried (truncateLog): a reader holding an old snapshot
	// makes a TRUNCATE checkpoint stop short without an error
	if err := truncateLog(ctx, k.db); err != nil {
		return fmt.Errorf("store: checkpoint key database: %w", err)
	}
	return nil
}

// Rewrap implements vault.KeyStore: one transaction on the writer, keys read
// rewrapChunk at a time in subject order, then a checkpoint so that the
// values wrapped under the old master key leave the write-ahead log.
func (k *Keys) Rewrap(ctx context.Context, from vault.MasterKeyID, root vault.Root, fn func(vault.WrappedKey) (vault.WrappedKey, error)) error {
	tx, err := k.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: rewrap keys: %w", err)
	}
	defer tx.Rollback()
	current, err := rootMasterID(ctx, tx)
	if err != nil {
		return err
	}
	if current != from {
		return fmt.Errorf("store: rewrap from %s, root under %s: %w", from, current, vault.ErrMasterMismatch)
	}
	update, err := tx.PrepareContext(ctx, qkRewrapKey)
	if err != nil {
		return fmt.Errorf("store: rewrap keys: %w", err)
	}
	defer update.Close()
	after := ""
	for {
		chunk, err := keysAfter(ctx, tx, after, rewrapChunk)
		if err != nil {
			return err
		}
		for _, old := range chunk {
			nk, err := fn(old)
			if err != nil {
				return err
			}
			if nk.Subject != old.Subject {
				return fmt.Errorf("store: rewrap of %s returned the key of another subject", old.Subject)
			}
			if _, err := update.ExecContext(ctx, nk.Wrapped, nk.MasterID[:], string(nk.Subject)); err != nil {
				return fmt.Errorf("store: rewrap key of %s: %w", old.Subject, err)
			}
		}
		if len(chunk) < rewrapChunk {
			break
		}
		after = string(chunk[len(chunk)-1].Subject)
	}
	if _, err := tx.ExecContext(ctx, qkUpdateRoot, root.Wrapped, root.MasterID[:], root.Created.UnixMilli()); err != nil {
		return fmt.Errorf("store: rewrap vault root: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: rewrap keys: %w", err)
	}
	if err := truncateLog(ctx, k.db); err != nil {
		return fmt.Errorf("store: checkpoint key database: %w", err)
	}
	return nil
}

// keysAfter reads at most n keys whose subject sorts after the given one.
func keysAfter(ctx context.Context, tx *sql.Tx, after string, n int) ([]vault.WrappedKey, error) {
	rows, err := tx.QueryContext(ctx, qkKeysAfter, after, n)
	if err != nil {
		return nil, fmt.Errorf("store: read subject keys: %w", err)
	}
	defer rows.Close()
	keys := make([]vault.WrappedKey, 0, n)
	for rows.Next() {
		var wk vault.WrappedKey
		var s string
		var id []byte
		var created int64
		if err := rows.Scan(&s, &wk.Wrapped, &id, &created); err != nil {
			return nil, fmt.Errorf("store: read subject keys: %w", err)
		}
		if wk.MasterID, err = keyMasterID(id); err != nil {
			return nil, fmt.Errorf("store: read key of %s: %w", s, err)
		}
		wk.Subject, wk.Created = garde.SubjectID(s), time.UnixMilli(created).UTC()
		keys = append(keys, wk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read subject keys: %w", err)
	}
	return keys, nil
}

// rootMaster returns, inside tx, the id of the master key the root is
// wrapped under.
func rootMasterID(ctx context.Context, tx *sql.Tx) (vault.MasterKeyID, error) {
	var id []byte
	err := tx.QueryRowContext(ctx, qkRootMaster).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.MasterKeyID{}, fmt.Errorf("store: no vault root: %w", vault.ErrMasterMismatch)
	}
	if err != nil {
		return vault.MasterKeyID{}, fmt.Errorf("store: find vault root: %w", err)
	}
	return keyMasterID(id)
}

func keyMasterID(b []byte) (vault.MasterKeyID, error) {
	var id vault.MasterKeyID
	if len(b) != len(id) {
		return id, fmt.Errorf("master key id of %d bytes, want %d", len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}
