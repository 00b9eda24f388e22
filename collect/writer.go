package collect

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
)

// Keys is what the writer needs from the vault: keys for subjects about to
// have a value sealed, created once per group commit, and sealing.
type Keys interface {
	HasKey(ctx context.Context, s garde.SubjectID) (bool, error)
	CreateKeys(ctx context.Context, subjects []garde.SubjectID) error
	// BeginKeys makes keys for subjects that have none, usable at once;
	// store writes them durably, and must have returned nil before
	// anything sealed with them is committed (vault.BeginKeys).
	BeginKeys(subjects []garde.SubjectID) (store func(context.Context) error, err error)
	Seal(ctx context.Context, s garde.SubjectID, field string, plaintext []byte) ([]byte, error)
	// SealFields seals in place an event's fields laid out in b from start
	// on: garde's format 2 header, then the values in clear.
	SealFields(ctx context.Context, s garde.SubjectID, b []byte, start int) ([]byte, error)
}

// Store opens the write transactions of the collection path. Only the
// writer calls it, from one goroutine.
type Store interface {
	BeginCollect(ctx context.Context) (Tx, error)
}

// Syncer is a Store whose group commits return before they are durable:
// Sync makes every group committed so far durable, in one flush. The writer
// acknowledges a group only after a Sync that began after its commit, and
// meanwhile commits the next group: the disk's latency overlaps the work
// instead of adding to it.
type Syncer interface {
	Sync() error
}

// Tx is one group commit. It is used from one goroutine.
type Tx interface {
	// Suppressed reports whether any of the identities belongs to a person
	// who was erased and asked not to be collected again.
	Suppressed(ctx context.Context, ids []Identity) (bool, error)
	// FindIdentity returns the subject an identity belongs to, or "".
	FindIdentity(ctx context.Context, kind string, hash []byte) (garde.SubjectID, error)
	// FindIdentities looks many identities up at once: found is called
	// with each one that belongs to a subject.
	FindIdentities(ctx context.Context, ids []Identity, found func(id Identity, s garde.SubjectID)) error
	// FindSubject returns the subject's canonical id (itself unless merged)
	// and whether it is identified (has a userId); "" when there is no
	// such subject (erased).
	FindSubject(ctx context.Context, id garde.SubjectID) (canonical garde.SubjectID, identified bool, err error)
	CreateSubject(ctx context.Context, id garde.SubjectID, identified bool, now time.Time) error
	CreateIdentity(ctx context.Context, kind string, hash []byte, s garde.SubjectID, now time.Time) error
	MarkIdentified(ctx context.Context, s garde.SubjectID) error
	// DeleteIdentities deletes the identities of kind that belong to s or
	// to a subject merged into it, and returns their hashes.
	DeleteIdentities(ctx context.Context, s garde.SubjectID, kind string) ([][]byte, error)
	// MergeSubject makes from (and everything merged into it) part of into.
	MergeSubject(ctx context.Context, from, into garde.SubjectID) error
	TouchSubject(ctx context.Context, s garde.SubjectID, seen time.Time) error
	// CreateEvents appends events (in order), several rows per statement.
	CreateEvents(ctx context.Context, rows []EventRow) error
	UpsertTrait(ctx context.Context, s garde.SubjectID, t *Trait, value []byte, now time.Time) error
	AddViolations(ctx context.Context, v map[ViolationKey]int, now time.Time) error
	Commit() error
	Rollback() error
}

// EventRow is an event as stored.
type EventRow struct {
	Subject    garde.SubjectID
	Source     string
	Type       string
	Name       string
	MessageID  string
	Time       time.Time
	Received   time.Time
	Purposes   string
	Properties string // JSON object
	Context    string // JSON object
	Sealed     []byte // the sealed fields (garde's format 2, Keys.SealFields); nil: none
}

// WriterOptions bound the writer's memory and its group commits.
type WriterOptions struct {
	// MaxPending is how many events may wait for the writer before callers
	// get ETooMany (429): backpressure instead of unbounded memory.
	MaxPending int
	// MaxGroup is how many events one group commit takes at most.
	MaxGroup int
	// Linger is how long the writer waits for more submissions when a
	// group would hold fewer than LingerEvents and the last group had
	// several submissions (callers are concurrent). A group commit costs
	// much the same whatever its size (its pages written, its audit
	// entry): with 32 concurrent single-event calls, groups of ~6 events
	// gave 4,100–4,600 events/s, and a linger of 1 ms 5,800–6,300, with a
	// lower p50 (5 ms instead of 7). Batches of 100 never linger, nor
	// does a lone caller. Default 1 ms and 32 events; a negative Linger
	// turns it off.
	Linger       time.Duration
	LingerEvents int
}

// Writer is the single writer of the collection path: it takes prepared
// records from many requests, resolves their subjects, seals their personal
// values and stores them in group commits — one transaction for everything
// that arrived meanwhile — and answers each request only once its records
// are durable.
type Writer struct {
	store    Store
	keys     Keys
	purposes func(inventory.PurposeSet) string
	// purposeKeys remembers purposes' answers: a handful of distinct sets
	// serve every event (writer goroutine only)
	purposeKeys map[inventory.PurposeSet]string
	opts        WriterOptions
	log         *slog.Logger
	metrics     *Metrics

	queue   chan *submission
	pending atomic.Int64
	// toSync carries committed groups to syncLoop when the store is a
	// Syncer; synced says syncLoop has ended
	syncer Syncer
	toSync chan committed
	synced chan struct{}
	mu     sync.RWMutex // guards closed against Submit racing Close
	closed bool
	done   chan struct{}

	tally  Tally
	ids    *identityCache
	gate   Gate
	audit  GroupAudit
	merged [][2]garde.SubjectID
	rows   []EventRow // the group's events, written together
	// seen and todo are the group's last-seen times and records to seal
	// (commit)
	seen map[garde.SubjectID]time.Time
	todo []toSeal
	// touched remembers the last_seen time last written per subject, so that
	// a subject's row is updated at most once per TouchInterval.
	touched touchMemo
}

// touchMemo maps subjects to the last-seen time (Unix ms) last written for
// them, for at most about limit subjects: two generations of maps, the
// older dropped whole when the newer is full, so that a look-up is one or
// two map reads (an LRU list's bookkeeping cost the writer ~1 µs per
// event). A subject forgotten early only has its row written once more.
// The writer goroutine alone uses it.
type touchMemo struct {
	cur, old map[garde.SubjectID]int64
	limit    int
}

func newTouchMemo(limit int) touchMemo {
	return touchMemo{cur: make(map[garde.SubjectID]int64), limit: limit}
}

func (m *touchMemo) get(s garde.SubjectID) (int64, bool) {
	if t, ok := m.cur[s]; ok {
		return t, true
	}
	t, ok := m.old[s]
	return t, ok
}

func (m *touchMemo) add(s garde.SubjectID, t int64) {
	if _, ok := m.cur[s]; !ok && len(m.cur) >= m.limit/2 {
		m.old, m.cur = m.cur, make(map[garde.SubjectID]int64, m.limit/2)
	}
	m.cur[s] = t
}

func (m *touchMemo) remove(s garde.SubjectID) {
	delete(m.cur, s)
	delete(m.old, s)
}

func (m *touchMemo) purge() { *m = newTouchMemo(m.limit) }

// TouchInterval is the precision of a subject's last-seen time: retention
// counts in months, so one write per subject per hour is plenty.
const TouchInterval = time.Hour

type submission struct {
	recs  []Record
	local *Tally
	job   Job
	after func()
	// exclusive runs alone between two group commits (Exclusive)
	exclusive func(context.Context) ([]garde.SubjectID, error)
	err       chan error
}

// Job is work that other capabilities (the consent ledger) do inside a group
// commit: it runs in the group's transaction, after the group's records,
// and may resolve subjects exactly as events do. The after function it
// returns, if any, runs once the group is durable and before the next group
// starts, so that in-memory state changes in commit order.
type Job func(ctx context.Context, tx Tx, resolve Resolve) (after func(), err error)

// Resolve finds the subject of the given identities (strongest first) or,
// when create is set, creates it. It returns "" when none is known and
// create is false.
type Resolve func(ctx context.Context, ids []Identity, received time.Time, create bool) (garde.SubjectID, error)

// Gate says which purposes an event may be stored for now: the consent
// gate. Merged is told, after a commit, of every anonymous subject merged
// into another, so that consent follows the person.
type Gate interface {
	Storable(s garde.SubjectID, purposes inventory.PurposeSet, now time.Time) inventory.PurposeSet
	Merged(from, into garde.SubjectID)
}

// NewWriter starts the writer goroutine.
func NewWriter(st Store, keys Keys, gate Gate, purposes func(inventory.PurposeSet) string, opts WriterOptions, log *slog.Logger, m *Metrics) *Writer {
	if gate == nil {
		gate = openGate{}
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 50_000
	}
	if opts.Linger == 0 {
		opts.Linger = time.Millisecond
	}
	if opts.LingerEvents <= 0 {
		opts.LingerEvents = 32
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 10_000
	}
	w := &Writer{
		store: st, keys: keys, gate: gate, purposes: purposes, opts: opts, log: log, metrics: m,
		queue: make(chan *submission, opts.MaxPending),
		done:  make(chan struct{}),
		ids:   newIdentityCache(200_000),
	}
	w.touched = newTouchMemo(200_000)
	w.seen = map[garde.SubjectID]time.Time{}
	if sy, ok := st.(Syncer); ok {
		w.syncer, w.toSync, w.synced = sy, make(chan committed, 64), make(chan struct{})
		go w.syncLoop()
	}
	go w.run()
	return w
}

// committed is a group commit waiting for Sync: its submissions and how
// many events they count for.
type committed struct {
	group []*submission
	n     int
}

// syncLoop makes committed groups durable, as many at once as have
// committed meanwhile, and acknowledges them.
func (w *Writer) syncLoop() {
	defer close(w.synced)
	for first := range w.toSync {
		batch := []committed{first}
	more:
		for {
			select {
			case c, ok := <-w.toSync:
				if !ok {
					break more
				}
				batch = append(batch, c)
			default:
				break more
			}
		}
		start := time.Now()
		err := w.syncer.Sync()
		w.metrics.SyncSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			// the groups are committed but may not survive a crash: their
			// callers are told to retry (and may store an event twice)
			w.log.Error("could not make group commits durable", "err", err)
			err = garde.Wrap(garde.EUnavailable, err, "could not store the events; retry later")
		}
		for _, c := range batch {
			w.ack(c.group, c.n, err)
		}
	}
}

// ack answers the submissions of a group with its outcome.
func (w *Writer) ack(group []*submission, n int, err error) {
	w.pending.Add(-int64(n))
	w.metrics.QueueDepth.Set(float64(w.pending.Load()))
	for _, s := range group {
		s.err <- err
	}
}

// Submit hands records (and the violations counted while preparing them) to
// the writer and waits until they are durable. It returns ETooMany at once
// when the writer is saturated, and EUnavailable after Close.
// Callers should Preseal recs first.
func (w *Writer) Submit(ctx context.Context, recs []Record, local *Tally) error {
	return w.enqueue(&submission{recs: recs, local: local})
}

// presealed is a record sealed in its request's goroutine, before the
// writer had it: valid for the writer only if the caches still say what
// they said then (epoch) and the consent gate still lets through exactly
// the same purposes.
type presealed struct {
	subject garde.SubjectID
	epoch   uint64
	sealed  sealedRecord
}

// stillSealed reports whether rec was sealed before the writer had it
// (Preseal) and the caches have not changed since: its subject stands.
func (w *Writer) stillSealed(rec *Record) bool {
	return rec.pre != nil && rec.pre.epoch == w.ids.epoch.Load()
}

// Preseal seals, in the calling request's goroutine, the records whose
// person the writer already knows for sure (identityCache.known), and says
// how many: sealing is most of the writer's work per event, and every
// request waits for the writer, while requests run side by side. The writer
// checks each such record at its turn (Submit) and seals again whatever no
// longer holds: the person was merged or erased meanwhile, or the consent
// gate now lets through other purposes.
func (w *Writer) Preseal(ctx context.Context, recs []Record) (n int) {
	for i := range recs {
		rec := &recs[i]
		rec.pre = nil
		if len(rec.Previous) > 0 || !rec.sealsSomething() {
			continue
		}
		epoch := w.ids.epoch.Load() // before reading the caches: see identityCache
		subj, ok := w.ids.known(rec.IDs)
		if !ok {
			continue
		}
		if sr := w.seal(ctx, subj, rec, rec.arena); sr.err == nil {
			rec.pre = rec.arena.presealed()
			*rec.pre = presealed{subject: subj, epoch: epoch, sealed: sr}
			n++
		}
	}
	return n
}

// enqueue hands s to the writer goroutine and waits for its outcome:
// EUnavailable after Close, ETooMany at once when the writer is saturated.
func (w *Writer) enqueue(s *submission) error {
	n := int64(s.size())
	s.err = make(chan error, 1)
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return garde.Errorf(garde.EUnavailable, "shutting down")
	}
	if w.pending.Add(n) > int64(w.opts.MaxPending) && n > 0 {
		w.pending.Add(-n)
		w.mu.RUnlock()
		return garde.Errorf(garde.ETooMany, "the writer is saturated; retry later")
	}
	w.queue <- s
	w.mu.RUnlock()
	w.metrics.QueueDepth.Set(float64(w.pending.Load()))
	return <-s.err
}

// GroupAudit appends the audit entry of one group commit inside its
// transaction: who wrote (the sources) about whom (the subjects).
type GroupAudit func(ctx context.Context, tx Tx, sources []string, subjects []garde.SubjectID) error

// SetAudit makes every group commit append its audit entry with fn. Call
// it before the first Submit.
func (w *Writer) SetAudit(fn GroupAudit) { w.audit = fn }

// size is how many events a submission counts for in MaxPending.
func (s *submission) size() int {
	if s.job != nil || s.exclusive != nil {
		return 1
	}
	return len(s.recs)
}

// openGate lets every purpose through: for tools and tests that run the
// writer without the consent gate.
type openGate struct{}

func (openGate) Storable(_ garde.SubjectID, p inventory.PurposeSet, _ time.Time) inventory.PurposeSet {
	return p
}
func (openGate) Merged(_, _ garde.SubjectID) {}

// Do runs job inside the next group commit and waits until that group is
// durable (or failed: then nothing the job wrote remains).
func (w *Writer) Do(ctx context.Context, job Job) error {
	return w.enqueue(&submission{job: job, local: &Tally{}})
}

// Exclusive runs fn in the writer goroutine between two group commits,
// with no transaction open and no event being written meanwhile, and then
// forgets everything the writer remembers of the subjects fn returns. It
// is how erasure runs beside collection: the person's rows and key go in
// fn, and no event of a group already resolved against the cache can land
// under their old subject id afterwards. fn must be short: collection
// waits for it.
func (w *Writer) Exclusive(ctx context.Context, fn func(context.Context) (forget []garde.SubjectID, err error)) error {
	return w.enqueue(&submission{exclusive: fn, local: &Tally{}})
}

// runExclusive runs one Exclusive submission.
func (w *Writer) runExclusive(s *submission) {
	forget, err := s.exclusive(context.Background())
	for _, id := range forget {
		w.ids.subjects.Remove(id)
		w.touched.remove(id)
	}
	w.ids.changed()
	// identities cached for a forgotten subject are found out when next
	// met: the subject is gone from the store (resolver.state)
	w.pending.Add(-1)
	s.err <- err
}

// Close stops taking submissions, writes everything already submitted, and
// returns when the writer goroutine has ended.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	if w.syncer != nil {
		defer func() { close(w.toSync); <-w.synced }()
	}
	group := make([]*submission, 0, 64)
	var held *submission // an Exclusive met while filling a group: it runs next
	lastSubs := 0        // submissions in the last group
	for {
		first := held
		held = nil
		if first == nil {
			var ok bool
			if first, ok = <-w.queue; !ok {
				return
			}
		}
		if first.exclusive != nil {
			w.runExclusive(first)
			continue
		}
		group = append(group[:0], first)
		n := first.size()
		var linger *time.Timer // armed once per group (WriterOptions.Linger)
	fill:
		for n < w.opts.MaxGroup {
			var s *submission
			var ok bool
			select {
			case s, ok = <-w.queue:
			default:
				if linger == nil && w.opts.Linger > 0 && n < w.opts.LingerEvents && lastSubs > 1 {
					linger = time.NewTimer(w.opts.Linger)
				}
				if linger == nil || n >= w.opts.LingerEvents {
					break fill
				}
				select {
				case s, ok = <-w.queue:
				case <-linger.C:
					break fill
				}
			}
			if !ok {
				break fill
			}
			if s.exclusive != nil {
				held = s
				break fill
			}
			group = append(group, s)
			n += s.size()
		}
		if linger != nil {
			linger.Stop()
		}
		lastSubs = len(group)
		start := time.Now()
		err := w.commit(group)
		w.metrics.GroupSeconds.Observe(time.Since(start).Seconds())
		w.metrics.GroupEvents.Observe(float64(n))
		if err != nil {
			w.ids.purge()
			w.touched.purge()
			w.log.Error("group commit failed", "events", n, "err", err)
			err = garde.Wrap(garde.EUnavailable, err, "could not store the events; retry later")
		}
		if err == nil {
			for _, s := range group {
				if s.after != nil {
					s.after()
				}
			}
			for _, m := range w.merged {
				w.gate.Merged(m[0], m[1])
			}
		}
		w.merged = w.merged[:0]
		if err == nil && w.syncer != nil {
			w.toSync <- committed{group: append([]*submission(nil), group...), n: n}
			continue
		}
		w.ack(group, n, err)
	}
}

// commit writes one group in one transaction: identities first (so that new
// subjects get their keys in one key-store transaction), then sealed events
// and traits, then the violation counts.
func (w *Writer) commit(group []*submission) error {
	ctx := context.Background()
	tx, err := w.store.BeginCollect(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	r := resolver{tx: tx, cache: w.ids}
	var unresolved []*Record // what resolve will look at
	for _, s := range group {
		for j := range s.recs {
			if !w.stillSealed(&s.recs[j]) {
				unresolved = append(unresolved, &s.recs[j])
			}
		}
	}
	if err := r.prefetch(ctx, unresolved); err != nil {
		return err
	}
	subjects := make([][]garde.SubjectID, len(group))
	for i, s := range group {
		subjects[i] = make([]garde.SubjectID, len(s.recs))
		for j := range s.recs {
			if w.stillSealed(&s.recs[j]) {
				subjects[i][j] = s.recs[j].pre.subject // resolve would say the same
				continue
			}
			s.recs[j].pre = nil
			if subjects[i][j], err = r.resolve(ctx, &s.recs[j]); err != nil {
				if !errors.Is(err, errSuppressed) {
					return err
				}
				w.tally.Count(s.recs[j].Source, safeName(s.recs[j].Name), "", ViolationSuppressed)
				err = nil // dropped: subjects[i][j] stays ""
			}
		}
		w.tally.Merge(s.local)
	}
	storeKeys, err := w.ensureKeys(ctx, &r, group, subjects)
	if err != nil {
		return err
	}
	// the new keys are stored (a key-store transaction and its flush)
	// while the group is sealed and inserted, and durable before it
	// commits; on an early return, the next group waits for them too
	keysStored := func() error { return nil }
	if storeKeys != nil {
		done := make(chan error, 1)
		go func() { done <- storeKeys(ctx) }()
		keysStored = sync.OnceValue(func() error { return <-done })
		defer keysStored()
	}
	// the group's lists and map are the writer's, reused (cleared when
	// the group is done: they point into the requests' records)
	seen, todo := w.seen, w.todo[:0]
	defer func() {
		if clear(seen); len(todo) > 4096 { // a map walks all it ever held
			w.seen = map[garde.SubjectID]time.Time{}
		}
		clear(todo)
		w.todo = todo[:0]
	}()
	sources := map[string]bool{}
	for i, s := range group {
		for j := range s.recs {
			if subjects[i][j] != "" { // "": a suppressed person
				todo = append(todo, toSeal{rec: &s.recs[j], subj: subjects[i][j]})
			}
		}
	}
	done := w.sealAll(ctx, todo)
	for k, t := range todo {
		sources[t.rec.Source] = true
		if err := w.write(ctx, tx, t.subj, t.rec, &done[k]); err != nil {
			return err
		}
		if t.rec.Received.After(seen[t.subj]) {
			seen[t.subj] = t.rec.Received
		}
	}
	if len(w.rows) > 0 {
		err := tx.CreateEvents(ctx, w.rows)
		clear(w.rows) // drop references to the group's data
		w.rows = w.rows[:0]
		if err != nil {
			return err
		}
	}
	for i, s := range r.created { // created with their last-seen time
		w.touched.add(s, r.createdAt[i].UnixMilli())
	}
	for subj, t := range seen {
		if last, ok := w.touched.get(subj); ok && t.UnixMilli() < last+TouchInterval.Milliseconds() {
			continue
		}
		if err := tx.TouchSubject(ctx, subj, t); err != nil {
			return err
		}
		w.touched.add(subj, t.UnixMilli())
	}
	for _, s := range group {
		if s.job == nil {
			continue
		}
		if s.after, err = s.job(ctx, tx, resolveWith(&r)); err != nil {
			return err
		}
	}
	w.merged = append(w.merged, r.merged...)
	if w.audit != nil {
		srcs := make([]string, 0, len(sources))
		for k := range sources {
			srcs = append(srcs, k)
		}
		sort.Strings(srcs)
		ids := make([]garde.SubjectID, 0, len(seen))
		for s := range seen {
			ids = append(ids, s)
		}
		if err := w.audit(ctx, tx, srcs, ids); err != nil {
			return err
		}
	}
	if v := w.tally.Drain(); len(v) > 0 {
		if err := tx.AddViolations(ctx, v, time.Now()); err != nil {
			return err
		}
	}
	if err := keysStored(); err != nil {
		return err
	}
	return tx.Commit()
}

// ensureKeys gives a data key to every subject of the group that is about
// to have a personal value sealed and has none yet: keys are created when
// first needed, so that a visitor who only sent a consent decision or
// non-personal events costs no key (and no key-store transaction). The
// keys are usable at once; store (nil: no key was needed) stores them.
func (w *Writer) ensureKeys(ctx context.Context, r *resolver, group []*submission, subjects [][]garde.SubjectID) (store func(context.Context) error, err error) {
	fresh := make(map[garde.SubjectID]bool, len(r.created))
	for _, s := range r.created {
		fresh[s] = true
	}
	var need []garde.SubjectID
	seen := map[garde.SubjectID]bool{}
	for i, sub := range group {
		for j := range sub.recs {
			rec, s := &sub.recs[j], subjects[i][j]
			if s == "" || seen[s] || rec.pre != nil || !rec.sealsSomething() {
				continue
			}
			seen[s] = true
			if !fresh[s] {
				ok, err := w.keys.HasKey(ctx, s)
				if err != nil {
					return nil, err
				}
				if ok {
					continue
				}
			}
			need = append(need, s)
		}
	}
	if len(need) == 0 {
		return nil, nil
	}
	return w.keys.BeginKeys(need)
}

// sealsSomething reports whether the record has a personal value to seal.
func (rec *Record) sealsSomething() bool {
	if len(rec.Personal) > 0 {
		return true
	}
	for i := range rec.Traits {
		if rec.Traits[i].Personal {
			return true
		}
	}
	return false
}

// toSeal is a record of the group and its subject.
type toSeal struct {
	rec  *Record
	subj garde.SubjectID
}

// sealedRecord is what the consent gate let through of a record, its
// personal values sealed: all write needs to store it.
type sealedRecord struct {
	serves, allowed inventory.PurposeSet
	traits          [][]byte // per trait: the value to store (sealed if personal); nil when refused now
	event           []byte   // the event's sealed values: {"path":"base64",…}
	err             error
}

// sealChunk is how many records one sealing goroutine takes at a time:
// with fewer than twice that left to seal, the writer seals alone.
const sealChunk = 128

// sealAll seals the group's records: sealing (AES-GCM into the sealed
// fields' binary format) needs no database and is the same whichever
// goroutine does it, while the writer goroutine is what every request
// waits for. Records presealed by their request (Preseal) only need the
// gate checked again,
// which is cheap; when many records are left to seal, helpers take chunks
// of them beside the writer, which seals too and waits only for the chunks
// a helper has started: a helper still queued behind busy request
// goroutines finds nothing left and costs the writer nothing.
func (w *Writer) sealAll(ctx context.Context, todo []toSeal) []sealedRecord {
	out := make([]sealedRecord, len(todo))
	unsealed := 0
	for _, t := range todo {
		if t.rec.pre == nil {
			unsealed++
		}
	}
	helpers := min(runtime.GOMAXPROCS(0), unsealed/sealChunk) - 1
	if helpers < 1 {
		for k, t := range todo {
			out[k] = w.seal(ctx, t.subj, t.rec, nil)
		}
		return out
	}
	chunks := (len(todo) + sealChunk - 1) / sealChunk
	var next atomic.Int64
	finished := make(chan struct{}, chunks)
	work := func() {
		for {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				return
			}
			for k := c * sealChunk; k < min((c+1)*sealChunk, len(todo)); k++ {
				out[k] = w.seal(ctx, todo[k].subj, todo[k].rec, nil)
			}
			finished <- struct{}{}
		}
	}
	for range helpers {
		go work()
	}
	work()
	for range chunks {
		<-finished
	}
	return out
}

// seal applies the consent gate to a record and seals what it lets
// through with the subject's key. It is safe for concurrent use.
func (w *Writer) seal(ctx context.Context, subj garde.SubjectID, rec *Record, a *arena) (out sealedRecord) {
	// the event is stored for the purposes it serves that are allowed now;
	// its fields ride along for theirs
	out.serves = w.gate.Storable(subj, rec.Serves, rec.Received)
	out.allowed = out.serves | w.gate.Storable(subj, rec.Purposes&^rec.Serves, rec.Received)
	if p := rec.pre; p != nil && p.subject == subj && p.sealed.serves == out.serves && p.sealed.allowed == out.allowed {
		return p.sealed // sealed for the same person and purposes before the writer had it
	}
	if out.serves.Empty() {
		return out
	}
	if len(rec.Traits) > 0 {
		out.traits = make([][]byte, len(rec.Traits))
		for i := range rec.Traits {
			t := &rec.Traits[i]
			if t.Set&out.allowed == 0 {
				continue
			}
			out.traits[i] = t.JSON
			if t.Personal {
				if out.traits[i], out.err = w.keys.Seal(ctx, subj, "traits."+t.Name, t.JSON); out.err != nil {
					return out
				}
			}
		}
	}
	if !rec.StoreEvent || len(rec.Personal) == 0 {
		return out
	}
	// the fields' paths and values sealed at once, in garde's format 2; a
	// field kept only for purposes refused now is left out
	var fieldsBuf [8]garde.SealedField
	fields, size, paths := fieldsBuf[:0], sealedOverhead, 0
	for _, v := range rec.Personal {
		if v.Purposes&out.allowed != 0 {
			fields = append(fields, garde.SealedField{Path: v.Path, Size: len(v.JSON)})
			size, paths = size+len(v.JSON), paths+len(v.Path)
		}
	}
	if len(fields) == 0 {
		return out
	}
	b := garde.AppendSealedHeader(a.alloc(size+garde.SealedHeaderSize(len(fields), paths)), fields)
	for _, v := range rec.Personal {
		if v.Purposes&out.allowed != 0 {
			b = append(b, v.JSON...)
		}
	}
	out.event, out.err = w.keys.SealFields(ctx, subj, b, 0)
	return out
}

// sealedOverhead is what sealing adds to an event's values (vault: a
// version byte, the nonce and the tag), to size the buffer of its sealed
// fields.
const sealedOverhead = 1 + 12 + 16

// write stores a sealed record, in the writer goroutine.
func (w *Writer) write(ctx context.Context, tx Tx, subj garde.SubjectID, rec *Record, sr *sealedRecord) error {
	if sr.err != nil {
		return sr.err
	}
	if sr.serves.Empty() {
		// nothing this record serves is allowed now: not stored at all
		if rec.StoreEvent || len(rec.Traits) > 0 {
			w.tally.Count(rec.Source, safeName(rec.Name), "", ViolationNoConsent)
			w.metrics.Dropped.WithLabelValues(rec.Source, ViolationNoConsent).Inc()
		}
		return nil
	}
	for i := range rec.Traits {
		if sr.traits[i] == nil {
			continue
		}
		if err := tx.UpsertTrait(ctx, subj, &rec.Traits[i], sr.traits[i], rec.Received); err != nil {
			return err
		}
	}
	if !rec.StoreEvent {
		return nil
	}
	w.rows = append(w.rows, EventRow{
		Subject: subj, Source: rec.Source, Type: rec.Type, Name: rec.Name, MessageID: rec.MessageID,
		Time: rec.Time, Received: rec.Received, Purposes: w.purposeKeysOf(sr.serves),
		Properties: rec.Properties, Context: rec.Context, Sealed: sr.event,
	})
	return nil
}

// purposeKeysOf is w.purposes(set), remembered.
func (w *Writer) purposeKeysOf(set inventory.PurposeSet) string {
	k, ok := w.purposeKeys[set]
	if !ok {
		if w.purposeKeys == nil || len(w.purposeKeys) > 4096 {
			w.purposeKeys = map[inventory.PurposeSet]string{}
		}
		k = w.purposes(set)
		w.purposeKeys[set] = k
	}
	return k
}

// SetTrait overwrites one trait of subject s, outside any event: a
// rectification. A personal value is sealed with the subject's key (created
// if the subject had none). The old value's row is overwritten in place;
// with secure_delete its bytes leave the database file, and the caller
// checkpoints the write-ahead log. A trait with an Identity also replaces
// the person's identities of its kind: the old value's blind index is
// deleted, so that it finds the person no more. ENotFound: no such subject;
// EConflict: the new identifier already belongs to another person.
func (w *Writer) SetTrait(ctx context.Context, s garde.SubjectID, t Trait) error {
	var refused error // the job's own refusal: not an error of the group
	err := w.Do(ctx, func(ctx context.Context, tx Tx, _ Resolve) (func(), error) {
		canonical, _, err := tx.FindSubject(ctx, s)
		if err != nil {
			return nil, err
		}
		if canonical == "" {
			refused = garde.Errorf(garde.ENotFound, "no such subject")
			return nil, nil
		}
		if t.Identity != nil {
			if refused, err = w.replaceIdentity(ctx, tx, canonical, *t.Identity); err != nil || refused != nil {
				return nil, err
			}
		}
		value := t.JSON
		if t.Personal {
			ok, err := w.keys.HasKey(ctx, canonical)
			if err == nil && !ok {
				err = w.keys.CreateKeys(ctx, []garde.SubjectID{canonical})
			}
			if err != nil {
				return nil, err
			}
			if value, err = w.keys.Seal(ctx, canonical, "traits."+t.Name, t.JSON); err != nil {
				return nil, err
			}
		}
		return nil, tx.UpsertTrait(ctx, canonical, &t, value, time.Now())
	})
	if err == nil {
		err = refused
	}
	return err
}

// replaceIdentity makes id the only identity of its kind of the person
// whose canonical subject is s, in the writer goroutine. It returns a
// refusal (EConflict) when id belongs to another person.
func (w *Writer) replaceIdentity(ctx context.Context, tx Tx, s garde.SubjectID, id Identity) (refused, err error) {
	r := resolver{tx: tx, cache: w.ids}
	owner, err := r.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if owner != "" {
		st, err := r.state(ctx, owner)
		if err != nil {
			return nil, err
		}
		if st.canonical != "" && st.canonical != s {
			return garde.Errorf(garde.EConflict, "this %s already belongs to another profile", id.Kind), nil
		}
	}
	old, err := tx.DeleteIdentities(ctx, s, id.Kind)
	if err != nil {
		return nil, err
	}
	for _, h := range old {
		w.ids.ids.Remove(idKey(Identity{Kind: id.Kind, Hash: h}))
	}
	w.ids.changed()
	if err := tx.CreateIdentity(ctx, id.Kind, id.Hash, s, time.Now()); err != nil {
		return nil, err
	}
	w.ids.ids.Add(idKey(id), s)
	return nil, nil
}
