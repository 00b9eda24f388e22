package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/rights/bundle"
)

// Bundle reads what a copy of a person's data needs (bundle.Source) from
// the data database. Every query selects by subject id through an index
// (the events, through the index by subject of eventindex.go).
type Bundle struct{ db *DB }

// NewBundle returns the copy's source over the data database.
func NewBundle(db *DB) *Bundle { return &Bundle{db: db} }

var _ bundle.Source = (*Bundle)(nil)

const (
	qBundleIdentities = `SELECT kind, COUNT(*), MIN(created_at) FROM identities WHERE subject_id IN (%s)
		GROUP BY kind ORDER BY kind`
	qBundleRecipients = `SELECT topic, created_at, delivered_at FROM outbox WHERE subject_id IN (%s) ORDER BY id`
)

// EachEvent implements bundle.Source: one query, rows handed to fn as they
// are read.
func (b *Bundle) EachEvent(ctx context.Context, subjects []garde.SubjectID, fn func(*profile.StoredEvent) error) error {
	if len(subjects) == 0 {
		return nil
	}
	byS, err := b.db.eventIDs(ctx, b.db.reader, subjects)
	if err != nil {
		return fmt.Errorf("bundle events: %w", err)
	}
	ids := allIDs(byS)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), bundleChunk)]
		ids = ids[len(chunk):]
		if err := b.eachEvent(ctx, chunk, subjects, fn); err != nil {
			return err
		}
	}
	return nil
}

// bundleChunk is how many events one query of a copy reads.
const bundleChunk = 1000

// eachEvent reads the events of ids still the subjects', in id order.
func (b *Bundle) eachEvent(ctx context.Context, ids []int64, subjects []garde.SubjectID, fn func(*profile.StoredEvent) error) error {
	rows, err := b.db.reader.QueryContext(ctx, eventsByID(len(subjects), false),
		append([]any{jsonList(ids)}, subjectArgs(subjects)...)...)
	if err != nil {
		return fmt.Errorf("bundle events: %w", err)
	}
	defer rows.Close()
	var e profile.StoredEvent
	var s string
	var props, ctxt sql.RawBytes
	var ts, rec int64
	for rows.Next() {
		if err := rows.Scan(&e.ID, &s, &e.Source, &e.Type, &e.Name, &e.MessageID, &ts, &rec, &e.Purposes, &props, &ctxt, &e.Sealed); err != nil {
			return fmt.Errorf("bundle events: %w", err)
		}
		e.Subject, e.Time, e.Received = garde.SubjectID(s), fromMS(ts), fromMS(rec)
		e.Properties, e.Context = props, ctxt
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FindIdentities implements bundle.Source.
func (b *Bundle) FindIdentities(ctx context.Context, subjects []garde.SubjectID) ([]bundle.Identity, error) {
	if len(subjects) == 0 {
		return nil, nil
	}
	rows, err := b.db.reader.QueryContext(ctx, fmt.Sprintf(qBundleIdentities, placeholders(len(subjects))), subjectArgs(subjects)...)
	if err != nil {
		return nil, fmt.Errorf("bundle identities: %w", err)
	}
	defer rows.Close()
	var out []bundle.Identity
	for rows.Next() {
		var id bundle.Identity
		var since int64
		if err := rows.Scan(&id.Kind, &id.Count, &since); err != nil {
			return nil, fmt.Errorf("bundle identities: %w", err)
		}
		id.Since = fromMS(since)
		out = append(out, id)
	}
	return out, rows.Err()
}

// FindConsent implements bundle.Source (see Consent.FindConsent).
func (b *Bundle) FindConsent(ctx context.Context, f consent.Filter, fn func(*consent.Record) error) error {
	return NewConsent(b.db).FindConsent(ctx, f, fn)
}

// FindRequests implements bundle.Source (see Requests.FindRequests).
func (b *Bundle) FindRequests(ctx context.Context, f rights.Filter) ([]rights.Request, error) {
	return NewRequests(b.db).FindRequests(ctx, f)
}

// FindRecipients implements bundle.Source: the outbox's messages about the
// subjects (the vendor register will add the vendors data went to).
func (b *Bundle) FindRecipients(ctx context.Context, subjects []garde.SubjectID) ([]bundle.Recipient, error) {
	if len(subjects) == 0 {
		return nil, nil
	}
	rows, err := b.db.reader.QueryContext(ctx, fmt.Sprintf(qBundleRecipients, placeholders(len(subjects))), subjectArgs(subjects)...)
	if err != nil {
		return nil, fmt.Errorf("bundle recipients: %w", err)
	}
	defer rows.Close()
	var out []bundle.Recipient
	for rows.Next() {
		r := bundle.Recipient{Kind: bundle.RecipientTopic}
		var at int64
		var delivered sql.NullInt64
		if err := rows.Scan(&r.Name, &at, &delivered); err != nil {
			return nil, fmt.Errorf("bundle recipients: %w", err)
		}
		r.Time = fromMS(at)
		if delivered.Valid {
			r.Delivered = fromMS(delivered.Int64)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// FindAccesses implements bundle.Source: the audit entries that list any
// of the subjects, through the audit log's per-subject index.
func (b *Bundle) FindAccesses(ctx context.Context, subjects []garde.SubjectID, fn func(*audit.Entry) error) error {
	if err := findAccesses(ctx, b.db.reader, subjects, fn); err != nil {
		return fmt.Errorf("bundle accesses: %w", err)
	}
	return nil
}
