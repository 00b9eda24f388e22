package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"iter"
	"time"

	"github.com/garde-privacy/garde"
)

// Scanner is implemented by a store that can hand Verify the bytes it
// keeps for each entry — the canonical encoding, exactly the bytes that
// were hashed — instead of decoded entries. Verify then re-hashes those
// bytes without decoding every field, which is several times faster than
// going through FindAudit. store.Audit implements it.
type Scanner interface {
	// ScanAudit calls fn with every stored entry, in seq order, a batch at
	// a time, and stops at (and returns) fn's first error. The slices of a
	// batch belong to the store and are valid only during the call.
	//
	// Verify reads only the seq and prev of each encoding (the hash covers
	// the rest), so the store must set Fault on an entry whose encoding
	// ParseView refuses. A store that keeps copies of entry fields outside
	// the hashed bytes (index columns, key tables) must also check them
	// against those bytes as it scans and set Fault on the first entry
	// they disagree with: a copy edited on its own would otherwise mislead
	// queries without breaking the chain.
	ScanAudit(ctx context.Context, fn func([]RawEntry) error) error
}

// RawEntry is one entry as a store keeps it.
type RawEntry struct {
	// Canonical is the entry's canonical encoding (see the package doc);
	// the entry's hash is its SHA-256.
	Canonical []byte
	// Hash is the hash stored with the entry.
	Hash []byte
	// Fault, when not empty, says how the store's copies of the entry's
	// fields (its indexes) disagree with Canonical. It names fields, never
	// their values.
	Fault string
}

// View is an entry's canonical encoding split into its fields without
// copying them: the slices alias the encoding. ParseView makes one; a store
// reads the fields it indexes from it, and Entry decodes it.
type View struct {
	Seq  int64
	Time int64 // Unix microseconds, UTC
	// Actor … Outcome are the fields' bytes.
	Actor, Role, Action, Purpose []byte
	SubjectCount                 int64
	SubjectDigest                []byte
	RequestID, Source, Outcome   []byte
	Prev                         []byte

	subjects, categories, detail    []byte // the items of each list, encoded
	nSubjects, nCategories, nDetail int
}

// errEncoding is what ParseView reports: a stored entry is either a
// canonical encoding or damaged, and the reason matters only to Verify.
var errEncoding error = &garde.Error{Code: garde.EInvalid, Message: "audit: not a canonical entry encoding"}

// ParseView splits b, an entry's canonical encoding, into its fields. It
// checks that b is exactly what Canonical produces for some entry: every
// length within b, nothing after the last field, subjects, categories and
// detail keys sorted and distinct. It does not check the fields' shapes
// (Append does, before hashing).
func ParseView(b []byte) (View, error) {
	var v View
	r := reader{b: b}
	if magic := r.str(); string(magic) != entryMagic {
		return View{}, errEncoding
	}
	v.Seq, v.Time = int64(r.u64()), int64(r.u64())
	v.Actor, v.Role, v.Action, v.Purpose = r.str(), r.str(), r.str(), r.str()
	v.subjects, v.nSubjects = r.list(1)
	v.SubjectCount = int64(r.u64())
	v.SubjectDigest = r.str()
	v.categories, v.nCategories = r.list(1)
	v.RequestID, v.Source, v.Outcome = r.str(), r.str(), r.str()
	v.detail, v.nDetail = r.list(2)
	v.Prev = r.str()
	if r.bad || len(r.b) != 0 {
		return View{}, errEncoding
	}
	return v, nil
}

// Subjects yields the listed subject ids, in order.
func (v *View) Subjects() iter.Seq[[]byte] { return items(v.subjects) }

// SubjectList returns the encoded list of subjects (for comparing two
// entries' lists without decoding them).
func (v *View) SubjectList() []byte { return v.subjects }

// Categories yields the categories, in order.
func (v *View) Categories() iter.Seq[[]byte] { return items(v.categories) }

// Entry decodes v; hash is the hash stored with it (Entry.Hash).
func (v *View) Entry(hash []byte) *Entry {
	e := &Entry{
		Seq: v.Seq, Time: time.UnixMicro(v.Time).UTC(),
		Actor: string(v.Actor), Role: string(v.Role), Action: string(v.Action), Purpose: string(v.Purpose),
		SubjectCount: int(v.SubjectCount), SubjectDigest: string(v.SubjectDigest),
		RequestID: string(v.RequestID), Source: string(v.Source), Outcome: string(v.Outcome),
		Prev: bytes.Clone(v.Prev), Hash: bytes.Clone(hash),
	}
	if v.nSubjects > 0 {
		e.Subjects = make([]garde.SubjectID, 0, v.nSubjects)
		for s := range v.Subjects() {
			e.Subjects = append(e.Subjects, garde.SubjectID(s))
		}
	}
	if v.nCategories > 0 {
		e.Categories = make([]string, 0, v.nCategories)
		for c := range v.Categories() {
			e.Categories = append(e.Categories, string(c))
		}
	}
	if v.nDetail > 0 {
		e.Detail = make(map[string]string, v.nDetail)
		r := reader{b: v.detail}
		for range v.nDetail {
			k, val := r.str(), r.str()
			e.Detail[string(k)] = string(val)
		}
	}
	return e
}

// DecodeEntry decodes a stored entry: its canonical encoding and the hash
// stored with it. It fails with garde.EInvalid if canonical is not a
// canonical encoding.
func DecodeEntry(canonical, hash []byte) (*Entry, error) {
	v, err := ParseView(canonical)
	if err != nil {
		return nil, err
	}
	return v.Entry(hash), nil
}

// AppendCanonical appends e's canonical encoding to b (see Canonical).
func (e *Entry) AppendCanonical(b []byte) []byte { return e.appendCanonical(b) }

// Selects reports whether f selects the entry v (Limit aside): what a
// store applies to the entries its indexes point at. Times compare in
// microseconds, as stored.
func (f *Filter) Selects(v *View) bool {
	switch {
	case v.Seq <= f.After,
		!f.Since.IsZero() && v.Time < f.Since.UnixMicro(),
		!f.Until.IsZero() && v.Time >= f.Until.UnixMicro(),
		f.Actor != "" && string(v.Actor) != f.Actor,
		f.Action != "" && string(v.Action) != f.Action,
		f.Purpose != "" && string(v.Purpose) != f.Purpose:
		return false
	}
	return f.Subject == "" || v.Lists(f.Subject)
}

// Lists reports whether v lists the subject id.
func (v *View) Lists(id garde.SubjectID) bool {
	for s := range v.Subjects() {
		if string(s) == string(id) {
			return true
		}
	}
	return false
}

// reader walks a canonical encoding; bad records the first overrun.
type reader struct {
	b   []byte
	bad bool
}

// take returns the next n bytes, or nil (and bad) if there are fewer.
func (r *reader) take(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.bad, r.b = true, nil
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) u32() int {
	if b := r.take(4); b != nil {
		return int(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) str() []byte { return r.take(r.u32()) }

// list reads a count and that many items of per strings each, checking
// that the items' first strings are sorted and distinct; it returns the
// items' bytes and their count.
func (r *reader) list(per int) ([]byte, int) {
	n := r.u32()
	start := r.b
	var last []byte
	for i := 0; i < n && !r.bad; i++ {
		s := r.str()
		for range per - 1 {
			r.str()
		}
		if i > 0 && bytes.Compare(last, s) >= 0 {
			r.bad = true
		}
		last = s
	}
	if r.bad {
		return nil, 0
	}
	return start[: len(start)-len(r.b) : len(start)-len(r.b)], n
}

// seqPrev reads the seq and prev of an entry's canonical encoding from
// their fixed places (after the magic, and at the end), without walking
// the fields between; ok is false if b cannot be an encoding.
func seqPrev(b []byte) (seq int64, prev []byte, ok bool) {
	const head = 4 + len(entryMagic)
	const tail = 4 + sha256.Size
	if len(b) < head+8+8+tail || string(b[4:head]) != entryMagic ||
		binary.BigEndian.Uint32(b) != uint32(len(entryMagic)) ||
		binary.BigEndian.Uint32(b[len(b)-tail:]) != sha256.Size {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(b[head:])), b[len(b)-sha256.Size:], true
}

// items yields the strings of an encoded list.
func items(b []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		r := reader{b: b}
		for len(r.b) > 0 {
			if !yield(r.str()) {
				return
			}
		}
	}
}
