package store

import (
	"context"
	"database/sql"

	json "github.com/goccy/go-json"
)

// runList is how an index kept in runs (the events' by subject,
// eventindex.go; the audit log's by key, auditruns.go) lists them: a run
// is listed, incomplete, with its first rows and marked complete with its
// last; look-ups read complete runs only; the rows of a run a crash left
// incomplete go when the next one is listed. Each index writes its runs
// over several transactions, a slice at a time.
type runList struct {
	rows, list string // the tables: the runs' rows (a column run) and their listing (run, complete)
}

var (
	eventRunList = runList{rows: "event_runs", list: "event_run_list"}
	auditRunList = runList{rows: "audit_key_runs", list: "audit_key_run_list"}
)

// lastComplete is the query of the last complete run (0: none).
func (l runList) lastComplete() string {
	return `SELECT COALESCE(max(run), 0) FROM ` + l.list + ` WHERE complete`
}

// start lists run, incomplete, in tx, first dropping the rows and the
// listing of any run left incomplete.
func (l runList) start(ctx context.Context, tx *sql.Tx, run int64) error {
	for _, q := range []string{
		`DELETE FROM ` + l.rows + ` WHERE run IN (SELECT run FROM ` + l.list + ` WHERE NOT complete)`,
		`DELETE FROM ` + l.list + ` WHERE NOT complete`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+l.list+` (run, complete) VALUES (?, 0)`, run)
	return err
}

// finish marks run complete, in tx.
func (l runList) finish(ctx context.Context, tx *sql.Tx, run int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE `+l.list+` SET complete = 1 WHERE run = ?`, run)
	return err
}

// receive returns what ch holds: waiting for it if wait, else only if it
// is there (ok false otherwise). A run sorted on a goroutine of its own
// is picked up so, by the write that follows.
func receive[T any](ch <-chan T, wait bool) (v T, ok bool) {
	if wait {
		return <-ch, true
	}
	select {
	case v = <-ch:
		return v, true
	default:
		return v, false
	}
}

// jsonInts decodes a run's JSON list of ids.
func jsonInts(b []byte) ([]int64, error) {
	var out []int64
	err := json.Unmarshal(b, &out)
	return out, err
}
