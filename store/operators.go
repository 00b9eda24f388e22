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

// Operators keeps console operators, their sessions and training records.
// It stores what access hands it: password hashes, sealed TOTP secrets,
// hashed recovery codes and session tokens.
type Operators struct{ db *DB }

// NewOperators returns the operator store over the data database.
func NewOperators(db *DB) *Operators { return &Operators{db: db} }

var _ access.OperatorStore = (*Operators)(nil)

const operatorColumns = `id, email, name, role, password_hash, password_changed_at, totp_sealed, totp_last_step,
	mfa_enabled, recovery_codes, failed_logins, locked_until, created_at, disabled`

func (s *Operators) CreateOperator(ctx context.Context, o *access.Operator) error {
	_, err := s.db.writer.ExecContext(ctx, `INSERT INTO operators (`+operatorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Email, o.Name, o.Role, o.PasswordHash, ms(o.PasswordChanged), o.TOTPSealed, o.TOTPLastStep,
		o.MFAEnabled, strings.Join(o.RecoveryCodes, " "), o.FailedLogins, optionalMS(o.LockedUntil), ms(o.Created), o.Disabled)
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return garde.Errorf(garde.EConflict, "an operator with that email already exists")
	}
	return err
}

func (s *Operators) FindOperatorByID(ctx context.Context, id string) (*access.Operator, error) {
	return s.findOperator(ctx, `id = ?`, id)
}

func (s *Operators) FindOperatorByEmail(ctx context.Context, email string) (*access.Operator, error) {
	return s.findOperator(ctx, `email = ?`, email)
}

func (s *Operators) findOperator(ctx context.Context, where string, arg string) (*access.Operator, error) {
	o, err := scanOperator(s.db.reader.QueryRowContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such operator")
	}
	return o, err
}

func (s *Operators) FindOperators(ctx context.Context) ([]*access.Operator, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT `+operatorColumns+` FROM operators ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ops []*access.Operator
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o)
	}
	return ops, rows.Err()
}

func (s *Operators) CountOperators(ctx context.Context, role string) (int, error) {
	var n int
	err := s.db.reader.QueryRowContext(ctx, `SELECT count(*) FROM operators WHERE role = ?`, role).Scan(&n)
	return n, err
}

func (s *Operators) UpdateOperator(ctx context.Context, o *access.Operator) error {
	res, err := s.db.writer.ExecContext(ctx, `UPDATE operators SET email = ?, name = ?, role = ?, password_hash = ?,
		password_changed_at = ?, totp_sealed = ?, totp_last_step = ?, mfa_enabled = ?, recovery_codes = ?,
		failed_logins = ?, locked_until = ?, disabled = ? WHERE id = ?`,
		o.Email, o.Name, o.Role, o.PasswordHash, ms(o.PasswordChanged), o.TOTPSealed, o.TOTPLastStep, o.MFAEnabled,
		strings.Join(o.RecoveryCodes, " "), o.FailedLogins, optionalMS(o.LockedUntil), o.Disabled, o.ID)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return garde.Errorf(garde.EConflict, "an operator with that email already exists")
		}
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return garde.Errorf(garde.ENotFound, "no such operator")
	}
	return nil
}

func scanOperator(row scannable) (*access.Operator, error) {
	var o access.Operator
	var changed, created int64
	var locked sql.NullInt64
	var codes string
	if err := row.Scan(&o.ID, &o.Email, &o.Name, &o.Role, &o.PasswordHash, &changed, &o.TOTPSealed, &o.TOTPLastStep,
		&o.MFAEnabled, &codes, &o.FailedLogins, &locked, &created, &o.Disabled); err != nil {
		return nil, err
	}
	o.PasswordChanged, o.Created, o.LockedUntil = fromMS(changed), fromMS(created), fromOptionalMS(locked)
	if codes != "" {
		o.RecoveryCodes = strings.Fields(codes)
	}
	return &o, nil
}

const sessionColumns = `id, operator_id, token_hash, mfa, enrol_only, created_at, last_seen_at, expires_at`

func (s *Operators) CreateSession(ctx context.Context, ses *access.Session) error {
	_, err := s.db.writer.ExecContext(ctx, `INSERT INTO operator_sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		ses.ID, ses.OperatorID, ses.TokenHash, ses.MFA, ses.EnrolOnly, ms(ses.Created), ms(ses.LastSeen), ms(ses.Expires))
	return err
}

func (s *Operators) FindSession(ctx context.Context, tokenHash []byte) (*access.Session, error) {
	var ses access.Session
	var created, seen, expires int64
	err := s.db.reader.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM operator_sessions WHERE token_hash = ?`, tokenHash).
		Scan(&ses.ID, &ses.OperatorID, &ses.TokenHash, &ses.MFA, &ses.EnrolOnly, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such session")
	}
	if err != nil {
		return nil, err
	}
	ses.Created, ses.LastSeen, ses.Expires = fromMS(created), fromMS(seen), fromMS(expires)
	return &ses, nil
}

func (s *Operators) TouchSession(ctx context.Context, id string, seen time.Time) error {
	_, err := s.db.writer.ExecContext(ctx, `UPDATE operator_sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?`, ms(seen), id)
	return err
}

func (s *Operators) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.writer.ExecContext(ctx, `DELETE FROM operator_sessions WHERE id = ?`, id)
	return err
}

func (s *Operators) DeleteOperatorSessions(ctx context.Context, operatorID string) error {
	_, err := s.db.writer.ExecContext(ctx, `DELETE FROM operator_sessions WHERE operator_id = ?`, operatorID)
	return err
}

func (s *Operators) DeleteStaleSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	res, err := s.db.writer.ExecContext(ctx, `DELETE FROM operator_sessions WHERE expires_at <= ? OR last_seen_at <= ?`, ms(now), ms(idleBefore))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *Operators) CreateTraining(ctx context.Context, t access.Training) error {
	_, err := s.db.writer.ExecContext(ctx, `INSERT INTO trainings (operator_id, course, completed_at, valid_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (operator_id, course, completed_at) DO UPDATE SET valid_until = excluded.valid_until`,
		t.OperatorID, t.Course, ms(t.CompletedAt), ms(t.ValidUntil))
	return err
}

func (s *Operators) FindTrainings(ctx context.Context, operatorID string) ([]access.Training, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT course, completed_at, valid_until FROM trainings WHERE operator_id = ? ORDER BY completed_at, course`, operatorID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []access.Training
	for rows.Next() {
		t := access.Training{OperatorID: operatorID}
		var done, until int64
		if err := rows.Scan(&t.Course, &done, &until); err != nil {
			return nil, err
		}
		t.CompletedAt, t.ValidUntil = fromMS(done), fromMS(until)
		ts = append(ts, t)
	}
	return ts, rows.Err()
}
