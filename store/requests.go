package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
)

// Requests keeps data-subject requests and their histories
// (rights.Store) in the data database.
type Requests struct{ db *DB }

// NewRequests returns the request store over the data database.
func NewRequests(db *DB) *Requests { return &Requests{db: db} }

var _ rights.Store = (*Requests)(nil)

const (
	requestColumns = `id, type, jurisdiction, subject_id, state, received, verified, confirm_by, due_by,
		extended_due_by, extend_notice_by, extended, extension_reason, refusal_reason, paused, paused_for, steps`
	qCreateRequest = `INSERT INTO requests (id, type, jurisdiction, subject_id, state, received, verified, confirm_by,
		due_by, extended_due_by, extend_notice_by, deadline, extended, extension_reason, refusal_reason, paused,
		paused_for, steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateRequest = `UPDATE requests SET subject_id = ?, state = ?, verified = ?, confirm_by = ?, due_by = ?,
		extended_due_by = ?, extend_notice_by = ?, deadline = ?, extended = ?, extension_reason = ?,
		refusal_reason = ?, paused = ?, paused_for = ?, steps = ?
		WHERE id = ? AND steps = ?`
	qCreateRequestStep = `INSERT INTO request_history (request_id, seq, from_state, to_state, at, reason)
		VALUES (?, ?, ?, ?, ?, ?)`
	qRequestHistory = `SELECT request_id, from_state, to_state, at, reason FROM request_history
		WHERE request_id IN (%s) ORDER BY request_id, seq`
)

// requestChunk bounds the ids of one history query.
const requestChunk = 500

func (s *Requests) CreateRequest(ctx context.Context, r *rights.Request) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, qCreateRequest, r.ID, string(r.Type), string(r.Jurisdiction), string(r.Subject),
			string(r.State), r.Received.UnixNano(), optionalNS(r.Verified), optionalNS(r.ConfirmBy),
			optionalNS(r.DueBy), optionalNS(r.ExtendedDueBy), optionalNS(r.ExtendNoticeBy), optionalNS(r.Deadline()),
			r.Extended, r.ExtensionReason, r.RefusalReason, r.Paused, int64(r.PausedFor), len(r.History))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed") {
				return garde.Errorf(garde.EConflict, "request %s already exists", r.ID)
			}
			return fmt.Errorf("create request: %w", err)
		}
		for i, h := range r.History {
			if err := createRequestStep(ctx, tx, r.ID, i, h); err != nil {
				return err
			}
		}
		return nil
	})
}

func createRequestStep(ctx context.Context, tx *sql.Tx, id string, seq int, h rights.Transition) error {
	if _, err := tx.ExecContext(ctx, qCreateRequestStep, id, seq, string(h.From), string(h.To), h.At.UnixNano(),
		h.Reason); err != nil {
		return fmt.Errorf("create request history: %w", err)
	}
	return nil
}

func (s *Requests) UpdateRequest(ctx context.Context, r *rights.Request) error {
	n := len(r.History)
	if n < 2 {
		return garde.Errorf(garde.EInvalid, "request %s: an update saves one new step", r.ID)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qUpdateRequest, string(r.Subject), string(r.State), optionalNS(r.Verified),
			optionalNS(r.ConfirmBy), optionalNS(r.DueBy), optionalNS(r.ExtendedDueBy), optionalNS(r.ExtendNoticeBy),
			optionalNS(r.Deadline()), r.Extended, r.ExtensionReason, r.RefusalReason, r.Paused, int64(r.PausedFor), n,
			r.ID, n-1)
		if err != nil {
			return fmt.Errorf("update request: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update request: %w", err)
		} else if k == 0 {
			var steps int
			err := tx.QueryRowContext(ctx, `SELECT steps FROM requests WHERE id = ?`, r.ID).Scan(&steps)
			if errors.Is(err, sql.ErrNoRows) {
				return garde.Errorf(garde.ENotFound, "no request %s", r.ID)
			}
			if err != nil {
				return fmt.Errorf("update request: %w", err)
			}
			return garde.Errorf(garde.EConflict, "request %s was changed meanwhile: read it again", r.ID)
		}
		return createRequestStep(ctx, tx, r.ID, n-1, r.History[n-1])
	})
}

func (s *Requests) FindRequestByID(ctx context.Context, id string) (rights.Request, error) {
	rs, err := s.find(ctx, `SELECT `+requestColumns+` FROM requests WHERE id = ?`, id)
	if err != nil {
		return rights.Request{}, err
	}
	if len(rs) == 0 {
		return rights.Request{}, garde.Errorf(garde.ENotFound, "no request %s", id)
	}
	return rs[0], nil
}

func (s *Requests) FindRequests(ctx context.Context, f rights.Filter) ([]rights.Request, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + requestColumns + ` FROM requests WHERE 1 = 1`)
	var args []any
	if len(f.States) > 0 {
		q.WriteString(` AND state IN (` + placeholders(len(f.States)) + `)`)
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if len(f.Types) > 0 {
		q.WriteString(` AND type IN (` + placeholders(len(f.Types)) + `)`)
		for _, t := range f.Types {
			args = append(args, string(t))
		}
	}
	if f.Jurisdiction != "" {
		q.WriteString(` AND jurisdiction = ?`)
		args = append(args, string(f.Jurisdiction))
	}
	if f.Subject != "" {
		q.WriteString(` AND subject_id = ?`)
		args = append(args, string(f.Subject))
	}
	if !f.OverdueAt.IsZero() {
		q.WriteString(` AND state NOT IN (?, ?) AND NOT (paused = 1 AND state = ?) AND deadline < ?`)
		args = append(args, string(rights.StateCompleted), string(rights.StateRefused), string(rights.StateReceived),
			f.OverdueAt.UnixNano())
	}
	q.WriteString(` ORDER BY received, id`)
	if f.Limit > 0 {
		q.WriteString(` LIMIT ?`)
		args = append(args, f.Limit)
	}
	return s.find(ctx, q.String(), args...)
}

// find runs a request query and loads the histories, in one read
// transaction so that both agree.
func (s *Requests) find(ctx context.Context, query string, args ...any) ([]rights.Request, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("find requests: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find requests: %w", err)
	}
	var rs []rights.Request
	at := map[string]int{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("find requests: %w", err)
		}
		at[r.ID] = len(rs)
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find requests: %w", err)
	}
	for i := 0; i < len(rs); i += requestChunk {
		chunk := rs[i:min(i+requestChunk, len(rs))]
		ids := make([]any, len(chunk))
		for j, r := range chunk {
			ids[j] = r.ID
		}
		if err := loadRequestHistory(ctx, tx, ids, func(id string, h rights.Transition) {
			r := &rs[at[id]]
			r.History = append(r.History, h)
		}); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

func loadRequestHistory(ctx context.Context, tx *sql.Tx, ids []any, fn func(string, rights.Transition)) error {
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(qRequestHistory, placeholders(len(ids))), ids...)
	if err != nil {
		return fmt.Errorf("find request history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, from, to string
		var at int64
		var h rights.Transition
		if err := rows.Scan(&id, &from, &to, &at, &h.Reason); err != nil {
			return fmt.Errorf("find request history: %w", err)
		}
		h.From, h.To, h.At = rights.State(from), rights.State(to), nsTime(at)
		fn(id, h)
	}
	return rows.Err()
}

func scanRequest(row scannable) (rights.Request, error) {
	var r rights.Request
	var typ, jur, subject, state string
	var received, pausedFor int64
	var verified, confirm, due, extDue, notice sql.NullInt64
	var steps int
	if err := row.Scan(&r.ID, &typ, &jur, &subject, &state, &received, &verified, &confirm, &due, &extDue, &notice,
		&r.Extended, &r.ExtensionReason, &r.RefusalReason, &r.Paused, &pausedFor, &steps); err != nil {
		return rights.Request{}, err
	}
	r.Type, r.Jurisdiction, r.Subject, r.State = rights.Type(typ), rights.Jurisdiction(jur), garde.SubjectID(subject), rights.State(state)
	r.Received, r.Verified = nsTime(received), fromOptionalNS(verified)
	r.ConfirmBy, r.DueBy, r.ExtendedDueBy, r.ExtendNoticeBy = fromOptionalNS(confirm), fromOptionalNS(due),
		fromOptionalNS(extDue), fromOptionalNS(notice)
	r.PausedFor = time.Duration(pausedFor)
	r.History = make([]rights.Transition, 0, steps)
	return r, nil
}

// write runs fn in a write transaction, committed if fn succeeds.
func (s *Requests) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Request times are kept to the nanosecond: a deadline is the last
// nanosecond of its day.
func nsTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func optionalNS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromOptionalNS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return nsTime(v.Int64)
}

// SetRequestOutcome implements rights.OutcomeStore: it keeps (or replaces)
// the sealed outcome of a request; ENotFound if there is no such request.
func (s *Requests) SetRequestOutcome(ctx context.Context, id string, sealed []byte) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO request_outcomes (request_id, sealed) VALUES (?, ?)
			ON CONFLICT (request_id) DO UPDATE SET sealed = excluded.sealed`, id, sealed)
		return err
	})
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
		return garde.Errorf(garde.ENotFound, "no such request")
	}
	return err
}

// FindRequestOutcome implements rights.OutcomeStore.
func (s *Requests) FindRequestOutcome(ctx context.Context, id string) ([]byte, error) {
	var sealed []byte
	err := s.db.reader.QueryRowContext(ctx, `SELECT sealed FROM request_outcomes WHERE request_id = ?`, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return sealed, err
}
