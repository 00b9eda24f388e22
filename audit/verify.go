package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/garde-privacy/garde"
)

// Reader reads the log. The store implements it (store.NewAudit), with
// parameterised queries.
type Reader interface {
	// FindAudit calls fn with each entry f selects, complete (listed
	// subjects, Prev and Hash included), in seq order; it stops at, and
	// returns, fn's first error.
	FindAudit(ctx context.Context, f Filter, fn func(*Entry) error) error
	// FindCheckpoints returns every checkpoint, in seq order.
	FindCheckpoints(ctx context.Context) ([]Checkpoint, error)
}

// Filter selects entries; its zero value selects them all. Conditions add
// up (AND).
type Filter struct {
	Since   time.Time // Time >= Since, when set
	Until   time.Time // Time < Until, when set
	Actor   string
	Action  string
	Purpose string
	// Subject selects the entries that list this subject: every recorded
	// access to one person's data (acts on more than MaxListed subjects
	// record a digest, not the ids; see Subjects).
	Subject garde.SubjectID
	After   int64 // Seq > After
	Limit   int   // at most this many; 0: no limit
}

// Report is what Verify found.
type Report struct {
	Entries     int // entries checked and found sound
	Checkpoints int // checkpoints checked and found sound
	OK          bool
	// FirstBad is the seq of the first entry at which the log is not
	// consistent (for a missing entry, its seq; for entries removed from
	// the end, the seq after the last one), and Reason says why. Both are
	// zero when OK.
	FirstBad int64
	Reason   string
	// FirstSeq and LastSeq bound the entries checked; LastHash is the hash
	// of the last one.
	FirstSeq, LastSeq int64
	LastHash          []byte
	// LastCheckpoint is the last sound checkpoint: keep it outside Garde
	// (an external anchor), since entries after it could be removed
	// without Verify noticing.
	LastCheckpoint *Checkpoint
}

// ErrNoSigner: checkpoints were met but no signer was given to check them.
var ErrNoSigner error = &garde.Error{Code: garde.EInvalid, Message: "audit: a signer is needed to check checkpoints"}

var errStop = errors.New("stop")

// Verify walks the whole log in seq order and checks that seqs run 1, 2,
// 3 … without a gap, that each entry's hash matches its content and links
// to the entry before, and that each checkpoint matches the entry it names
// and carries a good signature. It returns a Report naming the first bad
// entry; its error is for failures to read, not for a bad log. When r is
// also a Scanner, Verify re-hashes the stored encodings as they are (and
// reports the first entry the store's indexes disagree with, see
// Scanner); otherwise it re-encodes the entries FindAudit returns.
func Verify(ctx context.Context, r Reader, s Signer) (Report, error) {
	cps, err := r.FindCheckpoints(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	if len(cps) > 0 && s == nil {
		return Report{}, ErrNoSigner
	}
	v := newVerifier(s)
	v.next, v.prev, v.anchored, v.cps = 1, append(v.prev, genesis[:]...), true, cps
	if sc, ok := r.(Scanner); ok {
		// the fast path: the stored bytes, re-hashed as they are
		err = sc.ScanAudit(ctx, func(batch []RawEntry) error {
			for i := range batch {
				if !v.raw(&batch[i]) {
					return errStop
				}
			}
			return nil
		})
	} else {
		err = r.FindAudit(ctx, Filter{}, func(e *Entry) error {
			if !v.entry(e) {
				return errStop
			}
			return nil
		})
	}
	if err != nil && !errors.Is(err, errStop) {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	return v.finish(), v.err
}

// verifier checks entries one by one, from the database or from an export.
type verifier struct {
	signer Signer
	// next is the seq the next entry must have and prev the hash it must
	// link to; in an export the first entry sets both (anchored = false).
	next     int64
	prev     []byte
	anchored bool
	// cps are the checkpoints not yet met, in seq order.
	cps []Checkpoint
	rep Report
	bad bool
	err error
	buf []byte
}

func newVerifier(s Signer) *verifier {
	return &verifier{signer: s, buf: make([]byte, 0, 1024), prev: make([]byte, 0, 64)}
}

func (v *verifier) fail(seq int64, format string, args ...any) bool {
	if !v.bad {
		v.bad, v.rep.FirstBad, v.rep.Reason = true, seq, fmt.Sprintf(format, args...)
	}
	return false
}

// entry checks e and reports whether to go on.
func (v *verifier) entry(e *Entry) bool {
	if v.bad || v.err != nil {
		return false
	}
	v.buf = e.appendCanonical(v.buf[:0])
	return v.check(e.Seq, e.Prev, v.buf, e.Hash, "")
}

// raw checks a stored entry and reports whether to go on.
func (v *verifier) raw(r *RawEntry) bool {
	if v.bad || v.err != nil {
		return false
	}
	// Only seq and prev are read: the hash covers the rest, and the store
	// reports an encoding its indexes cannot read as a Fault.
	seq, prev, ok := seqPrev(r.Canonical)
	if !ok {
		return v.fail(v.next, "entry %d is not a valid entry encoding: it was altered", v.next)
	}
	return v.check(seq, prev, r.Canonical, r.Hash, r.Fault)
}

// check checks the entry seq, whose canonical encoding links to prev, with
// its stored hash and the store's fault, if any.
func (v *verifier) check(seq int64, prev, canonical, hash []byte, fault string) bool {
	if v.rep.Entries == 0 {
		if !v.anchored {
			v.next, v.prev = seq, append(v.prev[:0], prev...)
		}
		v.rep.FirstSeq = seq
	}
	switch {
	case seq > v.next:
		return v.fail(v.next, "entry %d is missing (the next one found is %d)", v.next, seq)
	case seq < v.next:
		return v.fail(seq, "entry %d is out of order or repeated (expected %d)", seq, v.next)
	}
	if sum := sha256.Sum256(canonical); !bytes.Equal(sum[:], hash) {
		return v.fail(seq, "entry %d does not match its hash: the entry or its hash was altered", seq)
	}
	if !bytes.Equal(prev, v.prev) {
		if seq == 1 {
			return v.fail(1, "entry 1 does not start the chain (its prev is not 32 zero bytes)")
		}
		return v.fail(seq, "entry %d does not link to entry %d: one of them was altered, or entries were removed or inserted between them", seq, seq-1)
	}
	if fault != "" {
		return v.fail(seq, "entry %d: %s", seq, fault)
	}
	for len(v.cps) > 0 && v.cps[0].Seq <= seq {
		cp := &v.cps[0]
		if cp.Seq < seq { // only in an export: a checkpoint before its entry's place
			return v.fail(cp.Seq, "the checkpoint of entry %d is out of place", cp.Seq)
		}
		if !v.checkpoint(cp, hash) {
			return false
		}
		v.cps = v.cps[1:]
	}
	v.rep.Entries++
	v.rep.LastSeq, v.prev = seq, append(v.prev[:0], hash...)
	v.next++
	return true
}

// checkpoint checks cp against the hash of the entry it names.
func (v *verifier) checkpoint(cp *Checkpoint, hash []byte) bool {
	if v.signer == nil {
		v.err = ErrNoSigner
		return false
	}
	if !bytes.Equal(cp.Hash, hash) {
		return v.fail(cp.Seq, "the checkpoint of entry %d does not match it: the entry or the checkpoint was altered", cp.Seq)
	}
	if err := v.signer.Verify(cp.KeyID, cp.Message(), cp.Signature); err != nil {
		return v.fail(cp.Seq, "the checkpoint of entry %d has a bad signature (key %q): it was forged or altered", cp.Seq, cp.KeyID)
	}
	v.rep.Checkpoints++
	last := *cp
	v.rep.LastCheckpoint = &last
	return true
}

// exportCheckpoint checks a checkpoint met in an export: after its entry
// (the usual place), or before it (kept until the entry comes).
func (v *verifier) exportCheckpoint(cp Checkpoint) bool {
	if v.bad || v.err != nil {
		return false
	}
	switch {
	case v.rep.Entries > 0 && cp.Seq == v.rep.LastSeq:
		return v.checkpoint(&cp, v.prev)
	case v.rep.Entries > 0 && cp.Seq < v.rep.LastSeq && cp.Seq >= v.rep.FirstSeq:
		return v.fail(cp.Seq, "the checkpoint of entry %d is out of place", cp.Seq)
	case v.rep.Entries == 0 || cp.Seq > v.rep.LastSeq:
		i, _ := slices.BinarySearchFunc(v.cps, cp.Seq, func(c Checkpoint, seq int64) int { return cmp.Compare(c.Seq, seq) })
		v.cps = slices.Insert(v.cps, i, cp)
		return true
	default: // before the export's first entry: only its signature can be checked
		if v.signer == nil {
			v.err = ErrNoSigner
			return false
		}
		if err := v.signer.Verify(cp.KeyID, cp.Message(), cp.Signature); err != nil {
			return v.fail(cp.Seq, "the checkpoint of entry %d has a bad signature (key %q): it was forged or altered", cp.Seq, cp.KeyID)
		}
		v.rep.Checkpoints++
		return true
	}
}

// finish checks what only the end tells (a checkpoint past the last entry)
// and returns the report.
func (v *verifier) finish() Report {
	if !v.bad && v.err == nil {
		// only the first leftover checkpoint matters: it names the damage
		if len(v.cps) > 0 {
			cp := v.cps[0]
			if cp.Seq <= 0 {
				v.fail(cp.Seq, "a checkpoint names entry %d, which cannot exist", cp.Seq)
			} else {
				v.fail(v.rep.LastSeq+1, "the log ends at entry %d but a checkpoint signs entry %d: entries were removed from the end", v.rep.LastSeq, cp.Seq)
			}
		}
	}
	v.rep.OK = !v.bad && v.err == nil
	if v.rep.Entries > 0 {
		v.rep.LastHash = bytes.Clone(v.prev)
	}
	return v.rep
}
