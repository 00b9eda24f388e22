package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/garde-privacy/garde"
)

// Kinds of export lines.
const (
	KindEntry      = "audit.entry"
	KindCheckpoint = "audit.checkpoint"
)

// MaxExportLine bounds one line of an export (an entry is a few KiB at most).
const MaxExportLine = 1 << 20

// jsonEntry is an entry as exported and served.
type jsonEntry struct {
	Kind          string            `json:"kind"`
	Seq           int64             `json:"seq"`
	Time          string            `json:"time"`
	Actor         string            `json:"actor"`
	Role          string            `json:"role,omitempty"`
	Action        string            `json:"action"`
	Purpose       string            `json:"purpose,omitempty"`
	Subjects      []garde.SubjectID `json:"subjects,omitempty"`
	SubjectCount  int               `json:"subject_count"`
	SubjectDigest string            `json:"subject_digest,omitempty"`
	Categories    []string          `json:"categories,omitempty"`
	RequestID     string            `json:"request_id,omitempty"`
	Source        string            `json:"source,omitempty"`
	Outcome       string            `json:"outcome"`
	Detail        map[string]string `json:"detail,omitempty"`
	Prev          string            `json:"prev"`
	Hash          string            `json:"hash"`
}

type jsonCheckpoint struct {
	Kind      string `json:"kind"`
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	KeyID     string `json:"kid"`
	Signature string `json:"sig"`
}

// MarshalJSON renders e as one export line (without the newline): kind
// "audit.entry", snake_case names, hashes in lower-case hex, the time as
// "2006-01-02T15:04:05.000000Z".
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonEntry{
		Kind: KindEntry, Seq: e.Seq, Time: e.Time.UTC().Format(timeFormat),
		Actor: e.Actor, Role: e.Role, Action: e.Action, Purpose: e.Purpose,
		Subjects: e.Subjects, SubjectCount: e.SubjectCount, SubjectDigest: e.SubjectDigest,
		Categories: e.Categories, RequestID: e.RequestID, Source: e.Source, Outcome: e.Outcome,
		Detail: e.Detail, Prev: hex.EncodeToString(e.Prev), Hash: hex.EncodeToString(e.Hash),
	})
}

// UnmarshalJSON reads what MarshalJSON writes, strictly: unknown fields, a
// time in another form and entries that Append could not have written are
// refused.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var j jsonEntry
	if err := strictJSON(b, &j); err != nil {
		return err
	}
	if j.Kind != KindEntry {
		return invalid("kind: want " + KindEntry)
	}
	t, err := parseTime(j.Time)
	if err != nil {
		return err
	}
	prev, err1 := decodeHash(j.Prev)
	hash, err2 := decodeHash(j.Hash)
	if err1 != nil || err2 != nil {
		return invalid("prev and hash: 64 hex digits")
	}
	*e = Entry{
		Seq: j.Seq, Time: t, Actor: j.Actor, Role: j.Role, Action: j.Action, Purpose: j.Purpose,
		Subjects: nilIfEmpty(j.Subjects), SubjectCount: j.SubjectCount, SubjectDigest: j.SubjectDigest,
		Categories: nilIfEmpty(j.Categories), RequestID: j.RequestID, Source: j.Source, Outcome: j.Outcome,
		Prev: prev, Hash: hash,
	}
	if len(j.Detail) > 0 {
		e.Detail = j.Detail
	}
	return e.checkStored()
}

// checkStored checks that e has the shape Append gives an entry.
func (e *Entry) checkStored() error {
	if e.Seq < 1 {
		return invalid("seq: from 1")
	}
	n := len(e.Subjects)
	switch {
	case n > 0 && (n != e.SubjectCount || e.SubjectDigest != "" || n > MaxListed):
		return invalid("subjects: listed ids must number subject_count, at most MaxListed, without digest")
	case n == 0 && e.SubjectCount == 0 && e.SubjectDigest != "":
		return invalid("subjects: a digest without a count")
	case n == 0 && e.SubjectCount != 0 && (e.SubjectCount <= MaxListed || !isHexDigest(e.SubjectDigest)):
		return invalid("subjects: a count without a list must exceed MaxListed and come with a hex SHA-256 digest")
	}
	for i, id := range e.Subjects {
		if !id.Valid() || i > 0 && e.Subjects[i-1] >= id {
			return invalid("subjects: sorted, distinct pseudonymous subject ids")
		}
	}
	for i := 1; i < len(e.Categories); i++ {
		if e.Categories[i-1] >= e.Categories[i] {
			return invalid("categories: sorted and distinct")
		}
	}
	return e.check()
}

// MarshalJSON renders cp as one export line (kind "audit.checkpoint").
func (cp Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonCheckpoint{
		Kind: KindCheckpoint, Seq: cp.Seq, Hash: hex.EncodeToString(cp.Hash), Time: cp.Time.UTC().Format(timeFormat),
		KeyID: cp.KeyID, Signature: hex.EncodeToString(cp.Signature),
	})
}

// UnmarshalJSON reads what MarshalJSON writes, strictly.
func (cp *Checkpoint) UnmarshalJSON(b []byte) error {
	var j jsonCheckpoint
	if err := strictJSON(b, &j); err != nil {
		return err
	}
	if j.Kind != KindCheckpoint {
		return invalid("kind: want " + KindCheckpoint)
	}
	t, err := parseTime(j.Time)
	if err != nil {
		return err
	}
	hash, err := decodeHash(j.Hash)
	if err != nil {
		return invalid("checkpoint hash: 64 hex digits")
	}
	sig, err := hex.DecodeString(j.Signature)
	if err != nil || len(sig) > 1024 || j.Seq < 1 || !isToken(j.KeyID, maxName) {
		return invalid("checkpoint: seq from 1, a key id and a hex signature")
	}
	*cp = Checkpoint{Seq: j.Seq, Hash: hash, Time: t, KeyID: j.KeyID, Signature: sig}
	return nil
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return garde.Wrap(garde.EInvalid, err, "audit: not a valid export line")
	}
	if d.More() {
		return invalid("one JSON object per line")
	}
	return nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil || t.Format(timeFormat) != s {
		return time.Time{}, invalid("time: 2006-01-02T15:04:05.000000Z")
	}
	return t, nil
}

func decodeHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err == nil && len(b) != 32 {
		err = fmt.Errorf("want 32 bytes")
	}
	return b, err
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Export writes, as JSON lines, every entry from the first one stamped
// since or later to the head (so that the file is a run of consecutive
// entries VerifyExport can check), each followed by its checkpoint, if
// any. A zero since exports the whole log.
func Export(ctx context.Context, r Reader, w io.Writer, since time.Time) error {
	from := int64(0)
	if !since.IsZero() {
		first := int64(-1)
		err := r.FindAudit(ctx, Filter{Since: since, Limit: 1}, func(e *Entry) error { first = e.Seq; return nil })
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		if first < 0 {
			return nil
		}
		from = first - 1
	}
	cps, err := r.FindCheckpoints(ctx)
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	err = r.FindAudit(ctx, Filter{After: from}, func(e *Entry) error {
		for len(cps) > 0 && cps[0].Seq < e.Seq {
			cps = cps[1:]
		}
		if err := writeLine(bw, e); err != nil {
			return err
		}
		if len(cps) > 0 && cps[0].Seq == e.Seq {
			return writeLine(bw, &cps[0])
		}
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}

func writeLine(w *bufio.Writer, v json.Marshaler) error {
	b, err := v.MarshalJSON()
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

// Line is one line of an export: exactly one of Entry and Checkpoint is set.
type Line struct {
	Entry      *Entry
	Checkpoint *Checkpoint
}

// ParseExport calls fn with each line of an export, in order, stopping at
// fn's first error. Blank lines are skipped; any other line that is not an
// entry or checkpoint as Export writes them fails with garde.EInvalid
// naming the line number.
func ParseExport(r io.Reader, fn func(Line) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxExportLine)
	for n := 1; sc.Scan(); n++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var probe struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(b, &probe); err != nil {
			return garde.Wrap(garde.EInvalid, err, fmt.Sprintf("audit export: line %d is not a JSON object", n))
		}
		var l Line
		var err error
		switch probe.Kind {
		case KindEntry:
			l.Entry = new(Entry)
			err = l.Entry.UnmarshalJSON(b)
		case KindCheckpoint:
			l.Checkpoint = new(Checkpoint)
			err = l.Checkpoint.UnmarshalJSON(b)
		default:
			err = invalid("kind: " + KindEntry + " or " + KindCheckpoint)
		}
		if err != nil {
			return garde.Wrap(garde.EInvalid, err, fmt.Sprintf("audit export: line %d: %s", n, garde.ErrorMessage(err)))
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return garde.Wrap(garde.EInvalid, err, "audit export: reading")
	}
	return nil
}

// VerifyExport checks an export offline, as Verify checks the log: the
// entries run on without a gap, each matches its hash and links to the one
// before, and each checkpoint matches its entry and carries a good
// signature (s must know the keys; it may be nil for a file without
// checkpoints). The first entry's Prev cannot be checked from the file
// alone: compare it with the hash of entry FirstSeq-1 in another copy (or,
// when FirstSeq is 1, it must be 32 zero bytes, which is checked). Its error
// is for a file that cannot be read or parsed, not for a bad chain.
func VerifyExport(r io.Reader, s Signer) (Report, error) {
	v := newVerifier(s)
	err := ParseExport(r, func(l Line) error {
		if l.Entry != nil {
			if v.rep.Entries == 0 && l.Entry.Seq == 1 {
				v.next, v.prev, v.anchored = 1, append(v.prev[:0], genesis[:]...), true
			}
			if !v.entry(l.Entry) {
				return errStop
			}
			return nil
		}
		if !v.exportCheckpoint(*l.Checkpoint) {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return Report{}, err
	}
	rep := v.finish()
	if v.err != nil {
		return Report{}, v.err
	}
	return rep, nil
}
