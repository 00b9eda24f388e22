package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/retention"
)

// Retention is the retention clock's view of the data database.
type Retention struct{ db *DB }

// NewRetention returns the retention store of db.
func NewRetention(db *DB) *Retention { return &Retention{db: db} }

// ScanItems returns events (cursor: the last id) or traits (cursor:
// subject id, NUL, trait name) in key order, each with its subject's last
// contact.
func (r *Retention) ScanItems(ctx context.Context, kind, cursor string, limit int) ([]retention.Item, string, error) {
	var q string
	var args []any
	switch kind {
	case retention.KindEvent:
		after, _ := strconv.ParseInt(cursor, 10, 64)
		q = `SELECT e.id, e.subject_id, e.name, e.source, e.purposes, e.received_at, s.last_seen_at
			FROM events e LEFT JOIN subjects s ON s.id = e.subject_id WHERE e.id > ? ORDER BY e.id LIMIT ?`
		args = []any{after, limit}
	default:
		subj, name, _ := strings.Cut(cursor, "\x00")
		q = `SELECT 0, t.subject_id, t.name, '', t.purposes, t.updated_at, s.last_seen_at
			FROM traits t LEFT JOIN subjects s ON s.id = t.subject_id
			WHERE (t.subject_id, t.name) > (?, ?) ORDER BY t.subject_id, t.name LIMIT ?`
		args = []any{subj, name, limit}
	}
	rows, err := r.db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []retention.Item
	for rows.Next() {
		it := retention.Item{Kind: kind}
		var subject string
		var at int64
		var seen *int64
		if err := rows.Scan(&it.ID, &subject, &it.Name, &it.Source, &it.Purposes, &at, &seen); err != nil {
			return nil, "", err
		}
		it.Subject, it.At = garde.SubjectID(subject), fromMS(at)
		if seen != nil {
			it.LastSeen = fromMS(*seen)
		}
		out = append(out, it)
	}
	next := cursor
	if n := len(out); n > 0 {
		if kind == retention.KindEvent {
			next = strconv.FormatInt(out[n-1].ID, 10)
		} else {
			next = string(out[n-1].Subject) + "\x00" + out[n-1].Name
		}
	}
	return out, next, rows.Err()
}

// Expire deletes items and adds aggregates in one transaction.
func (r *Retention) Expire(ctx context.Context, items []retention.Item, aggs []retention.Aggregate) error {
	tx, err := r.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, it := range items {
		if it.Kind == retention.KindEvent {
			_, err = tx.ExecContext(ctx, `DELETE FROM events WHERE id = ?`, it.ID)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM traits WHERE subject_id = ? AND name = ?`, string(it.Subject), it.Name)
		}
		if err != nil {
			return err
		}
	}
	for _, a := range aggs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aggregates (day, source, name, count) VALUES (?, ?, ?, ?)
			ON CONFLICT (day, source, name) DO UPDATE SET count = aggregates.count + excluded.count`, a.Day, a.Source, a.Name, a.Count); err != nil {
			return err
		}
	}
	return tx.Commit()
}
