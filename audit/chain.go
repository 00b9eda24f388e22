package audit

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/garde-privacy/garde"
)

// Tx is what the log needs inside the write transaction of the act it
// records. The store implements it over its transaction (store.AuditTx).
// Appends must be serialised: LastAudit returns the head as this
// transaction sees it, and no other transaction may append until this one
// ends (SQLite's single writer does that; another engine must lock the
// head).
type Tx interface {
	// LastAudit returns the seq and hash of the last entry, or 0 and nil
	// when the log is empty.
	LastAudit(ctx context.Context) (seq int64, hash []byte, err error)
	// CreateAudit stores complete entries (Seq, Time, Prev and Hash set),
	// their listed subjects included, in seq order; encoded[i] is entry i's
	// canonical encoding, the bytes its Hash covers (the slices are the
	// store's to keep).
	CreateAudit(ctx context.Context, entries []Entry, encoded [][]byte) error
	// CreateCheckpoint stores a signed checkpoint.
	CreateCheckpoint(ctx context.Context, cp Checkpoint) error
	// LastCheckpoint returns the checkpoint of highest seq, if any.
	LastCheckpoint(ctx context.Context) (Checkpoint, bool, error)
}

// Signer signs and verifies checkpoints (vault.Signer, for the "audit"
// use, is one). Verify must accept the signatures of retired keys.
type Signer interface {
	Sign(msg []byte) (kid string, sig []byte, err error)
	Verify(kid string, msg, sig []byte) error
}

// Checkpoint is a signed statement that the entry Seq has hash Hash, and so,
// through the chain, of every entry before it.
type Checkpoint struct {
	Seq       int64
	Hash      []byte
	Time      time.Time // UTC, microseconds
	KeyID     string
	Signature []byte
}

// Message returns the bytes the checkpoint's signature covers (see the
// package doc).
func (cp *Checkpoint) Message() []byte {
	b := make([]byte, 0, 128)
	b = append(b, "garde-audit-checkpoint/v1\n"...)
	b = strconv.AppendInt(b, cp.Seq, 10)
	b = append(b, '\n')
	b = hex.AppendEncode(b, cp.Hash)
	b = append(b, '\n')
	return cp.Time.UTC().AppendFormat(b, timeFormat)
}

// timeFormat is the time of checkpoint messages and exports: UTC, fixed
// width, microseconds.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// Checkpoint policy defaults.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = 5 * time.Minute
)

// Log appends entries and signs checkpoints. Its zero value works (system
// clock, default policy, no checkpoints); set Signer to sign them. It keeps
// no state between calls — the head is read from each transaction — so a
// rolled-back transaction leaves nothing behind, and one Log may serve
// every goroutine.
type Log struct {
	// Signer signs checkpoints; nil: no checkpoints are written (Verify
	// then rests on the chain alone).
	Signer Signer
	Clock  garde.Clock
	// A checkpoint is signed on an append that leaves CheckpointEvery or
	// more entries after the last checkpoint, or that comes
	// CheckpointInterval or later after it, and on the first append.
	CheckpointEvery    int
	CheckpointInterval time.Duration
}

func (l *Log) now() time.Time {
	c := l.Clock
	if c == nil {
		c = garde.SystemClock{}
	}
	return c.Now().UTC().Truncate(time.Microsecond)
}

// Append checks entries and writes them in tx, after the last entry, then
// signs a checkpoint if the policy calls for one. It completes the given
// entries in place: subjects and categories normalised (sorted, distinct;
// beyond MaxListed subjects, a count and digest), and Seq, Time, Prev and
// Hash set — so Append(ctx, tx, es...) leaves them in es. It fails with
// garde.EInvalid, writing nothing, if an entry breaks a rule (the message
// names the field, never its value). Call it in the transaction of the
// act it records, and roll that back if Append fails.
func (l *Log) Append(ctx context.Context, tx Tx, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	for i := range entries {
		if err := entries[i].normalise(); err != nil {
			return err
		}
	}
	seq, prev, err := tx.LastAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit: last entry: %w", err)
	}
	if seq == 0 {
		prev = genesis[:]
	}
	now := l.now()
	// the entries' encodings, hashed here and handed to the store, which
	// keeps those very bytes without encoding the entries again
	all := make([]byte, 0, 320*len(entries))
	encoded := make([][]byte, len(entries))
	for i := range entries {
		e := &entries[i]
		seq++
		e.Seq, e.Time, e.Prev = seq, now, prev
		start := len(all)
		all = e.appendCanonical(all)
		encoded[i] = all[start:len(all):len(all)]
		e.Hash = sha256Sum(encoded[i])
		prev = e.Hash
	}
	if err := tx.CreateAudit(ctx, entries, encoded); err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	if l.Signer == nil {
		return nil
	}
	last, ok, err := tx.LastCheckpoint(ctx)
	if err != nil {
		return fmt.Errorf("audit: last checkpoint: %w", err)
	}
	if ok && seq-last.Seq < int64(l.every()) && now.Sub(last.Time) < l.interval() {
		return nil
	}
	_, err = l.sign(ctx, tx, seq, prev, now)
	return err
}

// Checkpoint signs a checkpoint of the head in tx unless the last one
// already signs it, and returns the checkpoint of the head. ok is false
// when the log is empty or has no Signer. Call it, for instance, on
// shutdown, so that the tail is covered.
func (l *Log) Checkpoint(ctx context.Context, tx Tx) (cp Checkpoint, ok bool, err error) {
	if l.Signer == nil {
		return Checkpoint{}, false, nil
	}
	seq, hash, err := tx.LastAudit(ctx)
	if err != nil || seq == 0 {
		return Checkpoint{}, false, err
	}
	last, ok, err := tx.LastCheckpoint(ctx)
	if err != nil {
		return Checkpoint{}, false, err
	}
	if ok && last.Seq == seq {
		return last, true, nil
	}
	cp, err = l.sign(ctx, tx, seq, hash, l.now())
	return cp, err == nil, err
}

func (l *Log) sign(ctx context.Context, tx Tx, seq int64, hash []byte, now time.Time) (Checkpoint, error) {
	cp := Checkpoint{Seq: seq, Hash: hash, Time: now}
	kid, sig, err := l.Signer.Sign(cp.Message())
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	cp.KeyID, cp.Signature = kid, sig
	if err := tx.CreateCheckpoint(ctx, cp); err != nil {
		return Checkpoint{}, fmt.Errorf("audit: checkpoint: %w", err)
	}
	return cp, nil
}

func (l *Log) every() int {
	if l.CheckpointEvery > 0 {
		return l.CheckpointEvery
	}
	return DefaultCheckpointEvery
}

func (l *Log) interval() time.Duration {
	if l.CheckpointInterval > 0 {
		return l.CheckpointInterval
	}
	return DefaultCheckpointInterval
}

// genesis is the Prev of the first entry: 32 zero bytes.
var genesis [32]byte
