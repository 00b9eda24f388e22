package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jobs"
	"github.com/garde-privacy/garde/store"
)

var jobT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// openJobs is a job store over a fresh data database.
func openJobs(tb testing.TB) (*store.Jobs, *store.DB) {
	tb.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(tb.TempDir(), "garde.db"), "data")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return store.NewJobs(db), db
}

func jobIDs(js []jobs.Job) []int64 {
	ids := []int64{}
	for _, j := range js {
		ids = append(ids, j.ID)
	}
	return ids
}

func mustEnqueue(t *testing.T, s *store.Jobs, j jobs.Job) int64 {
	t.Helper()
	id, err := s.Enqueue(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func countJobs(t *testing.T, s *store.Jobs, f jobs.Filter) int {
	t.Helper()
	js, err := s.FindJobs(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return len(js)
}

// TestJobEnqueueTx: a job enqueued in a transaction exists if and only if
// the transaction commits, together with the act that needed it.
func TestJobEnqueueTx(t *testing.T) {
	ctx := context.Background()
	s, db := openJobs(t)
	for _, commit := range []bool{false, true} {
		tx, err := db.Writer().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO requests (id, type, jurisdiction, state, received, steps)
			VALUES (?, 'erasure', 'gdpr', 'verified', 1, 1)`, fmt.Sprint("r_", commit)); err != nil {
			t.Fatal(err)
		}
		id, err := s.EnqueueTx(ctx, tx, jobs.Job{Kind: "rights.fulfil", Key: fmt.Sprint("r_", commit),
			Args: []byte(`{"request":"r_x"}`)})
		if err != nil || id <= 0 {
			t.Fatalf("enqueue: %d, %v", id, err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	js, err := s.FindJobs(ctx, jobs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var requests int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM requests`).Scan(&requests); err != nil {
		t.Fatal(err)
	}
	if len(js) != 1 || js[0].Key != "r_true" || requests != 1 {
		t.Fatalf("got jobs %+v and %d requests, want the committed one of each", js, requests)
	}
	want := jobs.Job{ID: js[0].ID, Kind: "rights.fulfil", Key: "r_true", Args: []byte(`{"request":"r_x"}`),
		MaxAttempts: jobs.DefaultMaxAttempts, State: jobs.StateAvailable}
	if diff := cmp.Diff(want, js[0]); diff != "" {
		t.Errorf("stored job (-want +got):\n%s", diff)
	}
}

// TestJobDedup: a key names at most one unfinished job; once it is
// finished, the key may be used again; no key, no de-duplication.
func TestJobDedup(t *testing.T) {
	ctx := context.Background()
	s, _ := openJobs(t)
	a := mustEnqueue(t, s, jobs.Job{Kind: "k", Key: "r_1"})
	if b := mustEnqueue(t, s, jobs.Job{Kind: "k", Key: "r_1", Args: []byte(`{"other":1}`)}); b != a {
		t.Errorf("same key while available: got id %d, want %d", b, a)
	}
	if b := mustEnqueue(t, s, jobs.Job{Kind: "k", Key: "r_2"}); b == a {
		t.Errorf("another key: got the same id %d", b)
	}
	js, err := s.Claim(ctx, "w1", jobT0, time.Minute, 10)
	if err != nil || len(js) != 2 {
		t.Fatalf("claim: %v, %v", js, err)
	}
	if b := mustEnqueue(t, s, jobs.Job{Kind: "k", Key: "r_1"}); b != a {
		t.Errorf("same key while running: got id %d, want %d", b, a)
	}
	if err := s.Complete(ctx, a, "w1", jobT0); err != nil {
		t.Fatal(err)
	}
	c := mustEnqueue(t, s, jobs.Job{Kind: "k", Key: "r_1"})
	if c == a {
		t.Errorf("same key once completed: got the finished job's id %d", c)
	}
	if d := mustEnqueue(t, s, jobs.Job{Kind: "k", Key: "r_1"}); d != c {
		t.Errorf("same key again: got %d, want %d", d, c)
	}
	x, y := mustEnqueue(t, s, jobs.Job{Kind: "k"}), mustEnqueue(t, s, jobs.Job{Kind: "k"})
	if x == y {
		t.Errorf("no key: both got id %d", x)
	}
	if n := countJobs(t, s, jobs.Filter{}); n != 5 {
		t.Errorf("got %d jobs, want 5", n)
	}
}

// TestJobLease: a job runs in the worker holding its lease; a crashed
// worker's lease is taken over once it ends, and that worker can then no
// longer complete, retry, fail or extend the job.
func TestJobLease(t *testing.T) {
	ctx := context.Background()
	s, _ := openJobs(t)
	id := mustEnqueue(t, s, jobs.Job{Kind: "k", Key: "r_1", MaxAttempts: 3})

	js, err := s.Claim(ctx, "w1", jobT0, time.Minute, 5)
	if err != nil || len(js) != 1 {
		t.Fatalf("claim: %v, %v", js, err)
	}
	if j := js[0]; j.ID != id || j.Attempt != 1 || j.State != jobs.StateRunning || j.Worker != "w1" ||
		!j.LeaseUntil.Equal(jobT0.Add(time.Minute)) {
		t.Errorf("claimed %+v", j)
	}
	// while the lease holds, no one else gets it
	if js, err := s.Claim(ctx, "w2", jobT0.Add(59*time.Second), time.Minute, 5); err != nil || len(js) != 0 {
		t.Fatalf("claim during the lease: %v, %v", js, err)
	}
	// w1 crashes; its lease runs out and w2 takes the job over
	js, err = s.Claim(ctx, "w2", jobT0.Add(time.Minute), time.Minute, 5)
	if err != nil || len(js) != 1 || js[0].ID != id || js[0].Attempt != 2 || js[0].Worker != "w2" {
		t.Fatalf("take-over: %+v, %v", js, err)
	}
	for name, op := range map[string]func() error{
		"complete": func() error { return s.Complete(ctx, id, "w1", jobT0) },
		"retry":    func() error { return s.Retry(ctx, id, "w1", jobT0, "x") },
		"fail":     func() error { return s.Fail(ctx, id, "w1", jobT0, "x") },
		"extend":   func() error { return s.Extend(ctx, id, "w1", jobT0.Add(time.Hour)) },
	} {
		if err := op(); garde.ErrorCode(err) != garde.EConflict {
			t.Errorf("%s by the old worker: got %v, want %s", name, err, garde.EConflict)
		}
	}
	if err := s.Complete(ctx, id+1, "w2", jobT0); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("complete a missing job: got %v, want %s", err, garde.ENotFound)
	}
	// the heartbeat keeps it: not claimable when the first lease would end
	if err := s.Extend(ctx, id, "w2", jobT0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if js, err := s.Claim(ctx, "w3", jobT0.Add(5*time.Minute), time.Minute, 5); err != nil || len(js) != 0 {
		t.Fatalf("claim of an extended lease: %v, %v", js, err)
	}
	// retried, then failed for good
	if err := s.Retry(ctx, id, "w2", jobT0.Add(time.Hour), "unavailable: try later"); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(ctx, id, "w2", jobT0); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("complete once put back: got %v, want %s", err, garde.EConflict)
	}
	if js, err := s.Claim(ctx, "w3", jobT0.Add(59*time.Minute), time.Minute, 5); err != nil || len(js) != 0 {
		t.Fatalf("claim before run_at: %v, %v", js, err)
	}
	js, err = s.Claim(ctx, "w3", jobT0.Add(time.Hour), time.Minute, 5)
	if err != nil || len(js) != 1 || js[0].Attempt != 3 || js[0].LastError != "unavailable: try later" {
		t.Fatalf("claim after run_at: %+v, %v", js, err)
	}
	long := strings.Repeat("é", 400)
	if err := s.Fail(ctx, id, "w3", jobT0.Add(2*time.Hour), long); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindJobs(ctx, jobs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if j := got[0]; j.State != jobs.StateDiscarded || !j.Finished.Equal(jobT0.Add(2*time.Hour)) ||
		len(j.LastError) > jobs.MaxError || !strings.HasSuffix(j.LastError, "é…") || !j.LeaseUntil.IsZero() {
		t.Errorf("discarded %+v (error %d bytes)", j, len(j.LastError))
	}
	if err := s.Complete(ctx, id, "w3", jobT0); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("complete once discarded: got %v, want %s", err, garde.EConflict)
	}
}

// TestJobClaimOrder: a claim takes due jobs only, expired leases and then
// the earliest due, at most n.
func TestJobClaimOrder(t *testing.T) {
	ctx := context.Background()
	s, _ := openJobs(t)
	later := mustEnqueue(t, s, jobs.Job{Kind: "k", RunAt: jobT0.Add(time.Hour)})
	b := mustEnqueue(t, s, jobs.Job{Kind: "k", RunAt: jobT0.Add(2 * time.Minute)})
	a := mustEnqueue(t, s, jobs.Job{Kind: "k", RunAt: jobT0.Add(time.Minute)})
	now := mustEnqueue(t, s, jobs.Job{Kind: "k"})
	crashed := mustEnqueue(t, s, jobs.Job{Kind: "k", RunAt: jobT0.Add(-time.Hour)})
	if js, err := s.Claim(ctx, "w0", jobT0.Add(-time.Hour), time.Minute, 1); err != nil ||
		!cmp.Equal(jobIDs(js), []int64{now}) {
		t.Fatalf("first claim: %v, %v", jobIDs(js), err)
	}
	if js, err := s.Claim(ctx, "w0", jobT0.Add(-time.Hour), time.Minute, 1); err != nil ||
		!cmp.Equal(jobIDs(js), []int64{crashed}) {
		t.Fatalf("second claim: %v, %v", jobIDs(js), err)
	}
	// the leases of w0, run out, come first, then the earliest due
	js, err := s.Claim(ctx, "w1", jobT0.Add(30*time.Minute), time.Minute, 3)
	if err != nil || !cmp.Equal(jobIDs(js), []int64{now, crashed, a}) {
		t.Errorf("third claim: got %v, %v, want %v", jobIDs(js), err, []int64{now, crashed, a})
	}
	if js, err := s.Claim(ctx, "w1", jobT0.Add(30*time.Minute), time.Minute, 10); err != nil ||
		!cmp.Equal(jobIDs(js), []int64{b}) {
		t.Errorf("last claim: got %v, %v, want %v (%d is not due)", jobIDs(js), err, []int64{b}, later)
	}
	if _, err := s.Claim(ctx, "", jobT0, time.Minute, 1); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("claim without a worker: got %v, want %s", err, garde.EInvalid)
	}
}

// TestJobFind: operators select by state and kind, hostile values taken as
// values; finished jobs are pruned by age.
func TestJobFind(t *testing.T) {
	ctx := context.Background()
	s, _ := openJobs(t)
	const hostile = `x'); DROP TABLE jobs; --`
	a := mustEnqueue(t, s, jobs.Job{Kind: "a"})
	b := mustEnqueue(t, s, jobs.Job{Kind: hostile})
	c := mustEnqueue(t, s, jobs.Job{Kind: "a"})
	if js, err := s.Claim(ctx, "w", jobT0, time.Minute, 1); err != nil || js[0].ID != a {
		t.Fatal(jobIDs(js), err)
	}
	if err := s.Complete(ctx, a, "w", jobT0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    jobs.Filter
		want []int64
	}{
		{"all", jobs.Filter{}, []int64{a, b, c}},
		{"kind", jobs.Filter{Kind: "a"}, []int64{a, c}},
		{"hostile kind", jobs.Filter{Kind: hostile}, []int64{b}},
		{"state", jobs.Filter{State: jobs.StateAvailable}, []int64{b, c}},
		{"state and kind", jobs.Filter{State: jobs.StateCompleted, Kind: "a"}, []int64{a}},
		{"hostile state", jobs.Filter{State: hostile}, []int64{}},
		{"limit", jobs.Filter{Limit: 2}, []int64{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			js, err := s.FindJobs(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, jobIDs(js)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct {
		before time.Time
		want   int
	}{{jobT0, 0}, {jobT0.Add(time.Nanosecond), 1}, {jobT0.Add(time.Hour), 0}} {
		if n, err := s.DeleteFinishedJobs(ctx, tc.before); err != nil || n != tc.want {
			t.Errorf("delete finished before %v: got %d, %v, want %d", tc.before, n, err, tc.want)
		}
	}
	if n := countJobs(t, s, jobs.Filter{}); n != 2 {
		t.Errorf("got %d jobs after pruning, want 2", n)
	}
}

// TestJobInvalid: a job the jobs package refuses is not stored.
func TestJobInvalid(t *testing.T) {
	s, _ := openJobs(t)
	for name, j := range map[string]jobs.Job{
		"no kind":       {},
		"long kind":     {Kind: strings.Repeat("k", jobs.MaxKind+1)},
		"long key":      {Kind: "k", Key: strings.Repeat("k", jobs.MaxKey+1)},
		"not JSON":      {Kind: "k", Args: []byte("{")},
		"huge args":     {Kind: "k", Args: []byte(`"` + strings.Repeat("a", jobs.MaxArgs) + `"`)},
		"many attempts": {Kind: "k", MaxAttempts: 1001},
	} {
		if _, err := s.Enqueue(context.Background(), j); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("%s: got %v, want %s", name, err, garde.EInvalid)
		}
	}
	if n := countJobs(t, s, jobs.Filter{}); n != 0 {
		t.Errorf("got %d jobs, want none", n)
	}
}

// TestJobQueryPlan: a claim reads the partial indexes, not the whole table
// (which keeps every finished job until it is pruned).
func TestJobQueryPlan(t *testing.T) {
	_, db := openJobs(t)
	for name, q := range map[string]string{
		"due":    `SELECT id FROM jobs WHERE state = 'available' AND run_at <= 1 ORDER BY run_at, id LIMIT 1`,
		"leases": `SELECT id FROM jobs WHERE state = 'running' AND lease_until <= 1 ORDER BY lease_until LIMIT 1`,
		"key":    `SELECT id FROM jobs WHERE key = 'k' AND state IN ('available', 'running')`,
	} {
		if p := queryPlan(t, db, q); !strings.Contains(p, "USING") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s: plan %q", name, p)
		}
	}
}

// FuzzJobRoundTrip: any job the jobs package accepts comes back from the
// store as it went in; any other is refused as invalid.
func FuzzJobRoundTrip(f *testing.F) {
	s, _ := openJobs(f)
	f.Add("rights.fulfil", "r_1", []byte(`{"request":"r_1","actor":"privacy-centre"}`), 3)
	f.Add("k", "", []byte(nil), 0)
	f.Add(" k", "\x00", []byte("{"), -1)
	f.Add("ké", "é\xff", []byte(`"\u0000"`), 1000)
	n := 0
	f.Fuzz(func(t *testing.T, kind, key string, args []byte, attempts int) {
		ctx := context.Background()
		if key != "" {
			// a key of its own: de-duplication is TestJobDedup's
			n++
			key = fmt.Sprint(n, ":", key)
		}
		in := jobs.Job{Kind: kind, Key: key, Args: args, MaxAttempts: attempts}
		want, perr := jobs.Prepare(in)
		id, err := s.Enqueue(ctx, in)
		if perr != nil {
			if garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("refused by Prepare (%v), stored with: %v", perr, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		js, err := s.FindJobs(ctx, jobs.Filter{Kind: kind, State: jobs.StateAvailable})
		if err != nil {
			t.Fatal(err)
		}
		want.ID = id
		for _, got := range js {
			if got.ID == id {
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("round trip (-want +got):\n%s", diff)
				}
				return
			}
		}
		t.Fatalf("job %d not found by its kind", id)
	})
}

// BenchmarkEnqueueClaimComplete: one job's whole life on the store: three
// durable commits (enqueue, claim, complete), or with a batch of 16 jobs
// claimed together.
func BenchmarkEnqueueClaimComplete(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			ctx := context.Background()
			s, _ := openJobs(b)
			args := []byte(`{"request":"r_0123456789abcdef","actor":"privacy-centre"}`)
			now := jobT0
			done := 0
			for b.Loop() {
				for i := 0; i < batch; i++ {
					if _, err := s.Enqueue(ctx, jobs.Job{Kind: "rights.fulfil", Key: fmt.Sprint("r_", done, "_", i),
						Args: args}); err != nil {
						b.Fatal(err)
					}
				}
				js, err := s.Claim(ctx, "w", now, time.Minute, batch)
				if err != nil || len(js) != batch {
					b.Fatal(len(js), err)
				}
				for _, j := range js {
					if err := s.Complete(ctx, j.ID, "w", now); err != nil {
						b.Fatal(err)
					}
				}
				done++
			}
			b.ReportMetric(float64(done*batch)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

// queryPlan returns SQLite's plan for q, its steps joined by "; ".
func queryPlan(t *testing.T, db *store.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Reader().Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}
