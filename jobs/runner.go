package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
)

// Runner defaults.
const (
	DefaultWorkers = 2
	DefaultPoll    = time.Second
	DefaultLease   = 5 * time.Minute
	// maxBackoff caps DefaultBackoff.
	maxBackoff = time.Hour
	// finishTimeout bounds the write that records an attempt's outcome,
	// which runs even after the runner's context ended.
	finishTimeout = 30 * time.Second
)

// Runner claims due jobs and runs them with their kind's handler, Workers
// at a time. Several runners (in one process or several) may share a
// database: the lease makes each job run in one of them at a time.
// Zero fields take the defaults named beside them. Fields must not change
// once the runner is started.
type Runner struct {
	Store    Store
	Handlers map[string]Handler
	Clock    garde.Clock   // default garde.SystemClock
	Log      *slog.Logger  // default slog.Default()
	Workers  int           // jobs run at once; default 2
	Poll     time.Duration // how often to look for due jobs; default 1 s
	Lease    time.Duration // default 5 min; extended every Lease/3 while a handler runs
	// Backoff is how long to wait before the attempt after attempt
	// (1-based); default DefaultBackoff.
	Backoff func(attempt int) time.Duration
	// ID names this runner in the leases it takes; default the process id
	// and a random suffix (unique per runner).
	ID string

	once sync.Once
	id   string
	wake chan struct{}
}

// config is a runner's settings with the defaults filled in.
type config struct {
	clock   garde.Clock
	log     *slog.Logger
	workers int
	poll    time.Duration
	lease   time.Duration
	backoff func(int) time.Duration
}

func (r *Runner) init() {
	r.once.Do(func() {
		r.wake = make(chan struct{}, 1)
		r.id = r.ID
		if r.id == "" {
			var b [6]byte
			rand.Read(b[:])
			r.id = fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
		}
	})
}

func (r *Runner) config() (config, error) {
	r.init()
	if r.Store == nil {
		return config{}, garde.Errorf(garde.EInvalid, "a job runner needs a store")
	}
	c := config{clock: r.Clock, log: r.Log, workers: r.Workers, poll: r.Poll, lease: r.Lease, backoff: r.Backoff}
	if c.clock == nil {
		c.clock = garde.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.workers <= 0 {
		c.workers = DefaultWorkers
	}
	if c.poll <= 0 {
		c.poll = DefaultPoll
	}
	if c.lease <= 0 {
		c.lease = DefaultLease
	}
	if c.backoff == nil {
		c.backoff = DefaultBackoff
	}
	return c, nil
}

// DefaultBackoff waits 2^attempt seconds, ±10 %, at most an hour: 2 s
// after the first attempt, about 17 min after the tenth.
func DefaultBackoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 12 {
		d = time.Second << max(attempt, 0)
	}
	d += time.Duration((mrand.Float64()*0.2 - 0.1) * float64(d))
	return min(d, maxBackoff)
}

// Notify wakes a running Run at once to claim new jobs (call it after an
// enqueue commits). It never blocks.
func (r *Runner) Notify() {
	r.init()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs jobs until ctx ends: at once, every Poll, after
// Notify, and whenever a worker is free while more jobs are due. When ctx
// ends, the running handlers see their context end; Run waits for them,
// puts back the jobs they did not finish (due at once, the attempt
// counted), and returns nil. A store that fails is logged and tried again
// at the next poll. One Run at a time per Runner.
func (r *Runner) Run(ctx context.Context) error {
	c, err := r.config()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	done := make(chan struct{}, c.workers) // never blocks: one slot per worker
	tick := time.NewTicker(c.poll)
	defer tick.Stop()
	running, more := 0, true
	for {
		for more && running < c.workers && ctx.Err() == nil {
			want := c.workers - running
			js, err := r.Store.Claim(ctx, r.id, c.clock.Now(), c.lease, want)
			if err != nil {
				if ctx.Err() == nil {
					c.log.Error("could not claim jobs", "err", err)
				}
				more = false
				break
			}
			for _, j := range js {
				running++
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.execute(ctx, c, j)
					done <- struct{}{}
				}()
			}
			more = len(js) == want
		}
		select {
		case <-ctx.Done():
			return nil
		case <-done:
			running--
		case <-r.wake:
			more = true
		case <-tick.C:
			more = true
		}
	}
}

// RunDue runs every job due now, Workers at a time, until none is left
// due, and returns how many attempts it ran: one pass, for tests and the
// command line.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	c, err := r.config()
	if err != nil {
		return 0, err
	}
	n := 0
	for ctx.Err() == nil {
		js, err := r.Store.Claim(ctx, r.id, c.clock.Now(), c.lease, c.workers)
		if err != nil || len(js) == 0 {
			return n, err
		}
		var wg sync.WaitGroup
		for _, j := range js {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.execute(ctx, c, j)
			}()
		}
		wg.Wait()
		n += len(js)
	}
	return n, ctx.Err()
}

// errLeaseLost ends a handler's context when another worker took its job.
var errLeaseLost = errors.New("job lease lost")

// execute runs one claimed job and records its outcome.
func (r *Runner) execute(ctx context.Context, c config, j Job) {
	log := c.log.With("job", j.ID, "kind", j.Kind, "attempt", j.Attempt)
	h, ok := r.Handlers[j.Kind]
	var err error
	switch {
	case j.Attempt > j.MaxAttempts:
		err = Cancel(garde.Errorf(garde.EUnavailable, "no attempt left (the last one was interrupted)"))
	case !ok || h == nil:
		err = Cancel(garde.Errorf(garde.EInternal, "no handler for job kind %q", garde.Truncate(j.Kind, MaxKind)))
	default:
		hctx, cancel := context.WithCancelCause(ctx)
		stop := r.heartbeat(hctx, cancel, c, j, log)
		err = call(hctx, h, j, log)
		stop()
		cancel(nil)
	}
	r.finish(ctx, c, j, err, log)
}

// call runs h, turning a panic into the attempt's error.
func call(ctx context.Context, h Handler, j Job, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			// a panic's value may quote data: only the runtime's own
			// errors (an index out of range …) are kept
			msg := "the job's handler panicked"
			if re, ok := p.(runtime.Error); ok {
				msg += ": " + re.Error()
			}
			log.Error(msg, "stack", string(debug.Stack()))
			err = garde.Errorf(garde.EInternal, "%s", msg)
		}
	}()
	return h(ctx, j)
}

// heartbeat extends j's lease every Lease/3 until the returned stop is
// called; if another worker took the job, it ends the handler's context.
func (r *Runner) heartbeat(ctx context.Context, cancel context.CancelCauseFunc, c config, j Job,
	log *slog.Logger) (stop func()) {
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(max(c.lease/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := r.Store.Extend(ctx, j.ID, r.id, c.clock.Now().Add(c.lease))
			switch code := garde.ErrorCode(err); {
			case err == nil:
			case code == garde.EConflict || code == garde.ENotFound:
				log.Warn("job lease lost to another worker: stopping its handler")
				cancel(errLeaseLost)
				return
			case ctx.Err() == nil:
				log.Error("could not extend a job's lease", "err", err)
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
	}
}

// finish records the outcome of j's attempt: completed, discarded (a
// cancel, or the last attempt) or retried after a backoff; a job
// interrupted by the runner stopping is put back due at once.
func (r *Runner) finish(ctx context.Context, c config, j Job, err error, log *slog.Logger) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	now := c.clock.Now()
	text := ErrorText(err)
	var werr error
	switch {
	case err == nil:
		werr = r.Store.Complete(wctx, j.ID, r.id, now)
	case IsCancel(err) || (ctx.Err() == nil && j.Attempt >= j.MaxAttempts):
		log.Warn("job discarded", "code", garde.ErrorCode(err), "error", text)
		werr = r.Store.Fail(wctx, j.ID, r.id, now, text)
	case ctx.Err() != nil:
		log.Info("job interrupted: the runner stopped", "code", garde.ErrorCode(err), "error", text)
		werr = r.Store.Retry(wctx, j.ID, r.id, now, text)
	default:
		wait := max(c.backoff(j.Attempt), 0)
		log.Warn("job attempt failed", "code", garde.ErrorCode(err), "error", text, "retry_in", wait)
		werr = r.Store.Retry(wctx, j.ID, r.id, now.Add(wait), text)
	}
	switch code := garde.ErrorCode(werr); {
	case werr == nil:
	case code == garde.EConflict || code == garde.ENotFound:
		log.Warn("job lease lost to another worker: its outcome is not recorded")
	default:
		log.Error("could not record a job's outcome", "err", werr)
	}
}
