package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
)

// Erase is the eraser's view of the data database (rights.EraseStore): the
// only store that deletes a person. Only the rights worker and the CLI's
// erase verb get one.
type Erase struct{ db *DB }

// NewErase returns the erasure store over the data database.
func NewErase(db *DB) *Erase { return &Erase{db: db} }

var _ rights.EraseStore = (*Erase)(nil)

// eraseChunk bounds the subject ids of one IN (…) list.
const eraseChunk = 500

const (
	qeCanonical    = `SELECT COALESCE(merged_into, id) FROM subjects WHERE id = ?`
	qeExists       = `SELECT 1 FROM subjects WHERE id = ? AND merged_into IS NULL`
	qeMembers      = `SELECT id FROM subjects WHERE merged_into = ? ORDER BY created_at, id`
	qeEvents       = `SELECT type, name, properties, context, sealed FROM events WHERE subject_id IN (%s)`
	qeTraits       = `SELECT name, category FROM traits WHERE subject_id IN (%s)`
	qeIdentities   = `SELECT kind, hash FROM identities WHERE subject_id IN (%s)`
	qeDelEvents    = `DELETE FROM events WHERE subject_id IN (%s)`
	qeDelTraits    = `DELETE FROM traits WHERE subject_id IN (%s)`
	qeDelIdent     = `DELETE FROM identities WHERE subject_id IN (%s)`
	qeDelGuardian  = `DELETE FROM guardian_requests WHERE subject_id IN (%s) AND status = 'pending'`
	qeDelSubjects  = `DELETE FROM subjects WHERE id IN (%s)`
	qeSuppress     = `INSERT INTO suppressions (hash, created_at) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING`
	qeSuppressed   = `SELECT 1 FROM suppressions WHERE hash = ?`
	qeCreateOutbox = `INSERT INTO outbox (topic, subject_id, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id`
)

// FindMembers implements rights.EraseStore.
func (e *Erase) FindMembers(ctx context.Context, s garde.SubjectID) ([]garde.SubjectID, error) {
	var canonical string
	err := e.db.reader.QueryRowContext(ctx, qeCanonical, string(s)).Scan(&canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such subject")
	}
	if err != nil {
		return nil, fmt.Errorf("store: find members of %s: %w", s, err)
	}
	return members(ctx, e.db.reader, garde.SubjectID(canonical))
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func members(ctx context.Context, q querier, canonical garde.SubjectID) ([]garde.SubjectID, error) {
	rows, err := q.QueryContext(ctx, qeMembers, string(canonical))
	if err != nil {
		return nil, fmt.Errorf("store: find members of %s: %w", canonical, err)
	}
	defer rows.Close()
	out := []garde.SubjectID{canonical}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, fmt.Errorf("store: find members of %s: %w", canonical, err)
		}
		out = append(out, garde.SubjectID(m))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: find members of %s: %w", canonical, err)
	}
	return out, nil
}

// EraseSubjects implements rights.EraseStore: one transaction on the
// writer, then a TRUNCATE checkpoint of the write-ahead log.
func (e *Erase) EraseSubjects(ctx context.Context, er *rights.ErasePlan) (*rights.Erased, error) {
	done, err := e.erase(ctx, er)
	if err != nil {
		return nil, err
	}
	if err := e.checkpoint(ctx); err != nil {
		return done, fmt.Errorf("store: checkpoint after erasing %s: %w", er.Subject, err)
	}
	return done, nil
}

func (e *Erase) erase(ctx context.Context, er *rights.ErasePlan) (*rights.Erased, error) {
	tx, err := e.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: erase %s: %w", er.Subject, err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, qeExists, string(er.Subject)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such subject")
	}
	if err != nil {
		return nil, fmt.Errorf("store: erase %s: %w", er.Subject, err)
	}
	ms, err := members(ctx, tx, er.Subject)
	if err != nil {
		return nil, err
	}
	done := &rights.Erased{Members: ms}
	for start := 0; start < len(ms); start += eraseChunk {
		if err := e.eraseChunk(ctx, tx, er, ms[start:min(start+eraseChunk, len(ms))], done); err != nil {
			return nil, fmt.Errorf("store: erase %s: %w", er.Subject, err)
		}
	}
	topic, payload, err := er.Message(done)
	if err != nil {
		return nil, err
	}
	if err := tx.QueryRowContext(ctx, qeCreateOutbox, topic, string(er.Subject), string(payload), er.Time.UnixMilli()).Scan(&done.Outbox); err != nil {
		return nil, fmt.Errorf("store: erase %s: outbox: %w", er.Subject, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: erase %s: %w", er.Subject, err)
	}
	return done, nil
}

// eraseChunk counts, suppresses and deletes the rows of some members.
func (e *Erase) eraseChunk(ctx context.Context, tx *sql.Tx, er *rights.ErasePlan, ids []garde.SubjectID, done *rights.Erased) error {
	in := placeholders(len(ids))
	args := subjectArgs(ids)
	if er.Event != nil {
		err := eachRow(ctx, tx, fmt.Sprintf(qeEvents, in), args, func(rows *sql.Rows) error {
			var typ, name, props, ctxt string
			var sealed []byte
			if err := rows.Scan(&typ, &name, &props, &ctxt, &sealed); err != nil {
				return err
			}
			er.Event(typ, name, []byte(props), []byte(ctxt), sealed)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if er.Trait != nil {
		err := eachRow(ctx, tx, fmt.Sprintf(qeTraits, in), args, func(rows *sql.Rows) error {
			var name, category string
			if err := rows.Scan(&name, &category); err != nil {
				return err
			}
			er.Trait(name, category)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if er.Suppress && er.Marker != nil {
		var markers [][]byte
		err := eachRow(ctx, tx, fmt.Sprintf(qeIdentities, in), args, func(rows *sql.Rows) error {
			var kind string
			var hash []byte
			if err := rows.Scan(&kind, &hash); err != nil {
				return err
			}
			markers = append(markers, er.Marker(kind, hash))
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range markers {
			res, err := tx.ExecContext(ctx, qeSuppress, m, er.Time.UnixMilli())
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			done.Suppressions += int(n)
		}
	}
	for _, d := range []struct {
		q string
		n *int
	}{
		{qeDelEvents, &done.Rows.Events},
		{qeDelTraits, &done.Rows.Traits},
		{qeDelIdent, &done.Rows.Identities},
		{qeDelGuardian, &done.Rows.GuardianRequests},
		{qeDelSubjects, &done.Rows.Subjects},
	} {
		res, err := tx.ExecContext(ctx, fmt.Sprintf(d.q, in), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		*d.n += int(n)
	}
	return nil
}

func eachRow(ctx context.Context, tx *sql.Tx, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkpoint copies the write-ahead log into the database and truncates it,
// so that no older copy of an erased page survives in the log. Unlike
// DB.Checkpoint it checks that the checkpoint completed (a reader holding an
// old snapshot makes it report busy) and retries a few times.
func (e *Erase) checkpoint(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		var busy, logFrames, done int
		err := e.db.writer.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
		if err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
		if attempt == 4 {
			return garde.Errorf(garde.EUnavailable, "the write-ahead log is in use; it will be truncated at the next checkpoint")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
		}
	}
}

// FindSuppression implements rights.EraseStore.
func (e *Erase) FindSuppression(ctx context.Context, marker []byte) (bool, error) {
	var one int
	err := e.db.reader.QueryRowContext(ctx, qeSuppressed, marker).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: find suppression: %w", err)
	}
	return true, nil
}
