package gpp

// The GPP bit layer. Every base64 section of a GPP string is the web-safe
// base64 alphabet (RFC 4648 §5) without padding, each character carrying six
// bits, most significant first. The reader works on the string in place (no
// decoded copy), so decoding allocates nothing per bit.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// sextet maps a byte to its 6-bit value, or -1 when it is not in the alphabet.
var sextet = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// validBase64 reports whether s holds only web-safe base64 characters.
func validBase64(s string) bool {
	for i := 0; i < len(s); i++ {
		if sextet[s[i]] < 0 {
			return false
		}
	}
	return true
}

// bitReader reads big-endian bit fields from a validated base64 string.
type bitReader struct {
	s   string
	pos int // next bit
}

// left is the number of unread bits.
func (r *bitReader) left() int { return len(r.s)*6 - r.pos }

// bit reads one bit; ok is false at the end of the input.
func (r *bitReader) bit() (b uint8, ok bool) {
	if r.pos >= len(r.s)*6 {
		return 0, false
	}
	v := uint8(sextet[r.s[r.pos/6]])
	b = (v >> (5 - r.pos%6)) & 1
	r.pos++
	return b, true
}

// uint reads an n-bit unsigned integer (n ≤ 32); ok is false, and nothing is
// consumed, when fewer than n bits are left.
func (r *bitReader) uint(n int) (v uint32, ok bool) {
	if r.left() < n {
		return 0, false
	}
	for range n {
		b, _ := r.bit()
		v = v<<1 | uint32(b)
	}
	return v, true
}

// maxFibBits bounds a Fibonacci code word (terminator included). 30 bits
// encode values up to F(31)-1 = 1,346,268, far past any registered section
// id, and keep every sum well inside an int.
const maxFibBits = 30

// fib holds F(2)…F(maxFibBits+1): the weight of code-word bit i is fib[i].
var fib = func() (f [maxFibBits]int) {
	a, b := 1, 2
	for i := range f {
		f[i] = a
		a, b = b, a+b
	}
	return f
}()

// fibonacci reads a Fibonacci-coded integer (GPP "Integer (Fibonacci)"): the
// bits weigh 1, 2, 3, 5, 8 … and the code ends at the first "11". It returns
// errTruncated at the end of input and errFibTooLong past maxFibBits.
func (r *bitReader) fibonacci() (int, error) {
	var v int
	var prev uint8
	for i := 0; ; i++ {
		b, ok := r.bit()
		if !ok {
			return 0, errTruncated
		}
		if b == 1 && prev == 1 {
			return v, nil
		}
		if i >= maxFibBits-1 {
			return 0, errFibTooLong
		}
		if b == 1 {
			v += fib[i]
		}
		prev = b
	}
}

// bitWriter packs big-endian bit fields into base64 sextets.
type bitWriter struct {
	sx []byte // 6-bit values
	n  int    // bits written
}

func (w *bitWriter) bit(b uint8) {
	if w.n%6 == 0 {
		w.sx = append(w.sx, 0)
	}
	if b != 0 {
		w.sx[len(w.sx)-1] |= 1 << (5 - w.n%6)
	}
	w.n++
}

func (w *bitWriter) uint(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(uint8(v>>i) & 1)
	}
}

// fibonacci writes 1 ≤ v < maxFib as a Fibonacci code word, terminator
// included; callers check the range.
func (w *bitWriter) fibonacci(v int) {
	var code [maxFibBits]uint8
	top := 0
	for i := maxFibBits - 2; i >= 0 && v > 0; i-- {
		if fib[i] <= v {
			v -= fib[i]
			code[i] = 1
			if top == 0 {
				top = i
			}
		}
	}
	for i := 0; i <= top; i++ {
		w.bit(code[i])
	}
	w.bit(1)
}

// string returns the base64 text, the last sextet zero-padded on the right.
func (w *bitWriter) string() string {
	b := make([]byte, len(w.sx))
	for i, v := range w.sx {
		b[i] = alphabet[v]
	}
	return string(b)
}
