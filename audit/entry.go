package audit

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/garde-privacy/garde"
)

// MaxListed is the most subject ids an entry lists; an act on more subjects
// is recorded by their count and digest (see Subjects).
const MaxListed = 100

// Outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
)

// Some actions (dotted verbs). Any lower-case dotted name is accepted.
const (
	ActionSubjectRead   = "subject.read"
	ActionEventsWrite   = "events.write"
	ActionConsentRecord = "consent.record"
	ActionRoleUpdate    = "role.update"
	ActionKeyCreate     = "apikey.create"
	ActionExport        = "export"
	ActionErasure       = "erasure"
	ActionAuditExport   = "audit.export"
)

// ActorSystem is the actor of acts Garde does on its own (retention, jobs).
const ActorSystem = "system"

// Limits of an entry's fields (bytes).
const (
	maxName       = 128 // actor, role, action, purpose, categories, outcome, detail keys
	maxText       = 256 // request id, source
	maxDetail     = 32  // detail pairs
	maxDetailText = 1024
	maxCategories = 64
)

// Entry is one audited act.
type Entry struct {
	// Set by Log.Append.
	Seq  int64
	Time time.Time // UTC, microseconds

	// Actor is who acted: an operator id, "apikey:<id>", "source:<source
	// key>" or "system" — never an email or a name.
	Actor string
	// Role is the actor's role when the act was done ("" for none).
	Role string
	// Action is a dotted verb: "subject.read", "events.write" …
	Action string
	// Purpose is the purpose the act was done for ("" for administrative
	// acts that name none).
	Purpose string
	// Subjects are the pseudonymous ids of the people concerned, sorted,
	// at most MaxListed; beyond that the list is empty and SubjectCount
	// and SubjectDigest stand for it. Append derives all three from
	// Subjects when it is not empty.
	Subjects      []garde.SubjectID
	SubjectCount  int
	SubjectDigest string
	// Categories are the data categories reached (inventory keys).
	Categories []string
	RequestID  string
	// Source is the caller's network address, for operator and system
	// callers only (see the package's privacy rule).
	Source string
	// Outcome is OutcomeOK or OutcomeRefused.
	Outcome string
	// Detail holds ids, counts, keys and names of things — never personal
	// data (see the package's privacy rule).
	Detail map[string]string

	// Set by Log.Append.
	Prev []byte
	Hash []byte
}

// Subjects returns how an act on ids is recorded: the sorted, distinct ids
// when there are at most MaxListed of them, else none; their number; and,
// beyond MaxListed, the lower-case hex SHA-256 of the sorted ids joined by
// "\n" (so that whoever holds the list can prove it is the one recorded).
func Subjects(ids []garde.SubjectID) (listed []garde.SubjectID, count int, digest string) {
	sorted := ids
	if !sortedDistinct(ids) {
		sorted = slices.Clone(ids)
		slices.Sort(sorted)
		sorted = slices.Compact(sorted)
	}
	if len(sorted) <= MaxListed {
		return sorted, len(sorted), ""
	}
	return nil, len(sorted), SubjectDigest(sorted)
}

// sortedDistinct reports whether s is in strictly increasing order: then
// it needs no copy to be sorted and made distinct (the usual case).
func sortedDistinct[S ~[]E, E cmp.Ordered](s S) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// SubjectDigest is the hex SHA-256 of sorted ids joined by "\n".
func SubjectDigest(sorted []garde.SubjectID) string {
	h := sha256.New()
	for i, id := range sorted {
		if i > 0 {
			h.Write([]byte{'\n'})
		}
		h.Write([]byte(id))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// normalise completes and checks the caller's part of e: subjects and
// categories sorted and distinct, every field within its shape. Errors
// name the field, never its value.
func (e *Entry) normalise() error {
	if len(e.Subjects) > 0 {
		for _, id := range e.Subjects {
			if !id.Valid() {
				return invalid("subjects: every subject must be a pseudonymous subject id")
			}
		}
		e.Subjects, e.SubjectCount, e.SubjectDigest = Subjects(e.Subjects)
	} else {
		e.Subjects = nil
		if (e.SubjectCount != 0 || e.SubjectDigest != "") && (e.SubjectCount <= MaxListed || !isHexDigest(e.SubjectDigest)) {
			return invalid("subjects: a count without a list must exceed MaxListed and come with a hex SHA-256 digest")
		}
	}
	if len(e.Categories) > 0 {
		if !sortedDistinct(e.Categories) {
			e.Categories = slices.Compact(slices.Sorted(slices.Values(e.Categories)))
		}
	} else {
		e.Categories = nil
	}
	return e.check()
}

// Validate checks e as Append would, without appending: callers that append
// inside a shared group commit check first, so that one bad entry cannot
// fail the others' writes.
func (e Entry) Validate() error { return e.normalise() }

// check reports whether e's fields have the shapes Append produces.
func (e *Entry) check() error {
	if e.Actor == "" || !isToken(e.Actor, maxName) {
		return invalid("actor: 1 to 128 printable ASCII characters without spaces")
	}
	if e.Action == "" || !isName(e.Action) {
		return invalid("action: a lower-case dotted verb")
	}
	if e.Role != "" && !isName(e.Role) {
		return invalid("role: a lower-case name")
	}
	if e.Purpose != "" && !isName(e.Purpose) {
		return invalid("purpose: a lower-case key")
	}
	if e.Outcome != OutcomeOK && e.Outcome != OutcomeRefused {
		return invalid(`outcome: "ok" or "refused"`)
	}
	if !isToken(e.RequestID, maxText) || !isToken(e.Source, maxText) {
		return invalid("request id and source: at most 256 printable ASCII characters without spaces")
	}
	if len(e.Categories) > maxCategories {
		return invalid("categories: at most 64")
	}
	for _, c := range e.Categories {
		if !isName(c) {
			return invalid("categories: lower-case dotted keys")
		}
	}
	if len(e.Detail) > maxDetail {
		return invalid("detail: at most 32 pairs")
	}
	for k, v := range e.Detail {
		if !isName(k) {
			return invalid("detail: keys are lower-case names")
		}
		if len(v) > maxDetailText || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return invalid("detail: values are valid UTF-8 without NUL, at most 1024 bytes")
		}
	}
	return nil
}

func invalid(msg string) error { return garde.Errorf(garde.EInvalid, "audit entry: %s", msg) }

// isName: a lower-case key such as "subject.read", "user.contact.email",
// "email_marketing", "security-officer".
func isName(s string) bool {
	if s == "" || len(s) > maxName || !('a' <= s[0] && s[0] <= 'z' || '0' <= s[0] && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// isToken: printable ASCII without spaces, at most max bytes ("" is a token).
func isToken(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func isHexDigest(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// entryMagic opens the canonical encoding and names its version.
const entryMagic = "garde-audit-entry/v1"

// Canonical returns the bytes Hash is the SHA-256 of (see the package doc).
func (e *Entry) Canonical() []byte { return e.appendCanonical(nil) }

// ComputeHash returns SHA-256(e.Canonical()).
func (e *Entry) ComputeHash() []byte {
	return sha256Sum(e.appendCanonical(make([]byte, 0, 512)))
}

func sha256Sum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

func (e *Entry) appendCanonical(b []byte) []byte {
	b = appendStr(b, entryMagic)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMicro()))
	b = appendStr(b, e.Actor)
	b = appendStr(b, e.Role)
	b = appendStr(b, e.Action)
	b = appendStr(b, e.Purpose)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Subjects)))
	for _, s := range e.Subjects {
		b = appendStr(b, string(s))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(e.SubjectCount))
	b = appendStr(b, e.SubjectDigest)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Categories)))
	for _, c := range e.Categories {
		b = appendStr(b, c)
	}
	b = appendStr(b, e.RequestID)
	b = appendStr(b, e.Source)
	b = appendStr(b, e.Outcome)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Detail)))
	if len(e.Detail) > 0 {
		keys := make([]string, 0, len(e.Detail))
		for k := range e.Detail {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendStr(b, k)
			b = appendStr(b, e.Detail[k])
		}
	}
	return appendBytes(b, e.Prev)
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
