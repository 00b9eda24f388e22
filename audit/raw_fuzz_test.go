package audit

import (
	"bytes"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
)

// FuzzParseView: ParseView never panics on stored bytes, and what it
// accepts is a canonical encoding: the entry DecodeEntry makes of it
// encodes back to the same bytes.
func FuzzParseView(f *testing.F) {
	seeds := []Entry{
		{Seq: 1, Time: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), Actor: "op_1", Role: "support", Action: ActionSubjectRead,
			Purpose: "service", Subjects: []garde.SubjectID{garde.NewSubjectID()}, Categories: []string{"user.contact.email"},
			RequestID: "req-1", Source: "198.51.100.7:5000", Outcome: OutcomeOK, Detail: map[string]string{"ids": "1"}, Prev: make([]byte, 32)},
		{Seq: 2, Time: time.Date(2026, 11, 29, 9, 0, 1, 0, time.UTC), Actor: "source:web", Action: ActionEventsWrite,
			SubjectCount: MaxListed + 1, SubjectDigest: SubjectDigest([]garde.SubjectID{"s_a"}), Outcome: OutcomeRefused, Prev: bytes.Repeat([]byte{7}, 32)},
	}
	for i := range seeds {
		b := seeds[i].Canonical()
		if _, err := DecodeEntry(b, nil); err != nil {
			f.Fatalf("seed %d does not decode: %v", i, err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b, nil)
		if err != nil {
			return
		}
		if again := e.Canonical(); !bytes.Equal(again, b) {
			t.Fatalf("accepted %q, which encodes back as %q", b, again)
		}
	})
}
