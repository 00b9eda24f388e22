package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/garde-privacy/garde/vault"
)

// Keys keeps the vault's signing keys too (vault.SigningKeyStore), in table
// signing_keys of the key database: public keys in clear, private seeds only
// wrapped. At most one key per use is current (retired_at IS NULL), which a
// partial unique index enforces across processes.
var _ vault.SigningKeyStore = (*Keys)(nil)

const (
	qkFindSigning = `SELECT kid, generation, public_key, wrapped, created_at, retired_at FROM signing_keys
		WHERE key_use = ? ORDER BY generation DESC`
	qkCountSigning  = `SELECT count(*) FROM signing_keys WHERE key_use = ?`
	qkCreateSigning = `INSERT INTO signing_keys (kid, key_use, generation, public_key, wrapped, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	qkRetireSigning = `UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND key_use = ? AND retired_at IS NULL`
)

// FindSigningKeys implements vault.SigningKeyStore.
func (k *Keys) FindSigningKeys(ctx context.Context, use string) ([]vault.WrappedSigningKey, error) {
	rows, err := k.db.Reader().QueryContext(ctx, qkFindSigning, use)
	if err != nil {
		return nil, fmt.Errorf("store: find %s signing keys: %w", use, err)
	}
	defer rows.Close()
	var keys []vault.WrappedSigningKey
	for rows.Next() {
		wk := vault.WrappedSigningKey{Use: use}
		var created int64
		var retired sql.NullInt64
		if err := rows.Scan(&wk.ID, &wk.Generation, &wk.Public, &wk.Wrapped, &created, &retired); err != nil {
			return nil, fmt.Errorf("store: read %s signing keys: %w", use, err)
		}
		wk.Created = time.UnixMilli(created).UTC()
		if retired.Valid {
			wk.Retired = time.UnixMilli(retired.Int64).UTC()
		}
		keys = append(keys, wk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read %s signing keys: %w", use, err)
	}
	return keys, nil
}

// CreateSigningKey implements vault.SigningKeyStore: the check and the insert
// share one (immediate, so write-locked) transaction.
func (k *Keys) CreateSigningKey(ctx context.Context, wk vault.WrappedSigningKey) (bool, error) {
	if !wk.Retired.IsZero() {
		return false, fmt.Errorf("store: create %s signing key %s: a new key cannot be retired", wk.Use, wk.ID)
	}
	tx, err := k.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: create %s signing key: %w", wk.Use, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, qkCountSigning, wk.Use).Scan(&n); err != nil {
		return false, fmt.Errorf("store: create %s signing key: %w", wk.Use, err)
	}
	if n > 0 {
		return false, nil
	}
	if err := insertSigningKey(ctx, tx, wk); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: create %s signing key: %w", wk.Use, err)
	}
	return true, nil
}

// RotateSigningKey implements vault.SigningKeyStore.
func (k *Keys) RotateSigningKey(ctx context.Context, from string, wk vault.WrappedSigningKey) error {
	if !wk.Retired.IsZero() {
		return fmt.Errorf("store: rotate to %s signing key %s: a new key cannot be retired", wk.Use, wk.ID)
	}
	tx, err := k.db.Writer().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: rotate %s signing key: %w", wk.Use, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, qkRetireSigning, wk.Created.UnixMilli(), from, wk.Use)
	if err != nil {
		return fmt.Errorf("store: retire %s signing key %s: %w", wk.Use, from, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: retire %s signing key %s: %w", wk.Use, from, err)
	} else if n != 1 {
		return fmt.Errorf("store: %s signing key %s is not current: %w", wk.Use, from, vault.ErrSigningKeyRotated)
	}
	if err := insertSigningKey(ctx, tx, wk); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: rotate %s signing key: %w", wk.Use, err)
	}
	return nil
}

func insertSigningKey(ctx context.Context, tx *sql.Tx, wk vault.WrappedSigningKey) error {
	_, err := tx.ExecContext(ctx, qkCreateSigning, wk.ID, wk.Use, wk.Generation, wk.Public, wk.Wrapped, wk.Created.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: create %s signing key %s: %w", wk.Use, wk.ID, err)
	}
	return nil
}
