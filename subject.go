package garde

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

// SubjectID is the opaque, random identifier of a data subject (a person, or
// an anonymous device that may later become one). It carries no personal data
// and is safe to log.
type SubjectID string

var subjectEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewSubjectID returns a fresh subject id: "s_" + SortableID. Ids sort by
// creation, so that every index on a subject id (subjects, identities,
// consent records, events) grows at its end when people arrive, instead of
// dirtying a random page of each per new person; the id tells when the
// subject was created, which Garde stores anyway.
func NewSubjectID() SubjectID {
	return SubjectID("s_" + SortableID(time.Now()))
}

// sortableEncoding is base32 in an alphabet that sorts as its values do.
var sortableEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// SortableID returns 26 lower-case base32 characters over now in
// nanoseconds (8 bytes) then 8 random bytes: unique, and sorted by time.
func SortableID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	rand.Read(b[8:])
	return sortableEncoding.EncodeToString(b[:])
}

// RandomID returns 128 random bits as 26 lower-case base32 characters: for
// subject, message and key ids.
func RandomID() string {
	var b [16]byte
	rand.Read(b[:])
	return subjectEncoding.EncodeToString(b[:])
}

// Valid reports whether id has the shape NewSubjectID produces (or
// produced before ids were sortable: base32 in a-z and 2-7).
func (id SubjectID) Valid() bool {
	s := string(id)
	if len(s) != 28 || !strings.HasPrefix(s, "s_") {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
