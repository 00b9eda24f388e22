package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/verify"
)

// Verifications keeps what identity verification needs in the data
// database: one-time codes and rate-limit events (verify.CodeStore), and
// the site tokens already used (verify.TokenStore). Every change is one
// transaction on the single writer connection, so that concurrent checks
// are serialised: no two pass a limit or count the same attempt.
type Verifications struct{ db *DB }

// NewVerifications returns the verification store over the data database.
func NewVerifications(db *DB) *Verifications { return &Verifications{db: db} }

var (
	_ verify.CodeStore  = (*Verifications)(nil)
	_ verify.TokenStore = (*Verifications)(nil)
)

const (
	qFindVerificationCode = `SELECT code_hash, identity, created_at, expires_at, attempts, consumed
		FROM verification_codes WHERE request_id = ?`
	qSaveVerificationCode = `INSERT INTO verification_codes (request_id, code_hash, identity, created_at, expires_at, attempts, consumed)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (request_id) DO UPDATE SET code_hash = excluded.code_hash, identity = excluded.identity,
		created_at = excluded.created_at, expires_at = excluded.expires_at, attempts = excluded.attempts,
		consumed = excluded.consumed`
	qCountVerificationEvents = `SELECT count(*) FROM verification_events WHERE kind = ? AND key_hash = ? AND at >= ?`
	qCreateVerificationEvent = `INSERT INTO verification_events (kind, key_hash, at) VALUES (?, ?, ?)`
	qPruneVerificationEvents = `DELETE FROM verification_events WHERE at < ?`
	qPruneVerificationCodes  = `DELETE FROM verification_codes WHERE expires_at < ?`
	qPruneVerificationTokens = `DELETE FROM verification_tokens WHERE expires_at < ?`
	qRememberToken           = `INSERT INTO verification_tokens (id_hash, expires_at) VALUES (?, ?) ON CONFLICT (id_hash) DO NOTHING`
)

// UpdateCodes implements verify.CodeStore: fn runs in one write
// transaction, committed if fn returns nil.
func (s *Verifications) UpdateCodes(ctx context.Context, fn func(verify.CodeTx) error) error {
	tx, err := s.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("verification codes: %w", err)
	}
	if err := fn(codeTx{tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("verification codes: %w", err)
	}
	return nil
}

// codeTx is verify.CodeTx over one write transaction.
type codeTx struct{ tx *sql.Tx }

func (t codeTx) FindCode(ctx context.Context, requestID string) (verify.Code, error) {
	c := verify.Code{RequestID: requestID}
	var created, expires int64
	err := t.tx.QueryRowContext(ctx, qFindVerificationCode, requestID).
		Scan(&c.Hash, &c.Identity, &created, &expires, &c.Attempts, &c.Consumed)
	if errors.Is(err, sql.ErrNoRows) {
		return verify.Code{}, garde.Errorf(garde.ENotFound, "no code for this request")
	}
	if err != nil {
		return verify.Code{}, fmt.Errorf("find code: %w", err)
	}
	if len(c.Identity) == 0 {
		c.Identity = nil
	}
	c.Created, c.Expires = nsTime(created), nsTime(expires)
	return c, nil
}

func (t codeTx) SaveCode(ctx context.Context, c verify.Code) error {
	identity := c.Identity
	if identity == nil {
		identity = []byte{} // NOT NULL: empty once used
	}
	if _, err := t.tx.ExecContext(ctx, qSaveVerificationCode, c.RequestID, c.Hash, identity, c.Created.UnixNano(),
		c.Expires.UnixNano(), c.Attempts, c.Consumed); err != nil {
		return fmt.Errorf("save code: %w", err)
	}
	return nil
}

func (t codeTx) CountEvents(ctx context.Context, kind string, key []byte, since time.Time) (int, error) {
	var n int
	if err := t.tx.QueryRowContext(ctx, qCountVerificationEvents, kind, key, since.UnixNano()).Scan(&n); err != nil {
		return 0, fmt.Errorf("count verification events: %w", err)
	}
	return n, nil
}

func (t codeTx) CreateEvent(ctx context.Context, kind string, key []byte, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, qCreateVerificationEvent, kind, key, at.UnixNano()); err != nil {
		return fmt.Errorf("create verification event: %w", err)
	}
	return nil
}

func (t codeTx) DeleteBefore(ctx context.Context, before time.Time) error {
	for _, q := range []string{qPruneVerificationEvents, qPruneVerificationCodes} {
		if _, err := t.tx.ExecContext(ctx, q, before.UnixNano()); err != nil {
			return fmt.Errorf("prune verifications: %w", err)
		}
	}
	return nil
}

// RememberToken implements verify.TokenStore: in one write transaction it
// forgets the tokens expired before now and records id, or answers
// EConflict if id is still remembered.
func (s *Verifications) RememberToken(ctx context.Context, id []byte, expires, now time.Time) error {
	if len(id) == 0 {
		return garde.Errorf(garde.EInvalid, "empty token id")
	}
	tx, err := s.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remember token: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qPruneVerificationTokens, now.UnixNano()); err != nil {
		return fmt.Errorf("remember token: %w", err)
	}
	res, err := tx.ExecContext(ctx, qRememberToken, id, expires.UnixNano())
	if err != nil {
		return fmt.Errorf("remember token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("remember token: %w", err)
	} else if n == 0 {
		return garde.Errorf(garde.EConflict, "token already used")
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remember token: %w", err)
	}
	return nil
}
