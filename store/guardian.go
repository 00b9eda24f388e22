package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
)

// Guardians keeps the guardian requests of the consent flow for minors
// (consent.GuardianStore). Writes run in the collection writer's
// transaction; a request holds no e-mail address, only its salted hash.
type Guardians struct{ db *DB }

// NewGuardians returns the guardian requests of db.
func NewGuardians(db *DB) *Guardians { return &Guardians{db: db} }

var _ consent.GuardianStore = (*Guardians)(nil)

const (
	qCreateGuardian = `INSERT INTO guardian_requests (id, subject_id, request, status, created_at, expires_at, guardian_hash, lang)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qPendingGuardians = `SELECT count(*) FROM guardian_requests WHERE subject_id = ? AND status = 'pending' AND expires_at > ?`
	qFindGuardian     = `SELECT id, subject_id, request, status, created_at, expires_at, decided_at, guardian_hash, lang, decision
		FROM guardian_requests WHERE id = ?`
	// the condition on status is what makes a replayed link lose
	qMarkGuardian = `UPDATE guardian_requests SET status = ?, decided_at = ?, decision = ? WHERE id = ? AND status = 'pending'`
)

// sqlTx returns the SQL transaction under a collection writer's tx.
func sqlTx(tx collect.Tx) *sql.Tx { return tx.(*collectTx).tx }

// CreateGuardianRequest stores r inside the writer's transaction.
func (g *Guardians) CreateGuardianRequest(ctx context.Context, tx collect.Tx, r *consent.GuardianRequest) error {
	ask, err := json.Marshal(r.Ask)
	if err != nil {
		return err
	}
	_, err = sqlTx(tx).ExecContext(ctx, qCreateGuardian, r.ID, string(r.Subject), string(ask), r.Status,
		ms(r.Created), ms(r.Expires), r.GuardianHash, r.Lang)
	return err
}

// CountPendingGuardianRequests counts s's pending, unexpired requests.
func (g *Guardians) CountPendingGuardianRequests(ctx context.Context, tx collect.Tx, s garde.SubjectID, now time.Time) (int, error) {
	var n int
	err := sqlTx(tx).QueryRowContext(ctx, qPendingGuardians, string(s), ms(now)).Scan(&n)
	return n, err
}

// FindGuardianRequest returns the request id.
func (g *Guardians) FindGuardianRequest(ctx context.Context, id string) (*consent.GuardianRequest, error) {
	var r consent.GuardianRequest
	var subject, ask string
	var created, expires int64
	var decided sql.NullInt64
	var decision sql.NullString
	err := g.db.reader.QueryRowContext(ctx, qFindGuardian, id).Scan(&r.ID, &subject, &ask, &r.Status, &created, &expires,
		&decided, &r.GuardianHash, &r.Lang, &decision)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such guardian request")
	}
	if err != nil {
		return nil, err
	}
	r.Subject, r.Created, r.Expires = garde.SubjectID(subject), msTime(created), msTime(expires)
	if err := json.Unmarshal([]byte(ask), &r.Ask); err != nil {
		return nil, garde.Wrap(garde.EInternal, err, fmt.Sprintf("guardian request %s is not readable", r.ID))
	}
	if decided.Valid {
		r.Decided = msTime(decided.Int64)
	}
	if decision.Valid {
		r.Decision = &consent.GuardianDecision{}
		if err := json.Unmarshal([]byte(decision.String), r.Decision); err != nil {
			return nil, garde.Wrap(garde.EInternal, err, fmt.Sprintf("guardian request %s is not readable", r.ID))
		}
	}
	return &r, nil
}

// MarkGuardianRequest closes a pending request; it reports false, and
// changes nothing, when the request is not pending (or does not exist).
func (g *Guardians) MarkGuardianRequest(ctx context.Context, tx collect.Tx, id, status string, at time.Time, d *consent.GuardianDecision) (bool, error) {
	var decision any // NULL without an answer
	if d != nil {
		b, err := json.Marshal(d)
		if err != nil {
			return false, err
		}
		decision = string(b)
	}
	res, err := sqlTx(tx).ExecContext(ctx, qMarkGuardian, status, ms(at), decision, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
