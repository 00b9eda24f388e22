package collect

// This file is a small JSON scanner that replaces decoding event messages
// through reflection into map[string]json.RawMessage. It has two halves:
//
//   - checkJSON validates untrusted bytes in one pass, without allocating:
//     the JSON grammar, UTF-8 and the nesting depth together.
//   - skipValue, the iterators and unquote then walk the same bytes as
//     trusted input, with no checks at all: checkJSON already made them.
//
// No error ever holds a byte of the input: bodies hold personal data.

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/garde-privacy/garde"
)

// checkJSON checks that data is exactly one valid JSON value (RFC 8259),
// optionally surrounded by white space, whose strings are valid UTF-8, nested
// no deeper than maxDepth ({ and [ each count one level; "{}" is depth 1).
// It accepts exactly what json.Valid accepts, minus invalid UTF-8 and deep
// nesting.
//
// Errors are garde.EInvalid, with one of three public messages that never
// hold a byte of the input. Invalid UTF-8 anywhere in data wins over the
// other two; otherwise the message is that of the first fault in reading
// order (so `[[[…` truncated past maxDepth is a depth error).
func checkJSON(data []byte, maxDepth int) error { return scanJSON(data, maxDepth, nil) }

// scanJSON is checkJSON, which also records, when ix is not nil, where each
// non-empty object and array of data ends (jsonIndex); ix knows nothing
// when data is refused.
func scanJSON(data []byte, maxDepth int, ix *jsonIndex) error {
	if ix == nil {
		return scanInto(data, maxDepth, nil)
	}
	ix.reset(data)
	err := scanInto(data, maxDepth, ix)
	if err != nil {
		ix.reset(nil)
	}
	return err
}

func scanInto(data []byte, maxDepth int, ix *jsonIndex) error {
	// The stack of open containers: for each, its span in ix (when
	// recording) shifted left once, and 1 for an object. 32 levels live
	// on the goroutine stack; deeper grows on the heap.
	var buf [32]uint32
	open := buf[:0]
	i := skipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return scanError(data)
		}
		switch c := data[i]; {
		case c == '{' || c == '[':
			if len(open) >= maxDepth {
				if !utf8.Valid(data) {
					return errNotUTF8()
				}
				return garde.Errorf(garde.EInvalid, "JSON is nested deeper than %d levels", maxDepth)
			}
			start := i
			i = skipSpace(data, i+1)
			if i < len(data) && data[i] == c+2 { // '{'+2 == '}', '['+2 == ']'
				i++
				break // empty: a complete value
			}
			var top uint32
			if ix != nil {
				top = uint32(len(ix.spans)) << 1
				ix.spans = append(ix.spans, span{start: int32(start)})
			}
			if c == '{' {
				top |= 1
				if i = checkKey(data, i); i < 0 {
					return scanError(data)
				}
			}
			open = append(open, top)
			continue // the first member's value starts at i
		case c == '"':
			i = checkString(data, i)
		case c == '-' || c-'0' < 10:
			i = checkNumber(data, i)
		case c == 't':
			i = checkLiteral(data, i, "true")
		case c == 'f':
			i = checkLiteral(data, i, "false")
		case c == 'n':
			i = checkLiteral(data, i, "null")
		default:
			i = -1
		}
		if i < 0 {
			return scanError(data)
		}
		// A value ended at i: close containers until one goes on with a comma.
		for {
			i = skipSpace(data, i)
			if len(open) == 0 {
				if i != len(data) {
					return scanError(data)
				}
				return nil
			}
			if i >= len(data) {
				return scanError(data)
			}
			top := open[len(open)-1]
			isObject := top&1 == 1
			if c := data[i]; c == ',' {
				i = skipSpace(data, i+1)
				if isObject {
					if i = checkKey(data, i); i < 0 {
						return scanError(data)
					}
				}
				break // the next value starts at i
			} else if isObject && c == '}' || !isObject && c == ']' {
				open = open[:len(open)-1]
				i++
				if ix != nil {
					ix.spans[top>>1].end = int32(i)
				}
			} else {
				return scanError(data)
			}
		}
	}
}

// A jsonIndex is where each non-empty object and array of one checked body
// ends (scanJSON records it in the same pass as it checks the body), so
// that the walks that follow jump over a value instead of reading it again
// to find its end: a batch's messages, each message's properties and
// context, their nested values. It serves any part of that body, by
// address; bytes from elsewhere are scanned as before. The zero value, or
// nil, knows nothing.
type jsonIndex struct {
	body  []byte // the body indexed (nil: none)
	spans []span // in the order the containers open: by start
}

// span is one container: its first byte and the index just past its last,
// in the body.
type span struct{ start, end int32 }

// reset makes ix the index of data, empty until scanJSON fills it.
func (ix *jsonIndex) reset(data []byte) {
	ix.body, ix.spans = data, ix.spans[:0]
	if len(data) > math.MaxInt32 {
		ix.body = nil // (no body is that large) an index that knows nothing
	}
}

// skip is skipValue for data[i:], which is trusted: in one look-up when
// data[i] opens a container the index knows.
func (ix *jsonIndex) skip(data []byte, i int) int {
	if ix != nil && len(ix.body) > 0 && i < len(data) && (data[i] == '{' || data[i] == '[') {
		// where data[i] is in the body, if it is: both addresses are
		// taken here, together (a goroutine's stack, which may hold
		// either, moves only between calls)
		off := int(uintptr(unsafe.Pointer(&data[i])) - uintptr(unsafe.Pointer(&ix.body[0])))
		if uint(off) < uint(len(ix.body)) {
			if k, ok := slices.BinarySearchFunc(ix.spans, int32(off), func(s span, at int32) int { return cmp.Compare(s.start, at) }); ok {
				if end := i + int(ix.spans[k].end) - off; end <= len(data) {
					return end
				}
			}
		}
	}
	return skipValue(data, i)
}

// members walks the object raw (a part of ix's body, or not).
func (ix *jsonIndex) members(raw []byte) objectIter {
	if len(raw) == 0 {
		return objectIter{}
	}
	it := newObjectIter(raw)
	it.ix = ix
	return it
}

// scanError is the error for data that broke the grammar: the UTF-8 message
// if data holds invalid UTF-8 anywhere (a stray high byte outside a string
// is a UTF-8 fault before it is a grammar fault), the JSON one otherwise.
func scanError(data []byte) error {
	if !utf8.Valid(data) {
		return errNotUTF8()
	}
	return garde.Errorf(garde.EInvalid, "body is not valid JSON")
}

func errNotUTF8() error { return garde.Errorf(garde.EInvalid, "body is not valid UTF-8") }

// checkKey checks `"key" :` and the white space after it, starting at i,
// and returns the index of the member's value, or -1.
func checkKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = checkString(data, i); i < 0 {
		return -1
	}
	i = skipSpace(data, i)
	if i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipSpace(data, i+1)
}

// Masks for reading 8 string bytes at once ("SWAR"): an event's strings are
// mostly plain ASCII, and one test per 8 bytes beats one per byte.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special reports, in the high bit of each byte, which of the 8 bytes in x
// end the plain run of a string: a control character (< 0x20), '"', '\\' or
// a non-ASCII byte. The lowest flagged byte is exact; bytes above it may be
// flagged wrongly (by a borrow from it), which does not matter: only the
// lowest is used. (The classic "has a zero byte" test, (v-1)&^v, needs no
// &^v here: v's high bit, the same in x, q and b, is flagged anyway.)
func special(x uint64) uint64 {
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	return ((x - lsb*0x20) | (q - lsb) | (b - lsb) | x) & msb
}

// checkString checks the string literal whose opening quote is data[i] and
// returns the index just past its closing quote, or -1. Plain ASCII, the
// bulk of an event, stays in this loop; escapes, non-ASCII and faults go to
// checkSpecial.
func checkString(data []byte, i int) int {
	i++
	for {
		// Skip plain ASCII 8 bytes at a time, then, near the end of data,
		// one at a time.
		var c byte
		if i+8 <= len(data) {
			x := binary.LittleEndian.Uint64(data[i:])
			m := special(x)
			if m == 0 {
				i += 8
				continue
			}
			n := bits.TrailingZeros64(m) &^ 7
			i += n / 8
			c = byte(x >> n)
		} else {
			for i < len(data) && plain[data[i]] {
				i++
			}
			if i >= len(data) {
				return -1
			}
			c = data[i]
		}
		if c == '"' {
			return i + 1
		}
		if i = checkSpecial(data, i); i < 0 {
			return -1
		}
	}
}

// checkSpecial checks the escape sequence or the non-ASCII UTF-8 sequence
// at data[i] and returns the index just past it, or -1 (also for a control
// character).
func checkSpecial(data []byte, i int) int {
	switch c := data[i]; {
	case c == '\\':
		if i+1 >= len(data) {
			return -1
		}
		switch data[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			return i + 2
		case 'u':
			if hex4(data, i+2) < 0 {
				return -1
			}
			return i + 6 // a lone surrogate is allowed, as encoding/json allows it
		}
		return -1
	case c < 0x20:
		return -1
	default: // non-ASCII: one whole, valid UTF-8 sequence
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return -1
		}
		return i + size
	}
}

// plain is true for the bytes a string may hold as they are, except
// non-ASCII ones, which checkString decodes.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// checkNumber checks the number starting at data[i] against RFC 8259's
// grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the
// index just past it, or -1. What follows is the caller's business ("01"
// fails there, on the '1').
func checkNumber(data []byte, i int) int {
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return -1
	case data[i] == '0':
		i++
	case data[i]-'1' < 9:
		i = skipDigits(data, i+1)
	default:
		return -1
	}
	if i < len(data) && data[i] == '.' {
		j := skipDigits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(data) && data[i]|0x20 == 'e' {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := skipDigits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && data[i]-'0' < 10 {
		i++
	}
	return i
}

func checkLiteral(data []byte, i int, lit string) int {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// skipSpace returns the index of the first non-white-space byte at or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && data[i] <= ' ' && space&(1<<data[i]) != 0 {
		i++
	}
	return i
}

// space has bit c set for each white-space byte c.
const space = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r'

// What follows walks trusted input: bytes that checkJSON accepted. It does
// not validate again, only finds boundaries, as fast as it can. On other
// input it returns meaningless results but never panics or loops forever.

// skipValue returns the index just past the JSON value that starts at data[i]
// (data[i] is its first byte).
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		// Count brackets outside strings: a trusted value balances them.
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(data)
	default: // a number or a literal runs to the next delimiter
		for ; i < len(data); i++ {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}

// skipString returns the index just past the string literal whose opening
// quote is data[i] (len(data) if it has no closing quote). It jumps 8 bytes
// at a time to the next quote or backslash, and over what a backslash escapes.
func skipString(data []byte, i int) int {
	i++
	for i+8 <= len(data) {
		x := binary.LittleEndian.Uint64(data[i:])
		q, b := x^(lsb*'"'), x^(lsb*'\\')
		m := ((q-lsb)&^q | (b-lsb)&^b) & msb
		if m == 0 {
			i += 8
			continue
		}
		i += bits.TrailingZeros64(m) / 8
		if data[i] == '"' {
			return i + 1
		}
		i += 2 // a backslash and the byte it escapes
	}
	for ; i < len(data); i++ {
		switch data[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return len(data)
}

// objectIter walks the members of one trusted JSON object in order, without
// allocating. Duplicate keys are all returned, in order: encoding/json keeps
// the last one, so a caller that wants its behaviour lets later ones win.
// The zero value walks an empty object.
type objectIter struct {
	data []byte
	i    int        // the next member's opening quote, or where the object ends
	ix   *jsonIndex // where data's containers end, if known
}

// newObjectIter starts at raw, a trusted JSON object (raw[0] == '{', may
// have white space inside).
func newObjectIter(raw []byte) objectIter {
	return objectIter{data: raw, i: skipSpace(raw, 1)}
}

// next returns the next member: key is the raw key between its quotes
// (still escaped, without the quotes), value the raw value without
// surrounding white space; ok is false at the end.
func (it *objectIter) next() (key, value []byte, ok bool) {
	if key, ok = it.nextKey(); !ok {
		return nil, nil, false
	}
	return key, it.value(), true
}

// nextKey returns the next member's raw key (as next does) and stops at
// its value, which the caller then takes with value, or walks itself and
// passes with skipTo.
func (it *objectIter) nextKey() (key []byte, ok bool) {
	d, i := it.data, it.i
	if i >= len(d) || d[i] != '"' {
		return nil, false
	}
	end := skipString(d, i)
	j := skipSpace(d, end)
	if j >= len(d) || d[j] != ':' { // only on untrusted input
		it.i = len(d)
		return nil, false
	}
	it.i = skipSpace(d, j+1)
	return d[i+1 : end-1], true
}

// value returns the value of the member nextKey returned, raw and without
// surrounding white space, and moves to the next member.
func (it *objectIter) value() []byte {
	start := it.i
	end := it.ix.skip(it.data, start)
	it.i = skipComma(it.data, end)
	return it.data[start:end]
}

// valueAt is where the value of the member nextKey returned begins, in
// it.data.
func (it *objectIter) valueAt() int { return it.i }

// skipTo moves to the next member, the value of the member nextKey
// returned ending at end (an index in it.data).
func (it *objectIter) skipTo(end int) { it.i = skipComma(it.data, end) }

// arrayIter walks the elements of one trusted JSON array in order, without
// allocating. The zero value walks an empty array.
type arrayIter struct {
	data []byte
	i    int        // the next element's first byte, or where the array ends
	ix   *jsonIndex // where data's containers end, if known
}

// newArrayIter starts at raw, a trusted JSON array (raw[0] == '[', may have
// white space inside).
func newArrayIter(raw []byte) arrayIter {
	return arrayIter{data: raw, i: skipSpace(raw, 1)}
}

// end is where the array ends (just past its ']'), once next has returned
// false.
func (it *arrayIter) end() int { return min(it.i+1, len(it.data)) }

// next returns the next element, raw and without surrounding white space;
// ok is false at the end.
func (it *arrayIter) next() (elem []byte, ok bool) {
	d, i := it.data, it.i
	if i >= len(d) || d[i] == ']' {
		return nil, false
	}
	end := it.ix.skip(d, i)
	if end == i { // only on untrusted input
		it.i = len(d)
		return nil, false
	}
	it.i = skipComma(d, end)
	return d[i:end], true
}

// skipComma skips the white space and the comma, if any, after a member or
// an element that ends at i.
func skipComma(data []byte, i int) int {
	i = skipSpace(data, i)
	if i < len(data) && data[i] == ',' {
		i = skipSpace(data, i+1)
	}
	return i
}

// unquote decodes a trusted JSON string literal, quotes included, exactly as
// encoding/json decodes it into a Go string: escapes decoded, \u surrogate
// pairs combined, a lone or invalid surrogate turned into U+FFFD.
func unquote(raw []byte) string {
	if len(raw) < 2 {
		return ""
	}
	return keyString(raw[1 : len(raw)-1])
}

// keyString is unquote for a raw key as objectIter.next returns it (without
// quotes). It allocates once: the bytes themselves when they hold no escape,
// otherwise a buffer of their length, which no decoding outgrows.
func keyString(rawKey []byte) string {
	i := bytes.IndexByte(rawKey, '\\')
	if i < 0 {
		return string(rawKey)
	}
	var b strings.Builder
	b.Grow(len(rawKey))
	b.Write(rawKey[:i])
	for i < len(rawKey) {
		if rawKey[i] != '\\' {
			j := bytes.IndexByte(rawKey[i:], '\\')
			if j < 0 {
				j = len(rawKey) - i
			}
			b.Write(rawKey[i : i+j])
			i += j
			continue
		}
		if i+1 >= len(rawKey) { // only on untrusted input
			break
		}
		c := rawKey[i+1]
		i += 2
		switch c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r := hex4(rawKey, i)
			if r < 0 { // only on untrusted input
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// Combined with a following \u low surrogate, or U+FFFD.
				r2 := rune(-1)
				if i+1 < len(rawKey) && rawKey[i] == '\\' && rawKey[i+1] == 'u' {
					r2 = hex4(rawKey, i+2)
				}
				if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
					i += 6
				}
			}
			b.WriteRune(r)
		default: // '"', '\\', '/'
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hex4 decodes the 4 hex digits at data[i:], or returns -1.
func hex4(data []byte, i int) rune {
	if i+4 > len(data) {
		return -1
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c-'0' < 10:
			c -= '0'
		case (c|0x20)-'a' < 6:
			c = (c | 0x20) - 'a' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// keyIs reports whether the raw key (without quotes) decodes to s, without
// allocating when the key holds no escape. The match is exact, where
// encoding/json matches a struct's field names regardless of case.
func keyIs(rawKey []byte, s string) bool {
	if bytes.IndexByte(rawKey, '\\') < 0 {
		return string(rawKey) == s
	}
	return keyString(rawKey) == s
}
