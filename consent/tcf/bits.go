package tcf

import (
	"math/bits"
	"strings"

	"github.com/garde-privacy/garde"
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// sextet maps a base64url character to its 6-bit value, or 0xff.
var sextet = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// reader reads big-endian bit fields from one base64url segment. The first
// failure sticks in err; later reads return zero, so decoders read on and
// check err once.
type reader struct {
	seg  string // segment name for messages
	data []byte // one 6-bit value per byte
	pos  int    // next bit
	err  *garde.Error
}

// newReader prepares segment s (base64url, '=' padding tolerated).
func newReader(seg, s string) (*reader, error) {
	s = strings.TrimRight(s, "=")
	if s == "" {
		return nil, garde.Errorf(garde.EInvalid, "%s segment: empty", seg)
	}
	data := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		v := sextet[s[i]]
		if v == 0xff {
			return nil, garde.Errorf(garde.EInvalid, "%s segment: invalid base64url character at position %d", seg, i)
		}
		data[i] = v
	}
	return &reader{seg: seg, data: data}, nil
}

func (r *reader) bitLen() int { return 6 * len(r.data) }

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = garde.Errorf(garde.EInvalid, r.seg+" segment: "+format, args...)
	}
}

// ok reports whether n more bits can be read for field.
func (r *reader) ok(n int, field string) bool {
	if r.err != nil {
		return false
	}
	if r.pos+n > r.bitLen() {
		r.fail("truncated at bit %d (%s)", r.pos, field)
		return false
	}
	return true
}

// int reads an n-bit (n ≤ 36) unsigned field.
func (r *reader) int(n int, field string) int {
	if !r.ok(n, field) {
		return 0
	}
	v := 0
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

func (r *reader) bool(field string) bool { return r.int(1, field) == 1 }

// bit reads one bit; the caller has checked the length.
func (r *reader) bit() int {
	b := int(r.data[r.pos/6]>>(5-r.pos%6)) & 1
	r.pos++
	return b
}

// set reads an n-bit field in which bit i (from the left) stands for id i+1,
// and returns the ids that are set.
func (r *reader) set(n int, field string) []int {
	if !r.ok(n, field) {
		return nil
	}
	ids := []int{}
	for i := range n {
		if r.bit() == 1 {
			ids = append(ids, i+1)
		}
	}
	return ids
}

// lang reads two 6-bit letters (0 = A … 25 = Z).
func (r *reader) lang(field string) string {
	at := r.pos
	a, b := r.int(6, field), r.int(6, field)
	if r.err != nil {
		return ""
	}
	if a > 25 || b > 25 {
		r.fail("invalid letter at bit %d (%s)", at, field)
		return ""
	}
	return string([]byte{'A' + byte(a), 'A' + byte(b)})
}

// writer accumulates bits and renders them as base64url.
type writer struct {
	buf []byte // one bit per byte; TC strings are small
}

func (w *writer) int(v, n int) {
	for i := n - 1; i >= 0; i-- {
		w.buf = append(w.buf, byte(v>>i)&1)
	}
}

func (w *writer) bool(v bool) {
	if v {
		w.int(1, 1)
	} else {
		w.int(0, 1)
	}
}

// set writes an n-bit field with bit id-1 set for each id (1 ≤ id ≤ n).
func (w *writer) set(ids []int, n int) {
	start := len(w.buf)
	w.buf = append(w.buf, make([]byte, n)...)
	for _, id := range ids {
		w.buf[start+id-1] = 1
	}
}

func (w *writer) lang(s string) {
	w.int(int(s[0]-'A'), 6)
	w.int(int(s[1]-'A'), 6)
}

// String pads to a multiple of 24 bits, as the IAB library does, and encodes.
func (w *writer) String() string {
	for len(w.buf)%24 != 0 {
		w.buf = append(w.buf, 0)
	}
	out := make([]byte, len(w.buf)/6)
	for i := range out {
		v := 0
		for _, b := range w.buf[6*i : 6*i+6] {
			v = v<<1 | int(b)
		}
		out[i] = alphabet[v]
	}
	return string(out)
}

// idSet is a bit set of vendor ids 0..MaxVendorID, 8 KiB at most.
type idSet []uint64

func newIDSet(max int) idSet { return make(idSet, max/64+1) }

// addRange sets ids lo..hi (lo ≤ hi, both within the set) a word at a time,
// so a hostile string of overlapping full ranges costs little.
func (s idSet) addRange(lo, hi int) {
	for lo <= hi {
		w, b := lo/64, lo%64
		n := min(64-b, hi-lo+1)
		mask := ^uint64(0)
		if n < 64 {
			mask = (1<<n - 1) << b
		}
		s[w] |= mask
		lo += n
	}
}

func (s idSet) has(id int) bool { return s[id/64]&(1<<(id%64)) != 0 }

func (s idSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// ids returns the set ids, ascending.
func (s idSet) ids() []int {
	out := make([]int, 0, s.count())
	for i, w := range s {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			out = append(out, i*64+b)
			w &^= 1 << b
		}
	}
	return out
}
