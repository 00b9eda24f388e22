package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
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

// FindEvents looks the subjects' events up in the index by subject, then
// reads the newest limit of them, newest first; an id the index names but
// whose row is gone or no longer the subject's is skipped, and the next
// older ones are read in its place.
func (p *Profiles) FindEvents(ctx context.Context, subjects []garde.SubjectID, limit int) ([]profile.StoredEvent, error) {
	if limit <= 0 || len(subjects) == 0 {
		return nil, nil
	}
	byS, err := p.db.eventIDs(ctx, p.db.reader, subjects)
	if err != nil {
		return nil, err
	}
	return p.newestEvents(ctx, allIDs(byS), subjects, limit)
}

// newestEvents reads the rows of the newest limit of ids (ascending) that
// are still events of the subjects, newest first.
func (p *Profiles) newestEvents(ctx context.Context, ids []int64, subjects []garde.SubjectID, limit int) ([]profile.StoredEvent, error) {
	var out []profile.StoredEvent
	for end := len(ids); end > 0 && len(out) < limit; {
		start := max(0, end-(limit-len(out)))
		got, err := p.eventsByID(ctx, ids[start:end], subjects)
		if err != nil {
			return nil, err
		}
		out, end = append(out, got...), start
	}
	return out, nil
}

// eventsByID reads the events of ids that are still the subjects', newest
// first.
func (p *Profiles) eventsByID(ctx context.Context, ids []int64, subjects []garde.SubjectID) ([]profile.StoredEvent, error) {
	rows, err := p.db.reader.QueryContext(ctx, eventsByID(len(subjects), true),
		append([]any{jsonList(ids)}, subjectArgs(subjects)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanStoredEvents(rows)
}

// scanStoredEvents reads the rows of an events query (the columns FindEvents
// selects).
func scanStoredEvents(rows *sql.Rows) ([]profile.StoredEvent, error) {
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

// FindSubjects reads the subjects named (one query) and then the members
// of their canonical subjects (another).
func (p *Profiles) FindSubjects(ctx context.Context, ids []garde.SubjectID) ([]profile.Subject, int, error) {
	if len(ids) == 0 {
		return nil, 0, nil
	}
	rows, err := p.db.reader.QueryContext(ctx, `SELECT s.id, c.id, c.identified, c.created_at, c.last_seen_at
		FROM subjects s JOIN subjects c ON c.id = COALESCE(s.merged_into, s.id)
		WHERE s.id IN (`+placeholders(len(ids))+`)`, subjectArgs(ids)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	byID := make(map[garde.SubjectID]*profile.Subject, len(ids))
	for rows.Next() {
		var id, canonical string
		var s profile.Subject
		var created, seen int64
		if err := rows.Scan(&id, &canonical, &s.Identified, &created, &seen); err != nil {
			return nil, 0, err
		}
		s.ID, s.CreatedAt, s.LastSeenAt = garde.SubjectID(canonical), fromMS(created), fromMS(seen)
		byID[garde.SubjectID(id)] = &s
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	rows.Close()
	// in the order of the ids, each canonical subject once
	out := make([]profile.Subject, 0, len(byID))
	at := make(map[garde.SubjectID]int, len(byID))
	unknown := map[garde.SubjectID]bool{}
	for _, id := range ids {
		s := byID[id]
		if s == nil {
			unknown[id] = true
			continue
		}
		if _, dup := at[s.ID]; !dup {
			at[s.ID] = len(out)
			out = append(out, *s)
		}
	}
	if len(out) == 0 {
		return out, len(unknown), nil
	}
	canonical := make([]garde.SubjectID, len(out))
	for i := range out {
		canonical[i] = out[i].ID
	}
	rows, err = p.db.reader.QueryContext(ctx, `SELECT id, merged_into FROM subjects
		WHERE merged_into IN (`+placeholders(len(canonical))+`) ORDER BY created_at`, subjectArgs(canonical)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var m, into string
		if err := rows.Scan(&m, &into); err != nil {
			return nil, 0, err
		}
		s := &out[at[garde.SubjectID(into)]]
		s.Members = append(s.Members, garde.SubjectID(m))
	}
	return out, len(unknown), rows.Err()
}

// FindEventsEach looks the subjects' events up in the index by subject and
// reads only the newest limit of each subject's (more, in the rare case
// that some of those are gone): a subject with many more events than
// limit costs index entries, not rows.
func (p *Profiles) FindEventsEach(ctx context.Context, subjects []garde.SubjectID, limit int) ([]profile.StoredEvent, error) {
	if limit <= 0 || len(subjects) == 0 {
		return nil, nil
	}
	byS, err := p.db.eventIDs(ctx, p.db.reader, subjects)
	if err != nil {
		return nil, err
	}
	var out []profile.StoredEvent
	// first the newest limit ids of every subject in one read; then, for a
	// subject some of whose rows were gone, its next older ones
	var ids []int64
	for _, s := range subjects {
		all := byS[s]
		ids = append(ids, all[max(0, len(all)-limit):]...)
	}
	slices.Sort(ids)
	got, err := p.eventsByID(ctx, slices.Compact(ids), subjects)
	if err != nil {
		return nil, err
	}
	n := map[garde.SubjectID]int{}
	for i := range got {
		n[got[i].Subject]++
	}
	out = append(out, got...)
	for _, s := range subjects {
		all := byS[s]
		if short := min(limit, len(all)) - n[s]; short > 0 && len(all) > limit {
			more, err := p.newestEvents(ctx, all[:len(all)-limit], []garde.SubjectID{s}, short)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	slices.SortFunc(out, func(a, b profile.StoredEvent) int { return cmp.Compare(b.ID, a.ID) })
	return out, nil
}
