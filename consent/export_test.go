package consent

import (
	"encoding/hex"
	"time"

	json "github.com/goccy/go-json"
)

// DueForTest exposes Index.due to the black-box tests.
func DueForTest(x *Index, now time.Time) []Record { return x.due(now) }

// ReflectCanonical is the canonical encoding as the JSON encoder writes the
// canonical struct: the reference that Record.Canonical must match byte for
// byte, so that every record ever written keeps verifying.
func ReflectCanonical(r *Record) []byte {
	b, err := json.MarshalWithOption(canonical{
		V: 1, Prev: hex.EncodeToString(r.Prev), Seq: r.Seq, ID: r.ID, Subject: r.Subject, Purpose: r.Purpose,
		Decision: r.Decision, LegalBasis: r.LegalBasis, Explicit: r.Explicit, Time: stamp(r.Time), Expires: stamp(r.Expires),
		Source: r.Source, Notice: r.Notice, Country: r.Country, Region: r.Region, Age: r.Age, Guardian: r.Guardian,
		Signals: r.Signals, Collector: r.Collector, IPHash: r.IPHash, UAHash: r.UAHash, ReceiptID: r.ReceiptID,
	}, json.DisableHTMLEscape())
	if err != nil {
		panic(err)
	}
	return b
}

// AnswerJSON exposes the hand-written encoding of a PostAnswer.
func AnswerJSON(a *PostAnswer) []byte { return a.appendJSON(nil) }

// RecordIDForTest exposes recordID.
func RecordIDForTest(now time.Time) string { return recordID(now) }

// stamp is how the canonical struct writes a time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// PlainForTest exposes plain.
func PlainForTest(s string) bool { return plain(s) }

// ReceiptJSON exposes the hand-written encoding of a Receipt.
func ReceiptJSON(r *Receipt) []byte { return r.appendJSON(nil) }
