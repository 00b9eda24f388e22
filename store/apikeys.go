package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

// APIKeys keeps API keys (hashes only).
type APIKeys struct{ db *DB }

// NewAPIKeys returns the API key store over the data database.
func NewAPIKeys(db *DB) *APIKeys { return &APIKeys{db: db} }

var _ access.KeyAdmin = (*APIKeys)(nil)

func (s *APIKeys) CreateAPIKey(ctx context.Context, k *access.APIKey, hash []byte) error {
	_, err := s.db.writer.ExecContext(ctx, `INSERT INTO api_keys (id, hash, name, role, purposes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, hash, k.Name, k.Role, strings.Join(k.Purposes, ","), ms(k.CreatedAt), optionalMS(k.ExpiresAt))
	return err
}

const apiKeyColumns = `id, name, role, purposes, created_at, expires_at, last_used_at`

func (s *APIKeys) FindAPIKeyByHash(ctx context.Context, hash []byte, now time.Time) (*access.APIKey, error) {
	k, err := scanAPIKey(s.db.reader.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such API key")
	}
	return k, err
}

func (s *APIKeys) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	_, err := s.db.writer.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, ms(now), id)
	return err
}

func (s *APIKeys) FindAPIKeys(ctx context.Context) ([]*access.APIKey, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []*access.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

func (s *APIKeys) DeleteAPIKey(ctx context.Context, id string) error {
	res, err := s.db.writer.ExecContext(ctx, `DELETE FROM api_keys WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return garde.Errorf(garde.ENotFound, "no such API key")
	}
	return nil
}

type scannable interface{ Scan(dest ...any) error }

func scanAPIKey(row scannable) (*access.APIKey, error) {
	var k access.APIKey
	var purposes string
	var created int64
	var expires, used sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.Role, &purposes, &created, &expires, &used); err != nil {
		return nil, err
	}
	if purposes != "" {
		k.Purposes = strings.Split(purposes, ",")
	}
	k.CreatedAt = fromMS(created)
	k.ExpiresAt = fromOptionalMS(expires)
	k.LastUsedAt = fromOptionalMS(used)
	return &k, nil
}

// optionalMS stores a zero time as NULL.
func optionalMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

func fromOptionalMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}
