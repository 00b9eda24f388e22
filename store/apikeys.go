package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

// APIKeys keeps operator API keys (hashes only).
type APIKeys struct{ db *DB }

// NewAPIKeys returns the API key store over the data database.
func NewAPIKeys(db *DB) *APIKeys { return &APIKeys{db: db} }

func (s *APIKeys) CreateAPIKey(ctx context.Context, k *access.APIKey, hash []byte) error {
	var expires any
	if !k.ExpiresAt.IsZero() {
		expires = ms(k.ExpiresAt)
	}
	_, err := s.db.writer.ExecContext(ctx, `INSERT INTO api_keys (id, hash, name, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, hash, k.Name, k.Role, ms(k.CreatedAt), expires)
	return err
}

func (s *APIKeys) FindAPIKeyByHash(ctx context.Context, hash []byte, now time.Time) (*access.APIKey, error) {
	var k access.APIKey
	var created int64
	var expires sql.NullInt64
	err := s.db.reader.QueryRowContext(ctx, `SELECT id, name, role, created_at, expires_at FROM api_keys WHERE hash = ?`, hash).
		Scan(&k.ID, &k.Name, &k.Role, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such API key")
	}
	if err != nil {
		return nil, err
	}
	k.CreatedAt = fromMS(created)
	if expires.Valid {
		k.ExpiresAt = fromMS(expires.Int64)
	}
	return &k, nil
}
