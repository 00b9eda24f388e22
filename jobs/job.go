// Package jobs runs durable work: a job is a row in the data database,
// enqueued in the same transaction as the act that needs it, claimed under
// a lease by one worker at a time, retried with backoff and discarded after
// its last attempt. The rights issue runs verified requests this way.
//
// Why not github.com/riverqueue/river: it runs on SQLite and PostgreSQL and
// enqueues in the caller's transaction, but its SQLite driver wants a pool
// of its own and a leader election, both of which would contend for the one
// write connection Garde's SQLite has (store.DB.Writer, shared with the
// collection group commit). This package is the small part of river Garde
// needs — one short statement per enqueue, claim and outcome, never holding
// the writer while a handler runs — behind a Store interface that a
// PostgreSQL adapter can implement later with FOR UPDATE SKIP LOCKED.
//
// No double execution: a job runs only in the worker holding its lease;
// Complete, Retry and Fail are refused to any other worker, and the Runner
// extends the lease while a handler runs (a heartbeat), stopping the handler
// if the lease is lost. A worker that crashes mid-job leaves its lease to
// expire, and the job is then run again: handlers must be idempotent (the
// rights fulfiller is).
//
// Privacy: a job's Args and Key hold opaque ids only, never personal data;
// the error kept with a failed attempt is the garde error's code and public
// message, never its internal cause.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// State is where a job stands.
type State string

// States. A job waits available until its RunAt, runs under a worker's
// lease, and ends completed or discarded (a permanent failure, or its last
// attempt failed). A retried job is available again.
const (
	StateAvailable State = "available"
	StateRunning   State = "running"
	StateCompleted State = "completed"
	StateDiscarded State = "discarded"
)

// States lists every state, in the order of the flow.
var States = []State{StateAvailable, StateRunning, StateCompleted, StateDiscarded}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// Finished reports whether a job in state s is done for good.
func (s State) Finished() bool { return s == StateCompleted || s == StateDiscarded }

// ParseState reads a state as an operator types it ("Running", " discarded ").
func ParseState(s string) (State, error) {
	st := State(strings.ToLower(strings.TrimSpace(s)))
	if !st.Valid() {
		return "", garde.Errorf(garde.EInvalid, "unknown job state %q (one of available, running, completed, discarded)",
			garde.Truncate(s, 40))
	}
	return st, nil
}

// Limits on what a job carries.
const (
	MaxKind  = 100      // bytes of Kind
	MaxKey   = 200      // bytes of Key
	MaxArgs  = 64 << 10 // bytes of Args
	MaxError = 500      // bytes of LastError, the cut mark included
	// DefaultMaxAttempts is a job's MaxAttempts when it names none.
	DefaultMaxAttempts = 10
	maxAttempts        = 1000
)

// Job is one unit of durable work.
type Job struct {
	ID int64
	// Kind names the handler that runs the job ("rights.fulfil").
	Kind string
	// Key, if set, is unique among jobs not yet finished: enqueueing a
	// second job with the key returns the first one's id (e.g. the request
	// id: a request is queued at most once at a time).
	Key string
	// Args is the handler's JSON input: ids only, never personal data.
	Args []byte
	// Attempt counts the attempts begun, this one included (1 on the
	// first run).
	Attempt     int
	MaxAttempts int
	// RunAt is when the job is due; zero: at once.
	RunAt time.Time
	// LastError is the code and public message of the last failed
	// attempt's error.
	LastError string

	// Set by the store, for operators.
	State  State
	Worker string // the worker holding (or that last held) the lease
	// LeaseUntil is when a running job's lease ends.
	LeaseUntil time.Time
	// Finished is when the job was completed or discarded.
	Finished time.Time
}

// Prepare checks a job about to be enqueued and fills in its defaults
// (Args "{}", MaxAttempts DefaultMaxAttempts). Store implementations call
// it, so that every engine accepts the same jobs.
func Prepare(j Job) (Job, error) {
	switch {
	case j.Kind == "" || len(j.Kind) > MaxKind || strings.TrimSpace(j.Kind) != j.Kind:
		return Job{}, garde.Errorf(garde.EInvalid, "a job's kind is 1 to %d bytes without surrounding space", MaxKind)
	case len(j.Key) > MaxKey:
		return Job{}, garde.Errorf(garde.EInvalid, "a job's key is at most %d bytes", MaxKey)
	case len(j.Args) > MaxArgs:
		return Job{}, garde.Errorf(garde.EInvalid, "a job's arguments are at most %d bytes", MaxArgs)
	case len(j.Args) > 0 && !json.Valid(j.Args):
		return Job{}, garde.Errorf(garde.EInvalid, "a job's arguments are JSON")
	case j.MaxAttempts < 0 || j.MaxAttempts > maxAttempts:
		return Job{}, garde.Errorf(garde.EInvalid, "a job has 1 to %d attempts", maxAttempts)
	}
	if len(j.Args) == 0 {
		j.Args = []byte("{}")
	}
	if j.MaxAttempts == 0 {
		j.MaxAttempts = DefaultMaxAttempts
	}
	j.ID, j.Attempt, j.LastError, j.State, j.Worker = 0, 0, "", StateAvailable, ""
	j.LeaseUntil, j.Finished = time.Time{}, time.Time{}
	return j, nil
}

// Filter selects jobs for operators. Zero fields select everything.
type Filter struct {
	State State
	Kind  string
	Limit int // 0: no limit
}

// Store keeps jobs. Implemented by store.Jobs (SQLite); a PostgreSQL
// implementation claims with FOR UPDATE SKIP LOCKED. Every method that
// names a worker acts only while that worker holds the job's lease (the
// job is running and leased to it, even if the lease has run out, as long
// as no one else claimed it): otherwise it is an EConflict, and ENotFound
// if there is no such job.
type Store interface {
	// EnqueueTx adds j (checked by Prepare) inside tx, a write transaction
	// on the same database, so that the job exists if and only if the act
	// that needs it commits. If a job with the same non-empty Key is not
	// yet finished, it returns that job's id and adds nothing.
	EnqueueTx(ctx context.Context, tx *sql.Tx, j Job) (int64, error)
	// Enqueue is EnqueueTx in a transaction of its own. It must not be
	// called while the caller holds a transaction on the write connection.
	Enqueue(ctx context.Context, j Job) (int64, error)
	// Claim leases up to n jobs to worker until now+lease, atomically:
	// available jobs due by now (earliest first) and running jobs whose
	// lease ended by now (their worker crashed). Each claimed job's
	// Attempt is incremented; a job may come back with Attempt beyond
	// MaxAttempts (its last attempt was interrupted), for the caller to
	// discard.
	Claim(ctx context.Context, worker string, now time.Time, lease time.Duration, n int) ([]Job, error)
	// Extend moves the end of worker's lease on job id to until.
	Extend(ctx context.Context, id int64, worker string, until time.Time) error
	// Complete marks job id completed at now.
	Complete(ctx context.Context, id int64, worker string, now time.Time) error
	// Retry makes job id available again at runAt, keeping errText (cut
	// to MaxError bytes) as its LastError. Its Attempt is kept.
	Retry(ctx context.Context, id int64, worker string, runAt time.Time, errText string) error
	// Fail discards job id at now, for good (a permanent error, or its
	// last attempt failed), keeping errText as its LastError.
	Fail(ctx context.Context, id int64, worker string, now time.Time, errText string) error
	// FindJobs returns the jobs f selects, by id.
	FindJobs(ctx context.Context, f Filter) ([]Job, error)
	// DeleteFinishedJobs deletes the jobs completed or discarded before
	// before, and returns how many.
	DeleteFinishedJobs(ctx context.Context, before time.Time) (int, error)
}

// Handler runs one job. A nil error completes it; Cancel(err) discards it
// at once; any other error is retried with backoff until the job's last
// attempt. A handler must be idempotent: after a crash, its job runs again.
// It should return when ctx ends (the runner stops, or lost the lease).
type Handler func(ctx context.Context, j Job) error

// cancelError marks an error as permanent.
type cancelError struct{ err error }

func (e *cancelError) Error() string {
	if e.err == nil {
		return "job cancelled"
	}
	return "job cancelled: " + e.err.Error()
}

func (e *cancelError) Unwrap() error { return e.err }

// Cancel marks err as permanent: returned by a handler, the job is
// discarded without further attempts.
func Cancel(err error) error {
	if err == nil {
		err = garde.Errorf(garde.EInvalid, "cancelled by its handler")
	}
	return &cancelError{err: err}
}

// IsCancel reports whether err was marked permanent by Cancel.
func IsCancel(err error) bool {
	var c *cancelError
	return errors.As(err, &c)
}

// ErrorText is what is kept of err with a failed attempt: the code and the
// public message of the garde error in its chain (never the internal cause,
// which may name someone), cut to MaxError bytes.
func ErrorText(err error) string {
	if err == nil {
		return ""
	}
	var e *garde.Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, context.Canceled):
			return garde.EUnavailable + ": interrupted"
		case errors.Is(err, context.DeadlineExceeded):
			return garde.EUnavailable + ": timed out"
		}
	}
	return garde.Truncate(garde.ErrorCode(err)+": "+garde.ErrorMessage(err), MaxError-len("…"))
}
