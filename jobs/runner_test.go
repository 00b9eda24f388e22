package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/jobs"
	"github.com/garde-privacy/garde/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// syncBuffer collects log lines from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func openDB(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.OpenSQLite(context.Background(), path, "data")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func newStore(tb testing.TB) *store.Jobs {
	return store.NewJobs(openDB(tb, filepath.Join(tb.TempDir(), "garde.db")))
}

// newRunner runs handlers over st at clk's time; a failed attempt n waits
// n minutes.
func newRunner(st jobs.Store, clk garde.Clock, handlers map[string]jobs.Handler) (*jobs.Runner, *syncBuffer) {
	logs := &syncBuffer{}
	return &jobs.Runner{Store: st, Handlers: handlers, Clock: clk, Log: slog.New(slog.NewJSONHandler(logs, nil)),
		Workers: 2, Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute }}, logs
}

func enqueue(t *testing.T, st jobs.Store, j jobs.Job) int64 {
	t.Helper()
	id, err := st.Enqueue(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func findJob(t *testing.T, st jobs.Store, id int64) jobs.Job {
	t.Helper()
	js, err := st.FindJobs(context.Background(), jobs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range js {
		if j.ID == id {
			return j
		}
	}
	t.Fatalf("no job %d", id)
	return jobs.Job{}
}

func runDue(t *testing.T, r *jobs.Runner, want int) {
	t.Helper()
	if n, err := r.RunDue(context.Background()); err != nil || n != want {
		t.Fatalf("RunDue: %d, %v, want %d", n, err, want)
	}
}

// TestRunnerRetry: a failed attempt is retried after its backoff, and the
// job completes when an attempt succeeds.
func TestRunnerRetry(t *testing.T) {
	st, clk := newStore(t), gardetest.NewClock(t0)
	var attempts []int
	r, _ := newRunner(st, clk, map[string]jobs.Handler{"mail": func(ctx context.Context, j jobs.Job) error {
		attempts = append(attempts, j.Attempt)
		if j.Attempt < 3 {
			return garde.Errorf(garde.EUnavailable, "mail server busy")
		}
		return nil
	}})
	id := enqueue(t, st, jobs.Job{Kind: "mail", Key: "r_1", Args: []byte(`{"request":"r_1"}`)})
	runDue(t, r, 1)
	j := findJob(t, st, id)
	if j.State != jobs.StateAvailable || !j.RunAt.Equal(t0.Add(time.Minute)) || j.LastError != "unavailable: mail server busy" {
		t.Fatalf("after attempt 1: %+v", j)
	}
	runDue(t, r, 0) // not due yet
	clk.Add(time.Minute)
	runDue(t, r, 1)
	if j := findJob(t, st, id); !j.RunAt.Equal(t0.Add(3*time.Minute)) || j.Attempt != 2 {
		t.Fatalf("after attempt 2: %+v", j)
	}
	clk.Add(2 * time.Minute)
	runDue(t, r, 1)
	if j := findJob(t, st, id); j.State != jobs.StateCompleted || !j.Finished.Equal(clk.Now()) || j.Attempt != 3 {
		t.Fatalf("after attempt 3: %+v", j)
	}
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Errorf("attempts %v", attempts)
	}
	clk.Add(time.Hour)
	runDue(t, r, 0)
}

// TestRunnerDiscard: a job is discarded after its last attempt, at once on
// a cancel or an unknown kind, and unrun when its last attempt was
// interrupted by a crash.
func TestRunnerDiscard(t *testing.T) {
	for _, tc := range []struct {
		name     string
		job      jobs.Job
		crash    bool // a worker claims the job and dies
		runs     int  // RunDue passes, a day apart
		calls    int
		attempt  int
		errorHas string
	}{
		{"max attempts", jobs.Job{Kind: "fail", MaxAttempts: 3}, false, 4, 3, 3, "unavailable: still failing"},
		{"cancel", jobs.Job{Kind: "cancel"}, false, 2, 1, 1, "forbidden: not verified"},
		{"unknown kind", jobs.Job{Kind: "nobody.handles.this"}, false, 2, 0, 1,
			`internal: no handler for job kind "nobody.handles.this"`},
		{"last attempt crashed", jobs.Job{Kind: "fail", MaxAttempts: 1}, true, 2, 0, 2, "no attempt left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clk := newStore(t), gardetest.NewClock(t0)
			calls := 0
			r, _ := newRunner(st, clk, map[string]jobs.Handler{
				"fail": func(ctx context.Context, j jobs.Job) error {
					calls++
					return garde.Errorf(garde.EUnavailable, "still failing")
				},
				"cancel": func(ctx context.Context, j jobs.Job) error {
					calls++
					return jobs.Cancel(garde.Errorf(garde.EForbidden, "not verified"))
				},
			})
			id := enqueue(t, st, tc.job)
			if tc.crash {
				if js, err := st.Claim(context.Background(), "crashed", clk.Now(), time.Minute, 1); err != nil || len(js) != 1 {
					t.Fatal(js, err)
				}
			}
			for range tc.runs {
				clk.Add(24 * time.Hour)
				if _, err := r.RunDue(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			j := findJob(t, st, id)
			if j.State != jobs.StateDiscarded || calls != tc.calls || j.Attempt != tc.attempt ||
				!strings.Contains(j.LastError, tc.errorHas) || j.Finished.IsZero() {
				t.Errorf("got %+v after %d calls, want discarded after %d calls, attempt %d, error %q", j, calls,
					tc.calls, tc.attempt, tc.errorHas)
			}
		})
	}
}

// TestRunnerPrivacy: a panic is recovered and retried; what is kept of a
// failure, in the job and in the logs, is the public code and message:
// never a panic's value nor an error's cause.
func TestRunnerPrivacy(t *testing.T) {
	const email = "alice@example.com"
	for _, tc := range []struct {
		name      string
		fail      func() error
		lastError string
	}{
		{"panic", func() error { panic("no mailbox for " + email) }, "internal: the job's handler panicked"},
		{"runtime panic", func() error {
			var m map[string]int
			//lint:ignore SA5000 the test provokes a runtime panic on purpose
			m[email]++
			return nil
		}, "internal: the job's handler panicked: assignment to entry in nil map"},
		{"garde error", func() error {
			return garde.Wrap(garde.EUnavailable, errors.New("smtp: "+email+" refused"), "mail not sent")
		}, "unavailable: mail not sent"},
		{"plain error", func() error { return fmt.Errorf("smtp: %s refused", email) }, "internal: internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clk := newStore(t), gardetest.NewClock(t0)
			r, logs := newRunner(st, clk, map[string]jobs.Handler{"mail": func(ctx context.Context, j jobs.Job) error {
				if j.Attempt == 1 {
					return tc.fail()
				}
				return nil
			}})
			id := enqueue(t, st, jobs.Job{Kind: "mail"})
			runDue(t, r, 1)
			if j := findJob(t, st, id); j.State != jobs.StateAvailable || j.LastError != tc.lastError {
				t.Errorf("after the failure: %+v, want available with error %q", j, tc.lastError)
			}
			clk.Add(time.Hour)
			runDue(t, r, 1)
			if j := findJob(t, st, id); j.State != jobs.StateCompleted || j.Attempt != 2 {
				t.Errorf("after the retry: %+v", j)
			}
			if l := logs.String(); strings.Contains(l, "alice") || !strings.Contains(l, `"job":`+fmt.Sprint(id)) {
				t.Errorf("logs:\n%s", l)
			}
		})
	}
}

// TestRunnersExactlyOnce: two runners of 4 workers, each on its own
// connection to one database (two processes), run 400 jobs: every job
// once, and all completed.
func TestRunnersExactlyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "garde.db")
	stores := []*store.Jobs{store.NewJobs(openDB(t, path)), store.NewJobs(openDB(t, path))}
	var mu sync.Mutex
	runs := map[int64]int{}
	var total atomic.Int64
	handler := func(ctx context.Context, j jobs.Job) error {
		mu.Lock()
		runs[j.ID]++
		mu.Unlock()
		total.Add(1)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var runners []*jobs.Runner
	var wg sync.WaitGroup
	for _, st := range stores {
		r := &jobs.Runner{Store: st, Handlers: map[string]jobs.Handler{"count": handler}, Workers: 4,
			Poll: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
		runners = append(runners, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	const perRunner = 200
	for i := range perRunner {
		for k, st := range stores {
			enqueue(t, st, jobs.Job{Kind: "count", Args: fmt.Appendf(nil, `{"n":%d}`, i)})
			if i%10 == 0 {
				runners[k].Notify()
			}
		}
	}
	for deadline := time.Now().Add(60 * time.Second); total.Load() < 2*perRunner && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a second run, if any, would land now
	cancel()
	wg.Wait()
	if len(runs) != 2*perRunner || total.Load() != 2*perRunner {
		t.Fatalf("%d runs of %d jobs, want %d of %d", total.Load(), len(runs), 2*perRunner, 2*perRunner)
	}
	for id, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", id, n)
		}
	}
	js, err := stores[0].FindJobs(context.Background(), jobs.Filter{State: jobs.StateCompleted})
	if err != nil {
		t.Fatal(err)
	}
	workers := map[string]int{}
	for _, j := range js {
		workers[j.Worker]++
		if j.Attempt != 1 {
			t.Errorf("job %d: attempt %d", j.ID, j.Attempt)
		}
	}
	if len(js) != 2*perRunner {
		t.Errorf("%d jobs completed, want %d", len(js), 2*perRunner)
	}
	t.Logf("jobs per runner: %v", workers)
}

// TestRunnerTakeover: a worker that crashed holding a job leaves it until
// its lease ends; another runner then runs it, and the crashed worker can
// no longer complete it.
func TestRunnerTakeover(t *testing.T) {
	ctx := context.Background()
	st, clk := newStore(t), gardetest.NewClock(t0)
	var got []jobs.Job
	r, _ := newRunner(st, clk, map[string]jobs.Handler{"k": func(ctx context.Context, j jobs.Job) error {
		got = append(got, j)
		return nil
	}})
	r.Lease = time.Minute
	id := enqueue(t, st, jobs.Job{Kind: "k", Key: "r_1"})
	if js, err := st.Claim(ctx, "crashed", clk.Now(), time.Minute, 1); err != nil || len(js) != 1 {
		t.Fatal(js, err)
	}
	clk.Add(59 * time.Second)
	runDue(t, r, 0)
	clk.Add(time.Second)
	runDue(t, r, 1)
	if len(got) != 1 || got[0].ID != id || got[0].Attempt != 2 {
		t.Fatalf("handler got %+v", got)
	}
	if err := st.Complete(ctx, id, "crashed", clk.Now()); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("the crashed worker's Complete: got %v, want %s", err, garde.EConflict)
	}
	if j := findJob(t, st, id); j.State != jobs.StateCompleted || j.Worker == "crashed" {
		t.Errorf("job %+v", j)
	}
}

// TestRunnerHeartbeat: a handler that outlives its lease keeps the job
// (the runner extends the lease); one that loses it to another worker has
// its context ended and records nothing.
func TestRunnerHeartbeat(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	steal := make(chan struct{})
	var stolen atomic.Bool
	handler := func(ctx context.Context, j jobs.Job) error {
		if j.Kind == "victim" {
			close(steal)
			select {
			case <-ctx.Done():
				stolen.Store(!errors.Is(context.Cause(ctx), context.Canceled))
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return nil
			}
		}
		time.Sleep(1200 * time.Millisecond) // four leases
		return nil
	}
	r, logs := newRunner(st, garde.SystemClock{}, map[string]jobs.Handler{"long": handler, "victim": handler})
	r.Lease = 300 * time.Millisecond
	id := enqueue(t, st, jobs.Job{Kind: "long"})
	done := make(chan error)
	go func() {
		_, err := r.RunDue(ctx)
		done <- err
	}()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		case <-time.After(20 * time.Millisecond):
			if js, err := st.Claim(ctx, "thief", time.Now(), time.Minute, 1); err != nil || len(js) != 0 {
				t.Fatalf("claimed a job under a live lease: %v, %v", js, err)
			}
		}
	}
	if j := findJob(t, st, id); j.State != jobs.StateCompleted || j.Attempt != 1 {
		t.Fatalf("long job %+v", j)
	}

	// the lease is lost (the clock jumped, a pause …): the handler stops
	victim := enqueue(t, st, jobs.Job{Kind: "victim"})
	go func() {
		_, err := r.RunDue(ctx)
		done <- err
	}()
	<-steal
	var js []jobs.Job
	for deadline := time.Now().Add(5 * time.Second); len(js) == 0 && time.Now().Before(deadline); {
		var err error
		if js, err = st.Claim(ctx, "thief", time.Now().Add(time.Hour), time.Hour, 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(js) != 1 || js[0].ID != victim {
		t.Fatalf("stole %+v", js)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler went on after losing its lease")
	}
	if j := findJob(t, st, victim); !stolen.Load() || j.State != jobs.StateRunning || j.Worker != "thief" {
		t.Errorf("victim %+v (stopped: %v)", j, stolen.Load())
	}
	if !strings.Contains(logs.String(), "lease lost") {
		t.Errorf("logs:\n%s", logs)
	}
}

// TestRunnerRun: Run takes jobs as soon as it is notified (the poll is an
// hour), and when its context ends it stops its handlers, puts their jobs
// back due at once, and returns.
func TestRunnerRun(t *testing.T) {
	st, clk := newStore(t), gardetest.NewClock(t0)
	started := make(chan int64, 10)
	r, _ := newRunner(st, clk, map[string]jobs.Handler{
		"quick": func(ctx context.Context, j jobs.Job) error {
			started <- j.ID
			return nil
		},
		"slow": func(ctx context.Context, j jobs.Job) error {
			started <- j.ID
			<-ctx.Done()
			return ctx.Err()
		},
	})
	r.Poll = time.Hour
	r.Notify() // before Run: never blocks
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error)
	go func() { stopped <- r.Run(ctx) }()

	for _, kind := range []string{"quick", "slow"} {
		time.Sleep(20 * time.Millisecond) // Run is idle, waiting for the poll
		id := enqueue(t, st, jobs.Job{Kind: kind})
		r.Notify()
		select {
		case got := <-started:
			if got != id {
				t.Fatalf("started %d, want %d", got, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s job not started after Notify", kind)
		}
	}
	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	js, err := st.FindJobs(context.Background(), jobs.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 2 || js[0].State != jobs.StateCompleted || js[1].State != jobs.StateAvailable ||
		!js[1].RunAt.Equal(t0) || js[1].LastError != "unavailable: interrupted" {
		t.Errorf("jobs after stop: %+v", js)
	}

	if err := (&jobs.Runner{}).Run(context.Background()); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("Run without a store: got %v, want %s", err, garde.EInvalid)
	}
}

// BenchmarkRunDue: jobs run through the runner (4 workers, a handler that
// does nothing): claim, run and complete, on the real store.
func BenchmarkRunDue(b *testing.B) {
	ctx := context.Background()
	st := newStore(b)
	r := &jobs.Runner{Store: st, Workers: 4, Log: slog.New(slog.DiscardHandler),
		Handlers: map[string]jobs.Handler{"nop": func(context.Context, jobs.Job) error { return nil }}}
	const batch = 64
	done := 0
	for b.Loop() {
		b.StopTimer()
		for range batch {
			if _, err := st.Enqueue(ctx, jobs.Job{Kind: "nop", Args: []byte(`{"request":"r_1"}`)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		n, err := r.RunDue(ctx)
		if err != nil || n != batch {
			b.Fatal(n, err)
		}
		done += n
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "jobs/s")
}
