package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
)

// The audit log's layout (migration 00014) serves the two things the log
// must do fast — append in the act's transaction, and re-hash every entry
// on `garde audit verify` — and keeps every query indexed:
//
//   - audit_segments holds the entries themselves, several consecutive ones
//     per row (a segment, up to segmentBytes): for each entry, its
//     canonical encoding (exactly the bytes that were hashed, see package
//     audit) framed by its length, then its 32-byte hash. Verify streams the
//     rows and re-hashes the bytes as they are, without decoding them into
//     entries or reading a row per entry, which is what made it slow; an
//     append writes one or a few rows instead of one per entry (and its
//     share of the key runs, below). Small appends (one entry per act) are
//     added to the last segment, so that a log written one entry at a time
//     is packed as densely as a batched one.
//   - min_at and max_at bound the times of a segment's entries (indexed
//     for since/until), and the key runs (auditruns.go, migration 00017)
//     name the segments that have each value of the fields a Filter
//     selects by: actor, action, purpose and each listed subject (the
//     per-subject index every copy of a person's data uses). A query looks
//     up the candidate segments through these indexes, then decodes their
//     entries and keeps those the filter selects: what a query returns is
//     always read from the hashed bytes, never from a copy.
//   - Those copies (first_seq, the time bounds, the runs) are not hashed,
//     so ScanAudit checks them against the bytes as Verify walks the log:
//     a key deleted to hide an entry from a query, or a column edited on
//     its own, is reported at the entry it concerns.
//
// The view `audit` (same migration) decodes the segments in SQL into the
// former one-row-per-entry table, for ad-hoc reading with the sqlite3
// shell; it is slow and no code path uses it.

// segmentBytes is the size a segment is filled to (about 55 entries of a
// typical size): large enough that a batch writes few rows and keys and
// Verify reads few rows, small enough that adding one entry to the last
// segment rewrites at most four pages. (Measured against 3,968 and 8,000
// with BenchmarkAppend and BenchmarkVerify: both faster, one-entry appends
// no slower.) An entry larger than that gets a segment of its own. (A
// variable for the tests, which make many small segments.)
var segmentBytes = 16000

// Key kinds of the key runs: a key is the kind, '=' and the value.
const (
	keyActor   = 'a'
	keyAction  = 'v'
	keyPurpose = 'p'
	keySubject = 's'
)

// Queries of the audit log's writes, written once for every engine.
const (
	qLastSegment = `SELECT first_seq, min_at, max_at, body FROM audit_segments ORDER BY first_seq DESC LIMIT 1`
	qTailShape   = `SELECT first_seq, length(body), max_at, (SELECT COALESCE(max(seq), 0) FROM audit_checkpoints)
		FROM audit_segments ORDER BY first_seq DESC LIMIT 1`
	qUpdateSegment    = `UPDATE audit_segments SET min_at = ?, max_at = ?, body = ? WHERE first_seq = ?`
	qCreateCheckpoint = `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)`
	qLastCheckpoint   = `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`
	qFindCheckpoints  = `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq`
)

// The log's multi-row inserts (see multiRow).
var (
	qCreateSegment = multiRow(`INSERT INTO audit_segments (first_seq, min_at, max_at, body) VALUES `, 4, "")
)

// preparedAudit lists what Audit prepares once on the writer.
func preparedAudit() []string {
	qs := []string{qLastSegment, qTailShape, qUpdateSegment, qLastCheckpoint}
	for _, n := range rowsPer {
		qs = append(qs, qCreateSegment[n], qCreateKeyRuns[n])
	}
	return qs
}

// AuditTx adapts any write transaction of the data database to the audit
// log's Tx. It prepares its statements in the transaction; Audit.Tx, which
// reuses statements prepared once, is faster.
func AuditTx(tx *sql.Tx) audit.Tx { return &auditTx{tx: tx} }

type auditTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // prepared on the writer; nil: none
	bound map[string]*sql.Stmt // stmts bound to (or prepared in) tx
	cache *tailCache           // nil: none
	runs  *auditRuns           // the key runs' upkeep (nil: none)
	// tail is the last segment as this transaction last read or wrote it
	// (first == 0: none, the log is empty); loaded says whether it is known.
	tail   segment
	loaded bool
	// lastCP is the last checkpoint as the cache knew it, when cachedHead
	// found the cache valid and its checkpoint still the last one stored
	lastCP   audit.Checkpoint
	cpCached bool
}

// tailCache keeps the last segment and the log's head (the last entry's
// seq and hash) as the last append through one Audit left them, so that
// the next append does not read back and parse up to segmentBytes, and
// the last checkpoint, so that it does not read that either. It is
// trusted only while the stored last segment still has the same first_seq,
// length and max_at: the log only grows, so anything appended since (by
// another process, such as the CLI) changes one of them, and so does the
// rollback of the transaction that cached it. The checkpoint is trusted
// only while, besides, the last one stored still has its seq (the same
// query reads both: one query per append instead of two).
type tailCache struct {
	mu   sync.Mutex
	tail segment // first == 0: nothing cached
	seq  int64
	hash []byte
	cp   audit.Checkpoint
	cpOK bool // cp is known (cp.Seq == 0: there is none)
}

func (c *tailCache) get() (segment, int64, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tail, c.seq, c.hash
}

func (c *tailCache) checkpoint() (audit.Checkpoint, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cp, c.cpOK
}

// putCheckpoint records cp as the last checkpoint (ok: known).
func (c *tailCache) putCheckpoint(cp audit.Checkpoint, ok bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.cp, c.cpOK = cp, ok
	c.mu.Unlock()
}

func (c *tailCache) put(tail segment, seq int64, hash []byte) {
	if c == nil {
		return
	}
	tail.body = tail.body[:len(tail.body):len(tail.body)] // appends copy
	hash = bytes.Clone(hash)
	c.mu.Lock()
	c.tail, c.seq, c.hash = tail, seq, hash
	c.mu.Unlock()
}

// segment is one row of audit_segments.
type segment struct {
	first        int64
	minAt, maxAt int64
	body         []byte
}

// stmt returns q prepared for t: bound from the writer's statements, or
// prepared in the transaction.
func (t *auditTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.bound[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if ws, ok := t.stmts[q]; ok {
		st = t.tx.StmtContext(ctx, ws)
	} else {
		var err error
		if st, err = t.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
	}
	if t.bound == nil {
		t.bound = map[string]*sql.Stmt{}
	}
	t.bound[q] = st
	return st, nil
}

// LastAudit returns the last entry's seq and hash: from the cache when the
// stored last segment is still the one cached, else read from that segment.
func (t *auditTx) LastAudit(ctx context.Context) (int64, []byte, error) {
	if seq, hash, ok, err := t.cachedHead(ctx); ok || err != nil {
		return seq, hash, err
	}
	if err := t.loadTail(ctx); err != nil {
		return 0, nil, err
	}
	if t.tail.first == 0 {
		return 0, nil, nil
	}
	var last audit.RawEntry
	err := eachFrame(t.tail.body, func(r audit.RawEntry) error { last = r; return nil })
	v, perr := audit.ParseView(last.Canonical)
	if err != nil || perr != nil || len(last.Hash) != 32 {
		return 0, nil, errDamaged(t.tail.first)
	}
	t.cache.put(t.tail, v.Seq, last.Hash)
	return v.Seq, last.Hash, nil
}

// cachedHead returns the cached head (ok) if the stored last segment is
// the cached one, and makes that segment t's tail.
func (t *auditTx) cachedHead(ctx context.Context) (seq int64, hash []byte, ok bool, err error) {
	if t.cache == nil {
		return 0, nil, false, nil
	}
	tail, seq, hash := t.cache.get()
	if tail.first == 0 {
		return 0, nil, false, nil
	}
	st, err := t.stmt(ctx, qTailShape)
	if err != nil {
		return 0, nil, false, err
	}
	var first, size, maxAt, cpSeq int64
	switch err := st.QueryRowContext(ctx).Scan(&first, &size, &maxAt, &cpSeq); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil, false, nil
	case err != nil:
		return 0, nil, false, err
	}
	if first != tail.first || size != int64(len(tail.body)) || maxAt != tail.maxAt {
		return 0, nil, false, nil
	}
	t.tail, t.loaded = tail, true
	if cp, ok := t.cache.checkpoint(); ok && cp.Seq == cpSeq {
		t.lastCP, t.cpCached = cp, true
	}
	return seq, hash, true, nil
}

func (t *auditTx) loadTail(ctx context.Context) error {
	st, err := t.stmt(ctx, qLastSegment)
	if err != nil {
		return err
	}
	var s segment
	err = st.QueryRowContext(ctx).Scan(&s.first, &s.minAt, &s.maxAt, &s.body)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	t.tail, t.loaded = s, true
	return nil
}

// errBadFrame: a segment's body does not split into whole entries.
var errBadFrame = errors.New("audit: a damaged segment")

func errDamaged(first int64) error {
	return fmt.Errorf("audit: the segment from entry %d is damaged: run garde audit verify", first)
}

// CreateAudit adds the entries to the last segment while it has room, then
// to new segments, and does its share of the key runs' upkeep.
func (t *auditTx) CreateAudit(ctx context.Context, entries []audit.Entry, encoded [][]byte) error {
	if len(entries) == 0 {
		return nil
	}
	if !t.loaded {
		if err := t.loadTail(ctx); err != nil {
			return err
		}
	}
	var (
		cur     = t.tail
		isTail  = cur.first != 0 // cur is the last row already stored
		grown   bool             // entries were added to that row
		tail    segment          // that row as it ends up
		created []segment
		frame   = make([]byte, 0, 512)
		added   int64 // bytes of frames
	)
	for i := range entries {
		e := &entries[i]
		at := e.Time.UnixMicro()
		frame = binary.BigEndian.AppendUint32(frame[:0], 0)
		frame = append(frame, encoded[i]...)
		binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
		frame = append(frame, e.Hash...)
		added += int64(len(frame))
		if cur.first == 0 || len(cur.body) > 0 && len(cur.body)+len(frame) > segmentBytes {
			switch {
			case isTail && grown:
				tail = cur
			case cur.first != 0 && !isTail:
				created = append(created, cur)
			}
			cur, isTail = segment{first: e.Seq, minAt: at, maxAt: at, body: make([]byte, 0, segmentBytes)}, false
		}
		cur.body = append(cur.body, frame...)
		cur.minAt, cur.maxAt = min(cur.minAt, at), max(cur.maxAt, at)
		grown = grown || isTail
	}
	if isTail {
		tail = cur
	} else {
		created = append(created, cur)
	}
	if grown {
		st, err := t.stmt(ctx, qUpdateSegment)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, tail.minAt, tail.maxAt, tail.body, tail.first); err != nil {
			return err
		}
	}
	rows := make([]any, 0, 4*len(created))
	for _, s := range created {
		rows = append(rows, s.first, s.minAt, s.maxAt, s.body)
	}
	if err := t.insert(ctx, qCreateSegment, 4, rows); err != nil {
		return err
	}
	if t.runs != nil {
		if err := t.runs.step(ctx, t, added); err != nil {
			return err
		}
	}
	t.tail = cur
	last := &entries[len(entries)-1]
	t.cache.put(cur, last.Seq, last.Hash)
	return nil
}

// insert writes rows with the multi-row statements of qs (insertRows).
func (t *auditTx) insert(ctx context.Context, qs map[int]string, cols int, rows []any) error {
	return insertRows(ctx, func(q string) (*sql.Stmt, error) { return t.stmt(ctx, q) }, qs, cols, rows)
}

func (t *auditTx) CreateCheckpoint(ctx context.Context, cp audit.Checkpoint) error {
	_, err := t.tx.ExecContext(ctx, qCreateCheckpoint, cp.Seq, cp.Hash, cp.Time.UnixMicro(), cp.KeyID, cp.Signature)
	if err == nil {
		t.lastCP, t.cpCached = cp, true
		t.cache.putCheckpoint(cp, true) // as the tail: trusted only if committed (cachedHead)
	}
	return err
}

// LastCheckpoint returns the last checkpoint: from the cache when
// cachedHead found it still the last one stored, else read.
func (t *auditTx) LastCheckpoint(ctx context.Context) (audit.Checkpoint, bool, error) {
	if t.cpCached {
		return t.lastCP, t.lastCP.Seq != 0, nil
	}
	st, err := t.stmt(ctx, qLastCheckpoint)
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	cp, err := scanCheckpoint(st.QueryRowContext(ctx))
	if errors.Is(err, sql.ErrNoRows) {
		t.lastCP, t.cpCached = audit.Checkpoint{}, true
		t.cache.putCheckpoint(audit.Checkpoint{}, true)
		return audit.Checkpoint{}, false, nil
	}
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	t.lastCP, t.cpCached = cp, true
	t.cache.putCheckpoint(cp, true)
	return cp, true, nil
}

func scanCheckpoint(row scannable) (audit.Checkpoint, error) {
	var cp audit.Checkpoint
	var at int64
	err := row.Scan(&cp.Seq, &cp.Hash, &at, &cp.KeyID, &cp.Signature)
	cp.Time = time.UnixMicro(at).UTC()
	return cp, err
}

// Audit is the audit log's store: it reads the log (audit.Reader and
// audit.Scanner) and adapts write transactions to audit.Tx with statements
// prepared once.
type Audit struct {
	db    *DB
	stmts map[string]*sql.Stmt // prepared on the writer; nil if that failed
	tail  tailCache
}

var (
	_ audit.Reader  = (*Audit)(nil)
	_ audit.Scanner = (*Audit)(nil)
)

// NewAudit returns the audit log store of the data database db. Call it at
// start-up, not while a write transaction is open: it prepares statements
// on the writer's one connection.
func NewAudit(db *DB) *Audit {
	a := &Audit{db: db}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stmts := map[string]*sql.Stmt{}
	for _, q := range preparedAudit() {
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
func (a *Audit) Tx(tx *sql.Tx) audit.Tx {
	return &auditTx{tx: tx, stmts: a.stmts, cache: &a.tail, runs: a.db.auditRuns}
}

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

// eachFrame calls fn with each entry of a segment's body: its canonical
// encoding and its hash (slices of body). A body that does not split into
// whole frames is damaged: the rest of it is handed to fn as one entry
// without a hash, and eachFrame then returns an error.
func eachFrame(body []byte, fn func(audit.RawEntry) error) error {
	for len(body) > 0 {
		n := -1
		if len(body) >= 4 {
			n = int(binary.BigEndian.Uint32(body))
		}
		if n < 0 || n > len(body)-4-32 {
			if err := fn(audit.RawEntry{Canonical: body}); err != nil {
				return err
			}
			return errBadFrame
		}
		if err := fn(audit.RawEntry{Canonical: body[4 : 4+n : 4+n], Hash: body[4+n : 4+n+32 : 4+n+32]}); err != nil {
			return err
		}
		body = body[4+n+32:]
	}
	return nil
}
