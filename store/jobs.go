package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jobs"
)

// Jobs keeps durable jobs (jobs.Store) in the data database. Every write is
// one short statement (or two, for a de-duplicated enqueue) on the writer:
// the writer is never held while a handler runs.
type Jobs struct{ db *DB }

// NewJobs returns the job store over the data database.
func NewJobs(db *DB) *Jobs { return &Jobs{db: db} }

var _ jobs.Store = (*Jobs)(nil)

// The states are literals in the SQL so that SQLite can use the partial
// indexes, which name them.
const (
	jobColumns = `id, kind, COALESCE(key, ''), args, state, attempt, max_attempts, run_at, worker, lease_until,
		last_error, finished`
	qEnqueueJob = `INSERT INTO jobs (kind, key, args, state, max_attempts, run_at)
		VALUES (?, ?, ?, 'available', ?, ?) ON CONFLICT DO NOTHING RETURNING id`
	qUnfinishedJobByKey = `SELECT id FROM jobs WHERE key = ? AND state IN ('available', 'running')`
	// expired leases first (they are the oldest work), then due jobs,
	// earliest first; SQLite runs one UPDATE at a time, so no two claims
	// see the same row
	qClaimJobs = `UPDATE jobs SET state = 'running', attempt = attempt + 1, worker = ?, lease_until = ?
		WHERE id IN (SELECT id FROM (
			SELECT id FROM (SELECT id FROM jobs WHERE state = 'running' AND lease_until <= ? ORDER BY lease_until LIMIT ?)
			UNION ALL
			SELECT id FROM (SELECT id FROM jobs WHERE state = 'available' AND run_at <= ? ORDER BY run_at, id LIMIT ?)
		) LIMIT ?)
		RETURNING ` + jobColumns
	// read first, on a reader: an idle poll does not take the writer
	qAnyJobDue = `SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'available' AND run_at <= ?)
		OR EXISTS (SELECT 1 FROM jobs WHERE state = 'running' AND lease_until <= ?)`
	qExtendJob   = `UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND worker = ?`
	qCompleteJob = `UPDATE jobs SET state = 'completed', lease_until = NULL, finished = ?
		WHERE id = ? AND state = 'running' AND worker = ?`
	qRetryJob = `UPDATE jobs SET state = 'available', lease_until = NULL, run_at = ?, last_error = ?
		WHERE id = ? AND state = 'running' AND worker = ?`
	qFailJob = `UPDATE jobs SET state = 'discarded', lease_until = NULL, finished = ?, last_error = ?
		WHERE id = ? AND state = 'running' AND worker = ?`
	qDeleteFinishedJobs = `DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ?`
)

// EnqueueTx implements jobs.Store.
func (s *Jobs) EnqueueTx(ctx context.Context, tx *sql.Tx, j jobs.Job) (int64, error) {
	j, err := jobs.Prepare(j)
	if err != nil {
		return 0, err
	}
	var key any
	if j.Key != "" {
		key = j.Key
	}
	var id int64
	err = tx.QueryRowContext(ctx, qEnqueueJob, j.Kind, key, string(j.Args), j.MaxAttempts, jobTime(j.RunAt)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) && key != nil {
		// the key names an unfinished job already
		err = tx.QueryRowContext(ctx, qUnfinishedJobByKey, key).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("enqueue job: %w", err)
	}
	return id, nil
}

// Enqueue implements jobs.Store.
func (s *Jobs) Enqueue(ctx context.Context, j jobs.Job) (int64, error) {
	tx, err := s.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("enqueue job: %w", err)
	}
	id, err := s.EnqueueTx(ctx, tx, j)
	if err != nil {
		tx.Rollback()
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("enqueue job: %w", err)
	}
	return id, nil
}

// Claim implements jobs.Store with one UPDATE … RETURNING, after a look on
// a reader that spares the writer when nothing is due.
func (s *Jobs) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration, n int) ([]jobs.Job, error) {
	if worker == "" || n <= 0 || lease <= 0 {
		return nil, garde.Errorf(garde.EInvalid, "a claim names a worker, a positive lease and a positive count")
	}
	at := now.UnixNano()
	var due bool
	if err := s.db.reader.QueryRowContext(ctx, qAnyJobDue, at, at).Scan(&due); err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	if !due {
		return nil, nil
	}
	rows, err := s.db.writer.QueryContext(ctx, qClaimJobs, worker, now.Add(lease).UnixNano(), at, n, at, n, n)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	js, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	// RETURNING has no order: earliest due first
	sortJobs(js)
	return js, nil
}

// Extend implements jobs.Store.
func (s *Jobs) Extend(ctx context.Context, id int64, worker string, until time.Time) error {
	return s.leased(ctx, "extend", id, worker, qExtendJob, until.UnixNano(), id, worker)
}

// Complete implements jobs.Store.
func (s *Jobs) Complete(ctx context.Context, id int64, worker string, now time.Time) error {
	return s.leased(ctx, "complete", id, worker, qCompleteJob, now.UnixNano(), id, worker)
}

// Retry implements jobs.Store.
func (s *Jobs) Retry(ctx context.Context, id int64, worker string, runAt time.Time, errText string) error {
	return s.leased(ctx, "retry", id, worker, qRetryJob, jobTime(runAt), jobError(errText), id, worker)
}

// Fail implements jobs.Store.
func (s *Jobs) Fail(ctx context.Context, id int64, worker string, now time.Time, errText string) error {
	return s.leased(ctx, "fail", id, worker, qFailJob, now.UnixNano(), jobError(errText), id, worker)
}

// leased runs a statement that acts on job id only while worker holds its
// lease, and tells why it did not.
func (s *Jobs) leased(ctx context.Context, op string, id int64, worker, query string, args ...any) error {
	res, err := s.db.writer.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s job: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s job: %w", op, err)
	}
	if n > 0 {
		return nil
	}
	var state string
	err = s.db.reader.QueryRowContext(ctx, `SELECT state FROM jobs WHERE id = ?`, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return garde.Errorf(garde.ENotFound, "no job %d", id)
	}
	if err != nil {
		return fmt.Errorf("%s job: %w", op, err)
	}
	return garde.Errorf(garde.EConflict, "cannot %s job %d: it is %s and not leased to this worker", op, id, state)
}

// FindJobs implements jobs.Store.
func (s *Jobs) FindJobs(ctx context.Context, f jobs.Filter) ([]jobs.Job, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + jobColumns + ` FROM jobs WHERE 1 = 1`)
	var args []any
	if f.State != "" {
		q.WriteString(` AND state = ?`)
		args = append(args, string(f.State))
	}
	if f.Kind != "" {
		q.WriteString(` AND kind = ?`)
		args = append(args, f.Kind)
	}
	q.WriteString(` ORDER BY id`)
	if f.Limit > 0 {
		q.WriteString(` LIMIT ?`)
		args = append(args, f.Limit)
	}
	rows, err := s.db.reader.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	js, err := scanJobs(rows)
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	return js, nil
}

// DeleteFinishedJobs implements jobs.Store.
func (s *Jobs) DeleteFinishedJobs(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.writer.ExecContext(ctx, qDeleteFinishedJobs, before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("delete finished jobs: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// scanJobs reads and closes rows of jobColumns.
func scanJobs(rows *sql.Rows) ([]jobs.Job, error) {
	defer rows.Close()
	var js []jobs.Job
	for rows.Next() {
		var j jobs.Job
		var args, state string
		var runAt int64
		var lease, finished sql.NullInt64
		if err := rows.Scan(&j.ID, &j.Kind, &j.Key, &args, &state, &j.Attempt, &j.MaxAttempts, &runAt, &j.Worker,
			&lease, &j.LastError, &finished); err != nil {
			return nil, err
		}
		j.Args, j.State = []byte(args), jobs.State(state)
		if runAt != 0 {
			j.RunAt = nsTime(runAt)
		}
		j.LeaseUntil, j.Finished = fromOptionalNS(lease), fromOptionalNS(finished)
		js = append(js, j)
	}
	return js, rows.Err()
}

// sortJobs orders claimed jobs as they were chosen: earliest due first.
func sortJobs(js []jobs.Job) {
	slices.SortFunc(js, func(a, b jobs.Job) int {
		return cmp.Or(cmp.Compare(jobTime(a.RunAt), jobTime(b.RunAt)), cmp.Compare(a.ID, b.ID))
	})
}

// jobTime is a job time as stored: zero (at once) is 0.
func jobTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// jobError is the error text kept with an attempt, cut to jobs.MaxError
// bytes.
func jobError(s string) string { return garde.Truncate(s, jobs.MaxError-len("…")) }
