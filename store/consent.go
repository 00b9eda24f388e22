package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
)

// ConsentTx adapts a collection transaction to the ledger's Tx: ledger
// appends run inside the collection writer's group commits.
func ConsentTx(tx collect.Tx) consent.Tx {
	return consentTx{tx.(*collectTx)}
}

type consentTx struct{ t *collectTx }

const (
	qLastConsent   = `SELECT seq, hash FROM consent_records ORDER BY seq DESC LIMIT 1`
	qCreateConsent = `INSERT INTO consent_records (seq, id, subject_id, purpose, decision, at, body, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qCreateOutbox  = `INSERT INTO outbox (topic, subject_id, payload, created_at) VALUES (?, ?, ?, ?)`
)

// consentHead is the ledger's last record as seen inside one transaction:
// read once per group commit, then kept up to date by CreateConsent.
type consentHead struct {
	seq  int64
	hash []byte
}

func (t consentTx) LastConsent(ctx context.Context) (int64, []byte, error) {
	if h := t.t.consentHead; h != nil {
		return h.seq, h.hash, nil
	}
	var seq int64
	var hash []byte
	err := t.t.stmt(ctx, qLastConsent).QueryRowContext(ctx).Scan(&seq, &hash)
	if err == sql.ErrNoRows {
		seq, hash, err = 0, consent.Genesis, nil
	}
	if err == nil {
		t.t.consentHead = &consentHead{seq, hash}
	}
	return seq, hash, err
}

// CreateConsent queues recs for the group's commit, where they are
// written together (see flushConsent); the chain head moves at once.
func (t consentTx) CreateConsent(ctx context.Context, recs []consent.Record) error {
	var buf [1024]byte
	for i := range recs {
		r := &recs[i]
		body := string(r.AppendJSON(buf[:0]))
		t.t.consentRows = append(t.t.consentRows, r.Seq, r.ID, string(r.Subject), r.Purpose, string(r.Decision), r.Time.UnixNano(), body, r.Prev, r.Hash)
		t.t.consentHead = &consentHead{r.Seq, r.Hash}
	}
	return nil
}

// consentPerInsert is how many ledger records one INSERT carries.
const consentPerInsert = 64

var qCreateConsents = qCreateConsent + strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?, ?)`, consentPerInsert-1)

// flushConsent writes the queued ledger records, several per statement.
func (t *collectTx) flushConsent(ctx context.Context) error {
	const cols = 9
	rows := t.consentRows
	t.consentRows = nil
	for len(rows) >= cols*consentPerInsert {
		if err := t.exec(ctx, qCreateConsents, rows[:cols*consentPerInsert]...); err != nil {
			return err
		}
		rows = rows[cols*consentPerInsert:]
	}
	for ; len(rows) > 0; rows = rows[cols:] {
		if err := t.exec(ctx, qCreateConsent, rows[:cols]...); err != nil {
			return err
		}
	}
	return nil
}

func (t consentTx) CreateOutbox(ctx context.Context, msgs []consent.Message) error {
	for _, m := range msgs {
		if _, err := t.t.stmt(ctx, qCreateOutbox).ExecContext(ctx, m.Topic, string(m.Subject), string(m.Payload), m.Time.UnixMilli()); err != nil {
			return err
		}
	}
	return nil
}

// Consent reads the ledger.
type Consent struct{ db *DB }

// NewConsent returns the ledger reader of db.
func NewConsent(db *DB) *Consent { return &Consent{db: db} }

// FindConsent calls fn for the records f selects, in seq order.
func (c *Consent) FindConsent(ctx context.Context, f consent.Filter, fn func(*consent.Record) error) error {
	q := `SELECT seq, body, prev, hash FROM consent_records WHERE seq > ?`
	args := []any{f.After}
	if len(f.Subjects) > 0 {
		q += ` AND subject_id IN (?` + strings.Repeat(`, ?`, len(f.Subjects)-1) + `)`
		for _, s := range f.Subjects {
			args = append(args, string(s))
		}
	}
	rows, err := c.db.reader.QueryContext(ctx, q+` ORDER BY seq`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r consent.Record
		var seq int64
		var body string
		if err := rows.Scan(&seq, &body, &r.Prev, &r.Hash); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return garde.Wrap(garde.EInternal, err, fmt.Sprintf("consent record %d is not readable", seq))
		}
		r.Seq = seq // the row's position is authoritative, the body's copy is checked by the hash
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// CanonicalSubjects returns the map from merged subjects to the subject
// they were merged into (following chains).
func (c *Consent) CanonicalSubjects(ctx context.Context) (func(garde.SubjectID) garde.SubjectID, error) {
	rows, err := c.db.reader.QueryContext(ctx, `SELECT id, merged_into FROM subjects WHERE merged_into IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	into := map[garde.SubjectID]garde.SubjectID{}
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		into[garde.SubjectID(a)] = garde.SubjectID(b)
	}
	return func(s garde.SubjectID) garde.SubjectID {
		for range 16 {
			n, ok := into[s]
			if !ok {
				break
			}
			s = n
		}
		return s
	}, rows.Err()
}

// FindOutbox returns up to n undelivered outbox messages, oldest first.
func (c *Consent) FindOutbox(ctx context.Context, n int) ([]consent.Message, error) {
	rows, err := c.db.reader.QueryContext(ctx, `SELECT topic, subject_id, payload, created_at FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consent.Message
	for rows.Next() {
		var m consent.Message
		var s, p string
		var at int64
		if err := rows.Scan(&m.Topic, &s, &p, &at); err != nil {
			return nil, err
		}
		m.Subject, m.Payload = garde.SubjectID(s), json.RawMessage(p)
		m.Time = msTime(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// FindSubjectByIdentity returns the subject an identity belongs to.
func (c *Consent) FindSubjectByIdentity(ctx context.Context, kind string, hash []byte) (garde.SubjectID, error) {
	return (&Profiles{db: c.db}).FindSubjectByIdentity(ctx, kind, hash)
}

// FindCanonical returns the subject s was merged into, or s.
func (c *Consent) FindCanonical(ctx context.Context, s garde.SubjectID) (garde.SubjectID, error) {
	var canonical string
	err := c.db.reader.QueryRowContext(ctx, `SELECT COALESCE(merged_into, id) FROM subjects WHERE id = ?`, string(s)).Scan(&canonical)
	if err == sql.ErrNoRows {
		return "", garde.Errorf(garde.ENotFound, "no such subject")
	}
	return garde.SubjectID(canonical), err
}

// FindCanonicalByIdentities resolves many identities at once to the
// canonical subjects they belong to, keyed by kind + "\x00" + hash; unknown
// identities are absent from the map.
func (c *Consent) FindCanonicalByIdentities(ctx context.Context, ids []collect.Identity) (map[string]garde.SubjectID, error) {
	out := make(map[string]garde.SubjectID, len(ids))
	const chunk = 400
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		q := `SELECT i.kind, i.hash, COALESCE(s.merged_into, s.id) FROM identities i JOIN subjects s ON s.id = i.subject_id WHERE (i.kind, i.hash) IN (VALUES (?, ?)` +
			strings.Repeat(`, (?, ?)`, len(part)-1) + `)`
		rows, err := c.db.reader.QueryContext(ctx, q, identityArgs(make([]any, 0, 2*len(part)), part)...)
		err = scanIdentities(rows, err, func(id collect.Identity, s garde.SubjectID) {
			out[id.Kind+"\x00"+string(id.Hash)] = s
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateNotice stores a notice text unless (version, language) exists.
func (c *Consent) CreateNotice(ctx context.Context, version int, lang, text, hash string, at time.Time) error {
	_, err := c.db.writer.ExecContext(ctx, `INSERT INTO consent_notices (version, language, body, hash, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (version, language) DO NOTHING`, version, lang, text, hash, at.UnixMilli())
	return err
}

// FindNotice returns the hash of a stored notice.
func (c *Consent) FindNotice(ctx context.Context, version int, lang string) (string, bool, error) {
	var h string
	err := c.db.reader.QueryRowContext(ctx, `SELECT hash FROM consent_notices WHERE version = ? AND language = ?`, version, lang).Scan(&h)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	return h, err == nil, err
}
