package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
)

// Queries of the audit log, written once for every engine.
const (
	qLastAudit   = `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`
	qCreateAudit = `INSERT INTO audit (seq, at, actor, role, action, purpose, subject_count, subject_digest,
		categories, request_id, source, outcome, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qCreateAuditSubject = `INSERT INTO audit_subjects (seq, subject_id) VALUES (?, ?)`
	qCreateCheckpoint   = `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)`
	qLastCheckpoint     = `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`
	qFindCheckpoints    = `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq`
	// qFindAudit is completed with the filter's conditions (fixed SQL
	// fragments with placeholders), the order and the limit. The listed
	// subjects come from audit_subjects, so that a change there, too,
	// breaks the entry's hash.
	qFindAudit = `SELECT a.seq, a.at, a.actor, a.role, a.action, a.purpose, a.subject_count, a.subject_digest,
		a.categories, a.request_id, a.source, a.outcome, a.detail, a.prev, a.hash,
		COALESCE((SELECT group_concat(s.subject_id, ' ') FROM audit_subjects s WHERE s.seq = a.seq), '')
		FROM audit a WHERE a.seq > ?`
)

// AuditTx adapts any write transaction of the data database to the audit
// log's Tx. It prepares its statements in the transaction; Audit.Tx, which
// reuses statements prepared once, is several times faster.
func AuditTx(tx *sql.Tx) audit.Tx { return &auditTx{tx: tx} }

type auditTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // prepared on the writer; nil: none
}

// stmt returns q prepared for t: bound from the writer's statements, or
// prepared in the transaction.
func (t *auditTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return t.tx.StmtContext(ctx, st), nil
	}
	return t.tx.PrepareContext(ctx, q)
}

func (t *auditTx) LastAudit(ctx context.Context) (int64, []byte, error) {
	st, err := t.stmt(ctx, qLastAudit)
	if err != nil {
		return 0, nil, err
	}
	var seq int64
	var hash []byte
	err = st.QueryRowContext(ctx).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	return seq, hash, err
}

func (t *auditTx) CreateAudit(ctx context.Context, entries []audit.Entry) error {
	ins, err := t.stmt(ctx, qCreateAudit)
	if err != nil {
		return err
	}
	sub, err := t.stmt(ctx, qCreateAuditSubject)
	if err != nil {
		return err
	}
	for i := range entries {
		if err := createAudit(ctx, ins, sub, &entries[i]); err != nil {
			return err
		}
	}
	return nil
}

func createAudit(ctx context.Context, ins, sub *sql.Stmt, e *audit.Entry) error {
	detail := ""
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return err
		}
		detail = string(b)
	}
	if _, err := ins.ExecContext(ctx, e.Seq, e.Time.UnixMicro(), e.Actor, e.Role, e.Action, e.Purpose,
		e.SubjectCount, e.SubjectDigest, strings.Join(e.Categories, " "), e.RequestID, e.Source, e.Outcome,
		detail, e.Prev, e.Hash); err != nil {
		return err
	}
	for _, s := range e.Subjects {
		if _, err := sub.ExecContext(ctx, e.Seq, string(s)); err != nil {
			return err
		}
	}
	return nil
}

func (t *auditTx) CreateCheckpoint(ctx context.Context, cp audit.Checkpoint) error {
	_, err := t.tx.ExecContext(ctx, qCreateCheckpoint, cp.Seq, cp.Hash, cp.Time.UnixMicro(), cp.KeyID, cp.Signature)
	return err
}

func (t *auditTx) LastCheckpoint(ctx context.Context) (audit.Checkpoint, bool, error) {
	st, err := t.stmt(ctx, qLastCheckpoint)
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	cp, err := scanCheckpoint(st.QueryRowContext(ctx))
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Checkpoint{}, false, nil
	}
	return cp, err == nil, err
}

func scanCheckpoint(row scannable) (audit.Checkpoint, error) {
	var cp audit.Checkpoint
	var at int64
	err := row.Scan(&cp.Seq, &cp.Hash, &at, &cp.KeyID, &cp.Signature)
	cp.Time = time.UnixMicro(at).UTC()
	return cp, err
}

// Audit is the audit log's store: it reads the log (audit.Reader) and
// adapts write transactions to audit.Tx with statements prepared once.
type Audit struct {
	db    *DB
	stmts map[string]*sql.Stmt // prepared on the writer; nil if that failed
}

// NewAudit returns the audit log store of the data database db. Call it at
// start-up, not while a write transaction is open: it prepares statements
// on the writer's one connection.
func NewAudit(db *DB) *Audit {
	a := &Audit{db: db}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stmts := map[string]*sql.Stmt{}
	for _, q := range []string{qLastAudit, qCreateAudit, qCreateAuditSubject, qLastCheckpoint} {
		st, err := db.writer.PrepareContext(ctx, q)
		if err != nil { // Tx then prepares in each transaction
			for _, st := range stmts {
				st.Close()
			}
			return a
		}
		stmts[q] = st
	}
	a.stmts = stmts
	return a
}

// Tx adapts tx, a write transaction of a's database, to audit.Tx: call
// log.Append(ctx, a.Tx(tx), …) in the transaction of the act recorded.
func (a *Audit) Tx(tx *sql.Tx) audit.Tx { return &auditTx{tx: tx, stmts: a.stmts} }

// CollectTx adapts a collection group commit (the tx a collect.Job runs in)
// to audit.Tx.
func (a *Audit) CollectTx(tx collect.Tx) audit.Tx { return a.Tx(tx.(*collectTx).tx) }

// Append appends entries in a write transaction of their own, for acts
// that write nothing else (a read, an export). An act that writes must
// append in its own transaction, through Tx or CollectTx.
func (a *Audit) Append(ctx context.Context, log *audit.Log, entries ...audit.Entry) error {
	return a.write(ctx, func(tx audit.Tx) error { return log.Append(ctx, tx, entries...) })
}

// Checkpoint signs a checkpoint of the head unless one already signs it
// (see audit.Log.Checkpoint): run it on shutdown so that the tail is
// covered.
func (a *Audit) Checkpoint(ctx context.Context, log *audit.Log) (cp audit.Checkpoint, ok bool, err error) {
	err = a.write(ctx, func(tx audit.Tx) error {
		cp, ok, err = log.Checkpoint(ctx, tx)
		return err
	})
	return cp, ok, err
}

func (a *Audit) write(ctx context.Context, fn func(audit.Tx) error) error {
	tx, err := a.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(a.Tx(tx)); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// FindCheckpoints returns every checkpoint, in seq order.
func (a *Audit) FindCheckpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	rows, err := a.db.reader.QueryContext(ctx, qFindCheckpoints)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cps []audit.Checkpoint
	for rows.Next() {
		cp, err := scanCheckpoint(rows)
		if err != nil {
			return nil, err
		}
		cps = append(cps, cp)
	}
	return cps, rows.Err()
}

// FindAudit calls fn with each entry f selects, in seq order.
func (a *Audit) FindAudit(ctx context.Context, f audit.Filter, fn func(*audit.Entry) error) error {
	q, args := auditQuery(f)
	rows, err := a.db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("find audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("find audit: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// auditQuery builds the query of f from fixed fragments: values are only
// ever bound as parameters.
func auditQuery(f audit.Filter) (string, []any) {
	var q strings.Builder
	q.WriteString(qFindAudit)
	args := []any{f.After}
	cond := func(sql string, v any) {
		q.WriteString(sql)
		args = append(args, v)
	}
	if !f.Since.IsZero() {
		cond(` AND a.at >= ?`, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		cond(` AND a.at < ?`, f.Until.UnixMicro())
	}
	if f.Actor != "" {
		cond(` AND a.actor = ?`, f.Actor)
	}
	if f.Action != "" {
		cond(` AND a.action = ?`, f.Action)
	}
	if f.Purpose != "" {
		cond(` AND a.purpose = ?`, f.Purpose)
	}
	if f.Subject != "" {
		cond(` AND a.seq IN (SELECT seq FROM audit_subjects WHERE subject_id = ?)`, string(f.Subject))
	}
	q.WriteString(` ORDER BY a.seq`)
	if f.Limit > 0 {
		cond(` LIMIT ?`, f.Limit)
	}
	return q.String(), args
}

func scanAudit(rows *sql.Rows) (*audit.Entry, error) {
	var e audit.Entry
	var at int64
	var categories, detail, subjects string
	if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.Purpose, &e.SubjectCount, &e.SubjectDigest,
		&categories, &e.RequestID, &e.Source, &e.Outcome, &detail, &e.Prev, &e.Hash, &subjects); err != nil {
		return nil, err
	}
	e.Time = time.UnixMicro(at).UTC()
	if categories != "" {
		e.Categories = strings.Split(categories, " ")
	}
	if detail != "" {
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			// Leave it to Verify: an unreadable detail breaks the hash.
			e.Detail = map[string]string{"": detail}
		}
	}
	if subjects != "" {
		ids := strings.Split(subjects, " ")
		e.Subjects = make([]garde.SubjectID, len(ids))
		for i, id := range ids {
			e.Subjects[i] = garde.SubjectID(id)
		}
		slices.Sort(e.Subjects)
	}
	return &e, nil
}
