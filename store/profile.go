package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/profile"
)

// Profiles reads subjects, traits and events for the profile reader.
type Profiles struct{ db *DB }

// NewProfiles returns the profile store over the data database.
func NewProfiles(db *DB) *Profiles { return &Profiles{db: db} }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func subjectArgs(ids []garde.SubjectID) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = string(id)
	}
	return args
}

func (p *Profiles) FindSubject(ctx context.Context, id garde.SubjectID) (*profile.Subject, error) {
	var canonical string
	err := p.db.reader.QueryRowContext(ctx, `SELECT COALESCE(merged_into, id) FROM subjects WHERE id = ?`, string(id)).Scan(&canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, garde.Errorf(garde.ENotFound, "no such subject")
	}
	if err != nil {
		return nil, err
	}
	s := &profile.Subject{ID: garde.SubjectID(canonical)}
	var created, seen int64
	err = p.db.reader.QueryRowContext(ctx, `SELECT identified, created_at, last_seen_at FROM subjects WHERE id = ?`, canonical).
		Scan(&s.Identified, &created, &seen)
	if err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt = fromMS(created), fromMS(seen)
	rows, err := p.db.reader.QueryContext(ctx, `SELECT id FROM subjects WHERE merged_into = ? ORDER BY created_at`, canonical)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		s.Members = append(s.Members, garde.SubjectID(m))
	}
	return s, rows.Err()
}

func (p *Profiles) FindSubjectByIdentity(ctx context.Context, kind string, hash []byte) (garde.SubjectID, error) {
	var s string
	err := p.db.reader.QueryRowContext(ctx, `SELECT subject_id FROM identities WHERE kind = ? AND hash = ?`, kind, hash).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", garde.Errorf(garde.ENotFound, "no such subject")
	}
	return garde.SubjectID(s), err
}

func (p *Profiles) FindTraits(ctx context.Context, subjects []garde.SubjectID) ([]profile.StoredTrait, error) {
	rows, err := p.db.reader.QueryContext(ctx, `SELECT subject_id, name, category, purposes, sealed, value, updated_at
		FROM traits WHERE subject_id IN (`+placeholders(len(subjects))+`) ORDER BY updated_at`, subjectArgs(subjects)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []profile.StoredTrait
	for rows.Next() {
		var t profile.StoredTrait
		var s string
		var updated int64
		if err := rows.Scan(&s, &t.Name, &t.Category, &t.Purposes, &t.Sealed, &t.Value, &updated); err != nil {
			return nil, err
		}
		t.Subject, t.UpdatedAt = garde.SubjectID(s), fromMS(updated)
		out = append(out, t)
	}
	return out, rows.Err()
}

func (p *Profiles) FindEvents(ctx context.Context, subjects []garde.SubjectID, limit int) ([]profile.StoredEvent, error) {
	args := append(subjectArgs(subjects), limit)
	rows, err := p.db.reader.QueryContext(ctx, `SELECT id, subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed
		FROM events WHERE subject_id IN (`+placeholders(len(subjects))+`) ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []profile.StoredEvent
	for rows.Next() {
		var e profile.StoredEvent
		var s, props, ctxt string
		var ts, rec int64
		if err := rows.Scan(&e.ID, &s, &e.Source, &e.Type, &e.Name, &e.MessageID, &ts, &rec, &e.Purposes, &props, &ctxt, &e.Sealed); err != nil {
			return nil, err
		}
		e.Subject, e.Time, e.Received = garde.SubjectID(s), fromMS(ts), fromMS(rec)
		e.Properties, e.Context = []byte(props), []byte(ctxt)
		out = append(out, e)
	}
	return out, rows.Err()
}
