package collect

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	stdjson "encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/garde-privacy/garde/inventory"
)

// hmacIndex is a blind index with a fixed key, for the fuzzer.
type hmacIndex struct{}

func (hmacIndex) BlindIndex(kind, value string) []byte {
	m := hmac.New(sha256.New, []byte("fuzz"))
	m.Write([]byte(kind + "\x00" + value))
	return m.Sum(nil)[:16]
}

var fuzzSeeds = []string{
	`{"type":"track","userId":"u1","event":"Order Completed","properties":{"order_id":"A1","total":12.5,"email":"a@example.com","products":[{"sku":"x"}],"bogus":1},"context":{"ip":"203.0.113.9","page":{"url":"https://x.example/p"},"traits":{"email":"a@example.com"}}}`,
	`{"type":"identify","anonymousId":"a1","userId":"u1","traits":{"email":"A@Example.com ","phone":"06 12 34 56 78","plan":"gold","name":1}}`,
	`{"type":"page","anonymousId":"a1","name":"Mon compte jean@example.com","properties":{"title":"Carte 4970 1012 3456 7890"}}`,
	`{"type":"alias","userId":"u1","previousId":"a1"}`,
	`{"type":"group","userId":"u1","groupId":"g1","traits":{"name":"ACME"}}`,
	`{"type":"track","userId":"u1","event":"Support Ticket Opened","properties":{"message":"IBAN FR76 3000 6000 0112 3456 7890 189, NIR 1 85 05 78 006 084 36"},"timestamp":"2026-11-28T10:00:00Z","sentAt":"2026-11-28T10:00:05Z"}`,
	`{"batch":[{"type":"track","userId":"u","event":"Product Viewed"}],"context":{"locale":"fr-FR"}}`,
	`{"type":"track","userId":{"a":1}}`, `[`, `{"type":"track","userId":"\u0000","event":"\ud800"}`,
}

// sameBatch checks the messages decodeBatch found against encoding/json's
// reading of the same body: as many, with the same bytes.
func sameBatch(t *testing.T, data []byte, b *batchBody) {
	t.Helper()
	if bytes.Count(bytes.ToLower(data), []byte(`"batch"`)) != bytes.Count(data, []byte(`"batch"`)) {
		return // encoding/json also takes "Batch"; decodeBatch does not
	}
	var ref struct {
		Batch []stdjson.RawMessage `json:"batch"`
	}
	if err := stdjson.Unmarshal(data, &ref); err != nil {
		return // "batch" not an array: decodeBatch refuses it too
	}
	if len(ref.Batch) != len(b.Batch) {
		t.Fatalf("%d messages, encoding/json finds %d", len(b.Batch), len(ref.Batch))
	}
	for i := range ref.Batch {
		if !bytes.Equal(ref.Batch[i], b.Batch[i]) {
			t.Fatalf("message %d: %q, encoding/json %q", i, b.Batch[i], ref.Batch[i])
		}
	}
}

// FuzzDecode feeds arbitrary bodies through decoding and the whole pipeline:
// never a panic, and whatever is kept is declared.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	inv := inventory.MustExample()
	p := NewPipeline(inv, hmacIndex{})
	src := inv.Sources[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		var b *batchBody
		ba := &arena{}
		ix := ba.index()
		if scanJSON(data, MaxDepth, ix) == nil {
			b, _ = decodeBatch(data, ba)
		}
		if b != nil {
			sameBatch(t, data, b)
			for _, raw := range b.Batch {
				// a batch's message skips the checks its body passed:
				// it must be decoded as if sent alone
				mIn, errIn := decodeMessage(raw, "", true, ix)
				mAlone, errAlone := decodeMessage(raw, "", false, nil)
				if (errIn == nil) != (errAlone == nil) {
					t.Fatalf("message %q: in a batch %v, alone %v", raw, errIn, errAlone)
				}
				if errIn == nil && !reflect.DeepEqual(mIn, mAlone) {
					t.Fatalf("message %q: in a batch %+v, alone %+v", raw, mIn, mAlone)
				}
			}
		}
		m, err := decodeMessage(data, "", false, nil)
		if err != nil {
			return
		}
		// the same message read through the body's index, and prepared
		// with it: the same record
		a := &arena{}
		defer a.release()
		mIx, err := decodeMessage(data, "", false, a.index())
		if err != nil || !reflect.DeepEqual(m, mIx) {
			t.Fatalf("%q: indexed %+v (%v), not %+v", data, mIx, err, m)
		}
		var ta, tb Tally
		want, okWant := p.Prepare(src, m, time.Unix(1_800_000_000, 0), &ta)
		got, okGot := p.prepare(a, src, mIx, time.Unix(1_800_000_000, 0), &tb)
		got.arena = nil
		if m.MessageID == "" {
			got.MessageID = want.MessageID // made up, differently each time
		}
		if okWant != okGot || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: prepared through the index %+v, not %+v", data, got, want)
		}
		sameEnvelope(t, data, m)
		if m.UserID == "" && m.AnonymousID == "" {
			t.Fatal("accepted a message with no identity")
		}
		var tally Tally
		rec, ok := p.Prepare(src, m, time.Unix(1_800_000_000, 0), &tally)
		if !ok {
			return
		}
		if rec.StoreEvent && rec.Purposes.Empty() {
			t.Fatal("kept an event with no purpose")
		}
		for _, v := range rec.Personal {
			if len(v.JSON) == 0 {
				t.Fatalf("empty personal value at %s", v.Path)
			}
		}
	})
}

// TestIsCompact: white space counts only outside strings.
func TestIsCompact(t *testing.T) {
	for raw, want := range map[string]bool{
		`"a b"`: true, `12`: true, `{"a":"b c"}`: true, `[1,"x \" y",2]`: true,
		`{"a": 1}`: false, "[1,\n2]": false, `{"a":"\\" }`: false,
	} {
		if got := isCompact([]byte(raw)); got != want {
			t.Errorf("isCompact(%s) = %v, want %v", raw, got, want)
		}
	}
}

// sameEnvelope checks the decoder against encoding/json: every envelope
// member as encoding/json decodes it (exact names; the last of repeated
// members counts).
func sameEnvelope(t *testing.T, data []byte, m *Message) {
	t.Helper()
	var ref map[string]stdjson.RawMessage
	if err := stdjson.Unmarshal(data, &ref); err != nil {
		t.Fatalf("decoded %q, which encoding/json refuses: %v", data, err)
	}
	for name, got := range map[string]string{
		"messageId": m.MessageID, "userId": m.UserID, "anonymousId": m.AnonymousID, "previousId": m.PreviousID,
		"groupId": m.GroupID, "event": m.Event, "name": m.Name, "category": m.Category, "timestamp": m.Timestamp,
		"originalTimestamp": m.OriginalTimestamp, "sentAt": m.SentAt, "writeKey": m.WriteKey,
	} {
		var want string
		if raw, ok := ref[name]; ok {
			if err := stdjson.Unmarshal(raw, &want); err != nil {
				t.Fatalf("%s: decoded %q, encoding/json says %v", name, got, err)
			}
		}
		if got != want {
			t.Fatalf("%s = %q, encoding/json says %q", name, got, want)
		}
	}
	for name, got := range map[string]Object{"properties": m.Properties, "traits": m.Traits, "context": m.Context} {
		var want any
		if raw, ok := ref[name]; ok {
			stdjson.Unmarshal(raw, &want)
		}
		var have any
		if got != nil {
			if err := stdjson.Unmarshal(got, &have); err != nil {
				t.Fatalf("%s: %q is not JSON: %v", name, got, err)
			}
		}
		if !reflect.DeepEqual(have, want) {
			t.Fatalf("%s = %s, encoding/json says %v", name, got, want)
		}
	}
}
