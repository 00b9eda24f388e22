package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/retention"
)

// Retention is the retention clock's view of the data database.
type Retention struct{ db *DB }

// NewRetention returns the retention store of db.
func NewRetention(db *DB) *Retention { return &Retention{db: db} }

// The retention's reads. Events are read without their subjects, whose
// last contacts are then read once per subject of the batch that needs it
// (see retention.Store), in subject order (an IN list is walked sorted):
// joining them row by row cost two random B-tree searches per event, over
// half of a scan's time.
const (
	qrEvents = `SELECT id, subject_id, name, source, purposes, received_at FROM events WHERE id > ? ORDER BY id LIMIT ?`
	qrSeen   = `SELECT id, last_seen_at FROM subjects WHERE id IN (SELECT value FROM json_each(?))`
	qrTraits = `SELECT t.subject_id, t.name, t.purposes, t.updated_at, s.last_seen_at
		FROM traits t LEFT JOIN subjects s ON s.id = t.subject_id
		WHERE (t.subject_id, t.name) > (?, ?) ORDER BY t.subject_id, t.name LIMIT ?`
)

// ScanItems returns events (cursor: the last id) or traits (cursor:
// subject id, NUL, trait name) in key order, each with its subject's last
// contact where needSeen says it matters (traits: always), read in one
// read transaction.
func (r *Retention) ScanItems(ctx context.Context, kind, cursor string, limit int, needSeen func(purposes string) bool) ([]retention.Item, string, error) {
	tx, err := r.db.reader.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", err
	}
	defer tx.Rollback()
	var out []retention.Item
	if kind == retention.KindEvent {
		out, err = scanEvents(ctx, tx, cursor, limit, needSeen)
	} else {
		out, err = scanTraits(ctx, tx, cursor, limit)
	}
	if err != nil {
		return nil, "", err
	}
	next := cursor
	if n := len(out); n > 0 {
		if kind == retention.KindEvent {
			next = strconv.FormatInt(out[n-1].ID, 10)
		} else {
			next = string(out[n-1].Subject) + "\x00" + out[n-1].Name
		}
	}
	return out, next, nil
}

// interner returns one string per distinct value: the names, sources and
// purposes of a batch repeat, and a copy per row only fed the garbage
// collector.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

func scanEvents(ctx context.Context, tx *sql.Tx, cursor string, limit int, needSeen func(string) bool) ([]retention.Item, error) {
	after, _ := strconv.ParseInt(cursor, 10, 64)
	rows, err := tx.QueryContext(ctx, qrEvents, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]retention.Item, 0, limit)
	in := interner{}
	seen := map[garde.SubjectID]time.Time{}
	for rows.Next() {
		it := retention.Item{Kind: retention.KindEvent}
		var subject string
		var name, source, purposes sql.RawBytes
		var at int64
		if err := rows.Scan(&it.ID, &subject, &name, &source, &purposes, &at); err != nil {
			return nil, err
		}
		it.Subject, it.At = garde.SubjectID(subject), fromMS(at)
		it.Name, it.Source, it.Purposes = in.get(name), in.get(source), in.get(purposes)
		if needSeen == nil || needSeen(it.Purposes) {
			seen[it.Subject] = time.Time{}
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(seen) == 0 {
		return out, nil
	}
	ids := make([]garde.SubjectID, 0, len(seen))
	for s := range seen {
		ids = append(ids, s)
	}
	rows, err = tx.QueryContext(ctx, qrSeen, jsonList(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id sql.RawBytes
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		seen[garde.SubjectID(id)] = fromMS(at)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].LastSeen = seen[out[i].Subject] // zero for a subject gone, or not needed
	}
	return out, nil
}

func scanTraits(ctx context.Context, tx *sql.Tx, cursor string, limit int) ([]retention.Item, error) {
	subj, name, _ := strings.Cut(cursor, "\x00")
	rows, err := tx.QueryContext(ctx, qrTraits, subj, name, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]retention.Item, 0, limit)
	in := interner{}
	for rows.Next() {
		it := retention.Item{Kind: retention.KindTrait}
		var subject, name, purposes sql.RawBytes
		var at int64
		var seen *int64
		if err := rows.Scan(&subject, &name, &purposes, &at, &seen); err != nil {
			return nil, err
		}
		it.Subject, it.Name, it.Purposes, it.At = garde.SubjectID(in.get(subject)), in.get(name), in.get(purposes), fromMS(at)
		if seen != nil {
			it.LastSeen = fromMS(*seen)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// The retention's writes. A batch's items go as one JSON array bound to
// json_each: one statement deletes all the events of a batch, another all
// its traits, where parsing a statement again for every item alone took
// over a quarter of Expire's time.
const (
	qrDelEvents = `DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))`
	qrDelTraits = `DELETE FROM traits WHERE (subject_id, name) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))`
	qrAggregate = `INSERT INTO aggregates (day, source, name, count) VALUES (?, ?, ?, ?)
		ON CONFLICT (day, source, name) DO UPDATE SET count = aggregates.count + excluded.count`
)

// Expire deletes items and adds aggregates in one transaction.
func (r *Retention) Expire(ctx context.Context, items []retention.Item, aggs []retention.Aggregate) error {
	var events []int64
	var traits [][2]string
	for _, it := range items {
		if it.Kind == retention.KindEvent {
			events = append(events, it.ID)
		} else {
			traits = append(traits, [2]string{string(it.Subject), it.Name})
		}
	}
	tx, err := r.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, d := range []struct {
		q    string
		list any
		n    int
	}{{qrDelEvents, events, len(events)}, {qrDelTraits, traits, len(traits)}} {
		if d.n == 0 {
			continue
		}
		b, err := json.Marshal(d.list)
		if err != nil {
			return err
		}
		// text: SQLite reads a blob as JSONB
		if _, err := tx.ExecContext(ctx, d.q, string(b)); err != nil {
			return err
		}
	}
	if len(aggs) > 0 {
		st, err := tx.PrepareContext(ctx, qrAggregate)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, a := range aggs {
			if _, err := st.ExecContext(ctx, a.Day, a.Source, a.Name, a.Count); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}
