package store

import (
	"context"
	"time"
)

// Violation is a count of what the tracking plan refused or redacted at one
// place (source, event, field), never the values.
type Violation struct {
	Source    string    `json:"source"`
	Event     string    `json:"event"`
	Field     string    `json:"field,omitempty"`
	Kind      string    `json:"kind"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// FindViolations lists violations, most frequent first.
func (db *DB) FindViolations(ctx context.Context, limit int) ([]Violation, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT source, event, field, kind, count, first_seen, last_seen
		FROM violations ORDER BY count DESC, source, event, field, kind LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Violation{}
	for rows.Next() {
		var v Violation
		var first, last int64
		if err := rows.Scan(&v.Source, &v.Event, &v.Field, &v.Kind, &v.Count, &first, &last); err != nil {
			return nil, err
		}
		v.FirstSeen, v.LastSeen = fromMS(first), fromMS(last)
		out = append(out, v)
	}
	return out, rows.Err()
}
