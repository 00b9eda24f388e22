package consent_test

import (
	"bytes"
	"encoding/hex"
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent"
)

// fullRecord sets every field of a record (checked by TestFullRecordIsFull,
// so that a field added to Record is covered by the encoder tests).
func fullRecord() consent.Record {
	prev := make([]byte, 32)
	for i := range prev {
		prev[i] = byte(i * 7)
	}
	return consent.Record{Seq: 42, ID: "cr_0123456789abcdefghijklmnop", Subject: "s_aaaaaaaaaaaaaaaaaaaaaaaaaa",
		Purpose: "analytics", Decision: consent.Given, LegalBasis: "consent", Explicit: true,
		Time: time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.UTC), Expires: time.Date(2027, 12, 29, 10, 0, 0, 0, time.UTC),
		Source: consent.SourceBanner, Notice: consent.Notice{Version: 3, Hash: strings.Repeat("ab", 32), Language: "fr"},
		Country: "US", Region: "CA", Age: consent.Age{Status: "minor", Years: 14, Method: "self_declared"}, Guardian: "gr_1",
		Signals:   consent.Signals{GPC: true, TCString: "CPzHq4APzHq4AAHABBENC", GPPString: "DBABMA~CPXxRfAPXxRfAAfKABENB"},
		Collector: "source:web", IPHash: "0a1b", UAHash: "2c3d", ReceiptID: "rcpt_1", Prev: prev, Hash: []byte{1, 2}}
}

func TestFullRecordIsFull(t *testing.T) {
	v := reflect.ValueOf(fullRecord())
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("fullRecord leaves %s zero: set it, and check the encoders write it", v.Type().Field(i).Name)
		}
	}
}

// encoderCases are records whose strings need every kind of escaping.
func encoderCases() map[string]consent.Record {
	full := fullRecord()
	plain := consent.Record{Seq: 1, ID: "cr_1", Subject: "s_b", Purpose: "email_marketing", Decision: consent.Refused,
		LegalBasis: "consent", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Source: consent.SourceAPI,
		Age: consent.Age{Status: "unknown"}, Collector: "apikey:k1", Prev: consent.Genesis}
	odd := full
	odd.Collector = "operator:<a&b> \"quoted\" back\\slash"
	odd.Notice.Language = "fr\u2028\u2029\x00\x01\x1f\t\n\r"
	odd.Guardian = "é€😀"
	odd.Region = "\x7f"
	invalid := full
	invalid.Signals.TCString = "bad\xff\xfeutf8"
	local := plain
	local.Time = time.Date(2026, 6, 1, 12, 0, 0, 1, time.FixedZone("CEST", 2*3600))
	local.Expires = local.Time.AddDate(0, 6, 0)
	onlyGPC := plain
	onlyGPC.Signals = consent.Signals{GPC: true}
	onlyGPP := plain
	onlyGPP.Signals = consent.Signals{GPPString: "DBABMA"}
	return map[string]consent.Record{"full": full, "plain": plain, "odd": odd, "local time": local,
		"only gpc": onlyGPC, "only gpp": onlyGPP, "empty": {}, "invalid utf-8": invalid}
}

// TestCanonical: the hand-written canonical encoding is the JSON encoder's,
// byte for byte, so that records written before it still verify.
func TestCanonical(t *testing.T) {
	for name, r := range encoderCases() {
		t.Run(name, func(t *testing.T) {
			got, want := r.Canonical(), consent.ReflectCanonical(&r)
			if !bytes.Equal(got, want) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// TestCanonicalHash pins the hashes of fixed records, as the reflective
// encoder of the first ledgers computed them: the chain of an existing
// ledger depends on them.
func TestCanonicalHash(t *testing.T) {
	r := fullRecord()
	odd := fullRecord()
	odd.Collector = "operator:<a&b> \"quoted\" back\\slash é\u2028\x01\xff"
	for _, c := range []struct {
		r    consent.Record
		want string
	}{
		{r, "0eec1e664ecf7bdea1de63e5fbbf77b9904548b51e711152db865ad0af0b469a"},
		{odd, "118196f0a64fffab25de1c27df7f91027b2d5b649ff2631f108c3bc216a4b728"},
	} {
		if got := hex.EncodeToString(c.r.ComputeHash()); got != c.want {
			t.Errorf("collector %q: got %s, want %s", c.r.Collector, got, c.want)
		}
	}
}

// TestRecordJSON: the stored body reads back as the record, and is what
// encoding/json writes (HTML escaping off) for ASCII content.
func TestRecordJSON(t *testing.T) {
	for name, r := range encoderCases() {
		t.Run(name, func(t *testing.T) {
			b := r.AppendJSON(nil)
			var back consent.Record
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			back.Prev, back.Hash = r.Prev, r.Hash
			if name == "invalid utf-8" {
				// invalid bytes read back as U+FFFD, as they always did (and
				// then hash differently); the HTTP API's decoder replaces them
				// before they reach a record
				return
			}
			if got, want := back.Canonical(), r.Canonical(); !bytes.Equal(got, want) {
				t.Fatalf("read back, the record hashes differently:\ngot  %s\nwant %s", got, want)
			}
			if diff := cmp.Diff(r, back); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
			if name == "odd" {
				return // encoding/json and the fallback escape control characters differently
			}
			var want bytes.Buffer
			enc := stdjson.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(&r); err != nil {
				t.Fatal(err)
			}
			if got := string(b) + "\n"; got != want.String() {
				t.Fatalf("got  %s\nwant %s", got, want.String())
			}
		})
	}
}

// TestAnswerJSON: the hand-written answer is what api.JSON wrote with
// encoding/json.
func TestAnswerJSON(t *testing.T) {
	x := consent.NewIndex(sample)
	s := garde.SubjectID("s_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	x.Apply(rec(s, "analytics", consent.Given, t0))
	x.Apply(rec(s, "personalisation", consent.Refused, t0))
	a := consent.PostAnswer{ReceiptID: "rcpt_1", Receipt: "eyJh.eyJi.c2ln-_", State: x.State(s, t0.Add(time.Hour)),
		Records: []consent.RecordAnswer{{ID: "cr_1", Purpose: "analytics", Decision: consent.Given, Expires: t0.AddDate(0, 13, 0)},
			{ID: "cr_2", Purpose: "personalisation", Decision: consent.Refused}}}
	want, err := stdjson.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := consent.AnswerJSON(&a); !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestRecordIDs: record ids are unique, of one length, and an id made at a
// later time sorts after one made earlier.
func TestRecordIDs(t *testing.T) {
	seen := map[string]bool{}
	prev, prevAt := "", time.Time{}
	at := t0
	for i := range 3000 {
		if i%3 == 0 {
			at = at.Add(time.Duration(i%7) * time.Nanosecond)
		}
		id := consent.RecordIDForTest(at)
		if len(id) != 29 || !strings.HasPrefix(id, "cr_") || seen[id] {
			t.Fatalf("id %d: %q", i, id)
		}
		seen[id] = true
		if at.After(prevAt) && id <= prev {
			t.Fatalf("%q, made later, sorts before %q", id, prev)
		}
		prev, prevAt = id, at
	}
}

// FuzzCanonical: whatever the strings, the hand-written encodings match
// the JSON encoder (canonical) and read back (body).
func FuzzCanonical(f *testing.F) {
	f.Add("cr_1", "analytics", "source:web", "fr", "<&>", int64(7), int64(1))
	f.Add("\u2028", "\xff", "\"\\", "\x00", "é", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, id, purpose, collector, lang, tc string, seq, ns int64) {
		r := fullRecord()
		r.ID, r.Purpose, r.Collector, r.Notice.Language, r.Signals.TCString, r.Seq = id, purpose, collector, lang, tc, seq
		r.Time = time.Unix(0, ns).UTC()
		if got, want := r.Canonical(), consent.ReflectCanonical(&r); !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
		var back consent.Record
		if err := json.Unmarshal(r.AppendJSON(nil), &back); err != nil {
			t.Fatalf("body does not read back: %v", err)
		}
		if back.Seq != r.Seq || !back.Time.Equal(r.Time) {
			t.Fatalf("body reads back as seq %d at %v", back.Seq, back.Time)
		}
	})
}

// TestPlain: the eight-bytes-at-a-time scan agrees with the byte test for
// every byte value, at every position of a word and in the tail, alone and
// after every other byte value (carries and borrows between bytes).
func TestPlain(t *testing.T) {
	ok := func(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }
	for c := range 256 {
		for pos := range 11 {
			s := []byte("abcdefghijk")
			s[pos] = byte(c)
			if got := consent.PlainForTest(string(s)); got != ok(byte(c)) {
				t.Fatalf("byte %#x at %d: got %v", c, pos, got)
			}
			for d := range 256 {
				if pos == 10 {
					break
				}
				s[pos+1] = byte(d)
				if got, want := consent.PlainForTest(string(s)), ok(byte(c)) && ok(byte(d)); got != want {
					t.Fatalf("bytes %#x %#x at %d: got %v, want %v", c, d, pos, got, want)
				}
				s[pos+1] = "abcdefghijk"[pos+1]
			}
		}
	}
}

// TestReceiptJSON: the receipt Sign signs is what the JSON encoder writes
// (HTML escaping off), for receipts with and without their optional parts
// and with text that needs escaping.
func TestReceiptJSON(t *testing.T) {
	full := consent.Receipt{Version: "KI-CR-v1.1.0", ID: "rcpt_1", Issuer: `Maison "Lumière" <&>`, Subject: "s_0123456789abcdefghijklmnop",
		IssuedAt: 1_800_000_000, ConsentTimestamp: 1_799_999_999, Jurisdiction: "US-CA", CollectionMethod: "banner", Language: "fr",
		Notice:      consent.Notice{Version: 3, Hash: strings.Repeat("ab", 32), Language: "fr"},
		Controllers: []consent.Controller{{Name: "Maison", Contact: "DPO\tdesk", Email: "dpo@example.org", Country: "FR"}, {Name: "Other"}},
		Purposes: []consent.ReceiptPurpose{
			{Purpose: "analytics", Decision: consent.Given, ConsentType: "EXPRESSED", LegalBasis: "consent", Termination: "2027-12-29T00:00:00Z", Record: "cr_1", RecordHash: "00ff"},
			{Purpose: "email_marketing", Decision: consent.Refused, ConsentType: "EXPLICIT", LegalBasis: "consent", Record: "cr_2", RecordHash: "ff00"},
		},
		Signals:   &consent.Signals{GPC: true, TCString: "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", GPPString: "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"},
		Sensitive: true}
	bare := consent.Receipt{Version: "KI-CR-v1.1.0", ID: "rcpt_2", Subject: "s_a"}
	for name, r := range map[string]consent.Receipt{"full": full, "bare": bare, "no signals": func() consent.Receipt { c := full; c.Signals = &consent.Signals{}; return c }()} {
		want, err := json.MarshalWithOption(r, json.DisableHTMLEscape())
		if err != nil {
			t.Fatal(err)
		}
		if got := consent.ReceiptJSON(&r); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
		if !stdjson.Valid(consent.ReceiptJSON(&r)) {
			t.Errorf("%s: not valid JSON", name)
		}
	}
}
