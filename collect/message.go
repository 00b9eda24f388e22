package collect

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
)

// Limits on what one call may carry. A body over MaxBody or an event over
// MaxEvent is refused with 413, as Segment's API does.
const (
	MaxBody     = 500 << 10
	MaxEvent    = 32 << 10
	MaxDepth    = 16
	MaxIDLength = 256
	MaxNameLen  = 256
)

// Message types of the Segment tracking API.
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Message is one call of the Segment tracking API as an SDK sends it. Only
// the envelope is decoded here; properties, traits and context stay raw until
// the tracking plan says which of their fields may be kept.
type Message struct {
	Type              string                     `json:"type"`
	MessageID         string                     `json:"messageId"`
	UserID            string                     `json:"userId"`
	AnonymousID       string                     `json:"anonymousId"`
	PreviousID        string                     `json:"previousId"`
	GroupID           string                     `json:"groupId"`
	Event             string                     `json:"event"`
	Name              string                     `json:"name"`
	Category          string                     `json:"category"`
	Timestamp         string                     `json:"timestamp"`
	OriginalTimestamp string                     `json:"originalTimestamp"`
	SentAt            string                     `json:"sentAt"`
	WriteKey          string                     `json:"writeKey"`
	Properties        map[string]json.RawMessage `json:"properties"`
	Traits            map[string]json.RawMessage `json:"traits"`
	Context           map[string]json.RawMessage `json:"context"`
}

// batchBody is the body of /v1/batch: the messages stay raw so that one bad
// message is refused alone.
type batchBody struct {
	Batch    []json.RawMessage          `json:"batch"`
	WriteKey string                     `json:"writeKey"`
	SentAt   string                     `json:"sentAt"`
	Context  map[string]json.RawMessage `json:"context"`
}

// decodeMessage decodes and checks one message. typ, when not empty, is the
// type the path implies (/v1/track …) and wins over the body's. inBatch
// says data is one message of a batch whose body unmarshal already checked
// (UTF-8 and depth hold for every part of it).
func decodeMessage(data []byte, typ string, inBatch bool) (*Message, error) {
	if len(data) > MaxEvent {
		return nil, garde.Errorf(garde.ETooLarge, "event is larger than %d bytes", MaxEvent)
	}
	var m Message
	var err error
	if inBatch {
		err = decodeChecked(data, &m)
	} else {
		err = unmarshal(data, &m)
	}
	if err != nil {
		return nil, err
	}
	if typ != "" {
		m.Type = typ
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// unmarshal decodes JSON into v and turns decoder errors into public
// messages that name the field and the expected type, never the value.
func unmarshal(data []byte, v any) error {
	if !utf8.Valid(data) {
		return garde.Errorf(garde.EInvalid, "body is not valid UTF-8")
	}
	if err := checkDepth(data, MaxDepth); err != nil {
		return err
	}
	return decodeChecked(data, v)
}

// decodeChecked is unmarshal for data already known to be valid UTF-8 and
// nested no deeper than MaxDepth.
func decodeChecked(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return garde.Wrap(garde.EInvalid, err, "body must be a JSON object")
		}
		return garde.Wrap(garde.EInvalid, err, fmt.Sprintf("field %q must be %s", field, jsonTypeName(te.Type.Kind().String())))
	}
	return garde.Wrap(garde.EInvalid, err, "body is not valid JSON")
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	default:
		return "of another type"
	}
}

// checkDepth refuses JSON nested deeper than max, in one pass over the bytes.
func checkDepth(data []byte, max int) error {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			// skip the string: to its closing quote, one not escaped by an
			// odd run of backslashes
			for {
				j := bytes.IndexByte(data[i+1:], '"')
				if j < 0 {
					return nil // unterminated: the decoder says so
				}
				i += j + 1
				k := i - 1
				for k >= 0 && data[k] == '\\' {
					k--
				}
				if (i-1-k)%2 == 0 {
					break
				}
			}
		case '{', '[':
			depth++
			if depth > max {
				return garde.Errorf(garde.EInvalid, "JSON is nested deeper than %d levels", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

func (m *Message) validate() error {
	switch m.Type {
	case TypeTrack:
		if m.Event == "" {
			return garde.Errorf(garde.EInvalid, "track needs an event name")
		}
	case TypeIdentify, TypePage, TypeScreen:
	case TypeGroup:
		if m.GroupID == "" {
			return garde.Errorf(garde.EInvalid, "group needs a groupId")
		}
	case TypeAlias:
		if m.UserID == "" || m.PreviousID == "" {
			return garde.Errorf(garde.EInvalid, "alias needs userId and previousId")
		}
	case "":
		return garde.Errorf(garde.EInvalid, "message has no type")
	default:
		return garde.Errorf(garde.EInvalid, "unknown message type %q", truncate(m.Type, 32))
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return garde.Errorf(garde.EInvalid, "message needs a userId or an anonymousId")
	}
	for _, f := range [...]struct{ name, v string }{
		{"userId", m.UserID}, {"anonymousId", m.AnonymousID}, {"previousId", m.PreviousID},
		{"groupId", m.GroupID}, {"messageId", m.MessageID},
	} {
		if len(f.v) > MaxIDLength {
			return garde.Errorf(garde.EInvalid, "%s is longer than %d bytes", f.name, MaxIDLength)
		}
	}
	if len(m.Event) > MaxNameLen || len(m.Name) > MaxNameLen || len(m.Category) > MaxNameLen {
		return garde.Errorf(garde.EInvalid, "event or page name is longer than %d bytes", MaxNameLen)
	}
	for _, f := range [...]struct{ name, v string }{
		{"timestamp", m.Timestamp}, {"originalTimestamp", m.OriginalTimestamp}, {"sentAt", m.SentAt},
	} {
		if f.v == "" {
			continue
		}
		if _, err := parseTime(f.v); err != nil {
			return garde.Errorf(garde.EInvalid, "%s must be an ISO 8601 date-time", f.name)
		}
	}
	return nil
}

// eventTime is when the event happened: timestamp (or originalTimestamp),
// corrected for the device's clock skew by sentAt as Segment does, or the
// time it was received.
func (m *Message) eventTime(received time.Time) time.Time {
	ts := m.Timestamp
	if ts == "" {
		ts = m.OriginalTimestamp
	}
	t, err := parseTime(ts)
	if err != nil || ts == "" {
		return received
	}
	if sent, err := parseTime(m.SentAt); err == nil && m.SentAt != "" {
		t = t.Add(received.Sub(sent))
	}
	return t.UTC()
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
