package collect

import (
	"strconv"
	"unicode/utf8"
	"unsafe"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde/redact"
)

// decodeValue decodes one JSON value as encoding/json would into an `any`.
// Scalars — almost every value of an event — take a path without
// reflection; objects and arrays go through the JSON decoder.
func decodeValue(raw []byte) (any, error) {
	if len(raw) == 0 {
		return nil, errEmptyValue
	}
	switch c := raw[0]; {
	case c == '"':
		if s, ok := plainString(raw); ok {
			return s, nil
		}
	case c == 't' && string(raw) == "true":
		return true, nil
	case c == 'f' && string(raw) == "false":
		return false, nil
	case c == 'n' && string(raw) == "null":
		return nil, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
			return f, nil
		}
	}
	var v any
	err := json.Unmarshal(raw, &v)
	return v, err
}

var errEmptyValue = &json.SyntaxError{}

// plainString returns the content of a JSON string literal that holds no
// escape sequence and no control character (ok=false otherwise: the decoder
// handles those).
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, b := range body {
		if b == '\\' || b == '"' || b < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

// isCompact reports whether raw, valid JSON, holds no insignificant white
// space: true for every scalar, and for objects and arrays sent compact
// (white space inside strings is significant and allowed).
func isCompact(raw []byte) bool {
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
		return true
	}
	// Outside strings, valid JSON has no byte at or below ' ' but white
	// space; strings are skipped 8 bytes at a time.
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			i = skipString(raw, i)
		case c <= ' ':
			return false
		default:
			i++
		}
	}
	return true
}

// object builds a JSON object by appending members, without reflection.
// size, when set, is what the object will likely need (the object it is
// made from): one allocation instead of a buffer grown step by step.
type object struct {
	buf   []byte
	size  int
	arena *arena // where the buffer comes from (nil: the heap)
}

// add appends a member whose value is already valid compact JSON.
func (o *object) add(key string, value []byte) {
	if len(o.buf) == 0 {
		o.buf = append(o.arena.alloc(max(o.size, len(key)+len(value)+8, 64)), '{')
	} else {
		o.buf = append(o.buf, ',')
	}
	o.buf = appendString(o.buf, key)
	o.buf = append(o.buf, ':')
	o.buf = append(o.buf, value...)
}

// json returns the object, "{}" when it has no member. The string shares
// the object's buffer, which nothing writes to afterwards: call it once,
// when the object is complete.
func (o *object) json() string {
	if len(o.buf) == 0 {
		return "{}"
	}
	o.buf = append(o.buf, '}')
	return unsafe.String(unsafe.SliceData(o.buf), len(o.buf))
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// redactor counts what redaction replaced, as violations of one field.
type redactor struct {
	t                   *Tally
	source, event, path string
}

func (r *redactor) count(c redact.Counts) {
	for k, n := range c {
		for range n {
			r.t.Count(r.source, safeName(r.event), r.path, ViolationRedacted+redact.Kind(k).String())
		}
	}
}

// value replaces personal data in every string of v and reports whether
// anything was replaced.
func (r *redactor) value(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		out, c := redact.String(x)
		if c.Total() == 0 {
			return v, false // v, not x: no new interface value
		}
		r.count(c)
		return out, true
	case map[string]any:
		changed := false
		for k, e := range x {
			var ch bool
			x[k], ch = r.value(e)
			changed = changed || ch
		}
		return x, changed
	case []any:
		changed := false
		for i, e := range x {
			var ch bool
			x[i], ch = r.value(e)
			changed = changed || ch
		}
		return x, changed
	}
	return v, false
}
