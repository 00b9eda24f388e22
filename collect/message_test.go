package collect

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
)

// TestDecodeEnvelope: the envelope is read as encoding/json reads it
// (escaped names, null, the last of repeated members), and a member of the
// wrong type is refused by its name, never its value.
func TestDecodeEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       Message
		err        string
	}{
		{"plain", `{"type":"track","event":"E","userId":"u1","properties":{"a":1}}`,
			Message{Type: "track", Event: "E", UserID: "u1", Properties: Object(`{"a":1}`)}, ""},
		{"escaped name and value", `{"type":"track","event":"E","\u0075serId":"\u00e9t\u00e9"}`,
			Message{Type: "track", Event: "E", UserID: "été"}, ""},
		{"null counts as absent", `{"type":"track","event":"E","anonymousId":"a","userId":null,"context":null}`,
			Message{Type: "track", Event: "E", AnonymousID: "a"}, ""},
		{"the last repeated member counts", `{"type":"track","event":"E","userId":"u1","userId":"u2"}`,
			Message{Type: "track", Event: "E", UserID: "u2"}, ""},
		{"unknown members are ignored", `{"type":"track","event":"E","userId":"u","integrations":{"All":true},"version":2}`,
			Message{Type: "track", Event: "E", UserID: "u"}, ""},
		{"white space inside", " {\n \"type\" : \"track\" ,\"event\":\"E\",\"userId\":\"u\",\"traits\": { \"a\" : [ 1 ] } }\n",
			Message{Type: "track", Event: "E", UserID: "u", Traits: Object(`{ "a" : [ 1 ] }`)}, ""},
		{"a number for a string", `{"type":"track","event":"E","userId":5}`, Message{}, `field "userId" must be a string`},
		{"a string for an object", `{"type":"track","event":"E","userId":"u","properties":"secret@example.com"}`, Message{}, `field "properties" must be an object`},
		{"an escaped name of the wrong type", `{"type":"track","event":"E","\u0075serId":[1]}`, Message{}, `field "userId" must be a string`},
		{"not an object", `["track"]`, Message{}, "body must be a JSON object"},
		{"not JSON", `{"type":"track",}`, Message{}, "body is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := m.UnmarshalJSON([]byte(tc.body))
			if tc.err != "" {
				if err == nil || garde.ErrorCode(err) != garde.EInvalid || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "5") {
					t.Fatalf("the error repeats the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := mustJSON(t, m), mustJSON(t, tc.want); got != want {
				t.Fatalf("decoded %s\nwant    %s", got, want)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDecodeBatch: the batch body's members, a batch that is not an array,
// and the batch's context inherited by messages that do not set the same
// fields themselves.
func TestDecodeBatch(t *testing.T) {
	b, err := decodeBatch([]byte(`{"writeKey":"k","batch":[{"type":"track"} , {"messageId":"m2","userId":7}],"context":{"locale":"fr-FR","ip":"203.0.113.1"}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.WriteKey != "k" || len(b.Batch) != 2 || string(b.Batch[0]) != `{"type":"track"}` {
		t.Fatalf("batch %+v", b)
	}
	if id := messageID(b.Batch[1]); id != "m2" {
		t.Fatalf("messageID of a rejected message = %q, want m2", id)
	}
	if _, err := decodeBatch([]byte(`{"batch":{"type":"track"}}`), nil); err == nil || !strings.Contains(err.Error(), `field "batch" must be an array`) {
		t.Fatalf("a batch that is an object: %v", err)
	}

	for _, tc := range []struct{ own, want string }{
		{"", `{"locale":"fr-FR","ip":"203.0.113.1"}`},
		{`{}`, `{"locale":"fr-FR","ip":"203.0.113.1"}`},
		{`{"ip":"198.51.100.2"}`, `{"ip":"198.51.100.2","locale":"fr-FR"}`},
		{`{ "\u006cocale" : "en-GB" }`, `{"ip":"203.0.113.1","locale":"en-GB"}`},
	} {
		m := Message{Context: Object(tc.own)}
		if tc.own == "" {
			m.Context = nil
		}
		inheritContext(&m, b.Context)
		var got, want map[string]any
		if err := json.Unmarshal(m.Context, &got); err != nil {
			t.Fatalf("own %s: merged context %s is not JSON: %v", tc.own, m.Context, err)
		}
		json.Unmarshal([]byte(tc.want), &want)
		if mustJSON(t, got) != mustJSON(t, want) {
			t.Errorf("own %s: merged %s, want %s", tc.own, m.Context, tc.want)
		}
	}
}

// TestEventTime: when an event happened, from the times validate parsed or,
// for a message that was not validated, parsed on the spot: the same.
func TestEventTime(t *testing.T) {
	received := time.Date(2026, 11, 30, 12, 0, 10, 0, time.UTC)
	for _, tc := range []struct {
		ts, orig, sent string
		want           time.Time
	}{
		{"", "", "", received},
		{"2026-11-30T11:00:00Z", "", "", time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)},
		{"", "2026-11-30T13:00:00+01:00", "", time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)},
		// the device's clock is 10 s behind: sentAt corrects it
		{"2026-11-30T11:59:50Z", "", "2026-11-30T12:00:00Z", time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)},
		{"2026-11-30T11:00:00Z", "2026-11-30T10:00:00Z", "", time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)},
		{"yesterday", "", "", received}, // (validate refuses it)
	} {
		m := Message{Type: TypeTrack, Event: "E", UserID: "u", Timestamp: tc.ts, OriginalTimestamp: tc.orig, SentAt: tc.sent}
		if got := m.eventTime(received); !got.Equal(tc.want) {
			t.Errorf("%+v, not validated: %v, want %v", tc, got, tc.want)
		}
		v := Message{Type: TypeTrack, Event: "E", UserID: "u", Timestamp: tc.ts, OriginalTimestamp: tc.orig, SentAt: tc.sent}
		if v.validate() != nil {
			continue
		}
		if got := v.eventTime(received); !got.Equal(tc.want) {
			t.Errorf("%+v, validated: %v, want %v", tc, got, tc.want)
		}
	}
}

// TestWriteResponse: the answer written by hand is api.JSON's, byte for
// byte, status and content type included.
func TestWriteResponse(t *testing.T) {
	for _, resp := range []Response{
		{Success: true, Accepted: 1},
		{Success: true, Accepted: 98, Dropped: 2},
		{Success: false},
		{Success: true, Accepted: 1, Rejected: []Rejected{{Index: 1, MessageID: "m", Error: api.ErrorDetail{Code: "invalid", Message: "no"}}}},
	} {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		api.JSON(want, 200, &resp)
		writeResponse(got, 200, &resp)
		if got.Body.String() != want.Body.String() || got.Code != want.Code ||
			got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("%+v: wrote %d %q %q, api.JSON %d %q %q", resp, got.Code, got.Header().Get("Content-Type"), got.Body,
				want.Code, want.Header().Get("Content-Type"), want.Body)
		}
	}
}
