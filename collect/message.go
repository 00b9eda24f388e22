package collect

import (
	"bytes"
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
// the envelope is decoded here; properties, traits and context stay raw JSON
// objects until the tracking plan says which of their members may be kept.
type Message struct {
	Type              string
	MessageID         string
	UserID            string
	AnonymousID       string
	PreviousID        string
	GroupID           string
	Event             string
	Name              string
	Category          string
	Timestamp         string
	OriginalTimestamp string
	SentAt            string
	WriteKey          string
	Properties        Object
	Traits            Object
	Context           Object

	// times holds Timestamp, OriginalTimestamp and SentAt as validate
	// parsed them (has: the value is set and valid; parsed: validate ran),
	// for eventTime
	times  [3]time.Time
	has    [3]bool
	parsed bool
}

// Object is a raw JSON object that passed checkJSON (nil when absent): its
// members are read in order, in place.
type Object []byte

// members walks the object's members: raw keys (still escaped) and raw
// values.
func (o Object) members() objectIter { return (*jsonIndex)(nil).members(o) }

// get returns the raw value of the member named key (the last one, as a
// JSON decoder keeps), or nil.
func (o Object) get(key string) []byte {
	var out []byte
	it := o.members()
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		if keyIs(k, key) {
			out = v
		}
	}
	return out
}

// MarshalJSON writes the object as it is ("null" when absent).
func (o Object) MarshalJSON() ([]byte, error) {
	if len(o) == 0 {
		return []byte("null"), nil
	}
	return o, nil
}

// UnmarshalJSON decodes the envelope of a message, as the tracking API
// does (without the checks of a message's content: validate does those), so
// that tools and tests may build messages with a JSON decoder.
func (m *Message) UnmarshalJSON(data []byte) error {
	if err := checkJSON(data, MaxDepth); err != nil {
		return err
	}
	*m = Message{}
	return m.decode(data, nil)
}

// ObjectOf encodes v (a map or a struct) as an Object: for tests and tools
// that build messages in Go. It returns nil when v is not an object.
func ObjectOf(v any) Object {
	b, err := json.Marshal(v)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return nil
	}
	return b
}

// batchBody is the body of /v1/batch: the messages stay raw so that one bad
// message is refused alone.
type batchBody struct {
	Batch    [][]byte
	WriteKey string
	SentAt   string
	Context  Object
}

// decodeMessage decodes and checks one message. typ, when not empty, is the
// type the path implies (/v1/track …) and wins over the body's. inBatch
// says data is one message of a batch whose body passed checkJSON (UTF-8,
// syntax and depth hold for every part of it), indexed in ix; otherwise
// data is checked here, and indexed in ix if it is not nil.
func decodeMessage(data []byte, typ string, inBatch bool, ix *jsonIndex) (*Message, error) {
	m := new(Message)
	if err := m.read(data, typ, inBatch, ix); err != nil {
		return nil, err
	}
	return m, nil
}

// read is decodeMessage into m, a zero Message.
func (m *Message) read(data []byte, typ string, inBatch bool, ix *jsonIndex) error {
	if len(data) > MaxEvent {
		return garde.Errorf(garde.ETooLarge, "event is larger than %d bytes", MaxEvent)
	}
	if !inBatch {
		if err := scanJSON(data, MaxDepth, ix); err != nil {
			return err
		}
	}
	if err := m.decode(data, ix); err != nil {
		return err
	}
	if typ != "" {
		m.Type = typ
	}
	return m.validate()
}

// decode reads the envelope of a message that passed checkJSON, in one walk
// over its members, without reflection: a member of the wrong type is
// refused with its name, never its value; unknown members are ignored; a
// repeated one counts last, as with encoding/json. Names match exactly
// (encoding/json would also take "UserID" for "userId"; no SDK sends that).
func (m *Message) decode(data []byte, ix *jsonIndex) error {
	obj, err := topObject(data)
	if err != nil {
		return err
	}
	it := ix.members(obj)
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		name := memberName(k)
		var dst *string
		var odst *Object
		switch string(name) {
		case "type":
			dst = &m.Type
		case "messageId":
			dst = &m.MessageID
		case "userId":
			dst = &m.UserID
		case "anonymousId":
			dst = &m.AnonymousID
		case "previousId":
			dst = &m.PreviousID
		case "groupId":
			dst = &m.GroupID
		case "event":
			dst = &m.Event
		case "name":
			dst = &m.Name
		case "category":
			dst = &m.Category
		case "timestamp":
			dst = &m.Timestamp
		case "originalTimestamp":
			dst = &m.OriginalTimestamp
		case "sentAt":
			dst = &m.SentAt
		case "writeKey":
			dst = &m.WriteKey
		case "properties":
			odst = &m.Properties
		case "traits":
			odst = &m.Traits
		case "context":
			odst = &m.Context
		default:
			continue
		}
		if dst != nil {
			*dst, err = stringMember(name, v)
		} else {
			*odst, err = objectMember(name, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// memberName is a raw member name decoded: the raw bytes themselves, without
// an allocation, when they hold no escape.
func memberName(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	return []byte(keyString(raw))
}

// topObject returns data, checked JSON (one value), without the white
// space around it, or an error if it is not an object. The value ends at
// the last byte that is not white space: no need to walk it.
func topObject(data []byte) ([]byte, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, garde.Errorf(garde.EInvalid, "body must be a JSON object")
	}
	j := len(data)
	for j > i && (data[j-1] == ' ' || data[j-1] == '\t' || data[j-1] == '\n' || data[j-1] == '\r') {
		j--
	}
	return data[i:j], nil
}

// stringMember decodes a member that must be a string (null counts as
// absent).
func stringMember(name, v []byte) (string, error) {
	switch v[0] {
	case '"':
		return unquote(v), nil
	case 'n':
		return "", nil
	}
	return "", typeError(name, "a string")
}

// objectMember returns a member that must be an object (null counts as
// absent).
func objectMember(name, v []byte) (Object, error) {
	switch v[0] {
	case '{':
		return Object(v), nil
	case 'n':
		return nil, nil
	}
	return nil, typeError(name, "an object")
}

// typeError names the member (a name this decoder knows, never client
// data) and the type it must have.
func typeError(name []byte, want string) error {
	return garde.Errorf(garde.EInvalid, "field %q must be %s", name, want)
}

// decodeBatch reads the body of /v1/batch, after checkJSON (scanJSON, which
// indexed it in a's index). The list of messages is a's (a may be nil).
func decodeBatch(data []byte, a *arena) (*batchBody, error) {
	obj, err := topObject(data)
	if err != nil {
		return nil, err
	}
	var b batchBody
	ix := a.index()
	if a != nil {
		b.Batch = a.batch[:0]
		defer func() { a.batch = b.Batch }()
	}
	it := ix.members(obj)
	for k, ok := it.nextKey(); ok; k, ok = it.nextKey() {
		name := memberName(k)
		if at := it.valueAt(); string(name) == "batch" && obj[at] == '[' {
			// the messages, each delimited once: the array is walked
			// here, not skipped first to be walked again
			b.Batch = b.Batch[:0]
			ai := arrayIter{data: obj, i: skipSpace(obj, at+1), ix: ix}
			for e, ok := ai.next(); ok; e, ok = ai.next() {
				b.Batch = append(b.Batch, e)
			}
			it.skipTo(ai.end())
			continue
		}
		v := it.value()
		switch string(name) {
		case "batch":
			if v[0] != 'n' {
				return nil, typeError(name, "an array")
			}
			b.Batch = b.Batch[:0]
		case "writeKey":
			b.WriteKey, err = stringMember(name, v)
		case "sentAt":
			b.SentAt, err = stringMember(name, v)
		case "context":
			b.Context, err = objectMember(name, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return &b, nil
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
	for i, f := range [...]struct{ name, v string }{
		{"timestamp", m.Timestamp}, {"originalTimestamp", m.OriginalTimestamp}, {"sentAt", m.SentAt},
	} {
		t, err := parseTime(f.v)
		if err != nil {
			return garde.Errorf(garde.EInvalid, "%s must be an ISO 8601 date-time", f.name)
		}
		m.times[i], m.has[i] = t, f.v != ""
	}
	m.parsed = true
	return nil
}

// eventTime is when the event happened: timestamp (or originalTimestamp),
// corrected for the device's clock skew by sentAt as Segment does, or the
// time it was received.
func (m *Message) eventTime(received time.Time) time.Time {
	if !m.parsed { // not validated: parse here, as validate would
		for i, s := range [...]string{m.Timestamp, m.OriginalTimestamp, m.SentAt} {
			t, err := parseTime(s)
			m.times[i], m.has[i] = t, err == nil && s != ""
		}
	}
	t, ok := m.times[0], m.has[0]
	if m.Timestamp == "" {
		t, ok = m.times[1], m.has[1]
	}
	if !ok {
		return received
	}
	if m.has[2] {
		t = t.Add(received.Sub(m.times[2]))
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
