package garde

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// SubjectID is the opaque, random identifier of a data subject (a person, or
// an anonymous device that may later become one). It carries no personal data
// and is safe to log.
type SubjectID string

var subjectEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewSubjectID returns a fresh random subject id ("s_" + 26 base32 characters,
// 128 bits of randomness).
func NewSubjectID() SubjectID {
	return SubjectID("s_" + RandomID())
}

// RandomID returns 128 random bits as 26 lower-case base32 characters: for
// subject, message and key ids.
func RandomID() string {
	var b [16]byte
	rand.Read(b[:])
	return subjectEncoding.EncodeToString(b[:])
}

// Valid reports whether id has the shape NewSubjectID produces.
func (id SubjectID) Valid() bool {
	s := string(id)
	if len(s) != 28 || !strings.HasPrefix(s, "s_") {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
