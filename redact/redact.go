// Package redact finds personal data in free text and replaces it with a typed
// placeholder, so that a value the data inventory declares non-personal (a
// support-ticket message, a page title, a coupon) never carries an email
// address, phone number, payment card, IBAN or French NIR into storage.
//
// String is on the collection hot path. It makes one left-to-right pass over
// the text with cheap triggers — '@' for an address, a digit, '+' or '(' for a
// number, two capitals and two digits for an IBAN — and every candidate is
// confirmed by structure and, where the kind has one, by its check digits
// (Luhn, ISO 13616 mod 97, NIR key). A string with no '@' and fewer than seven
// digits cannot hold any of the kinds and is returned at once; a string in
// which nothing matches is returned as is, without allocating.
//
// Detection order is email, IBAN, card, NIR, phone, and a span is redacted
// once: addresses are found first and act as hard boundaries for the rest;
// at any other position the first detector that matches wins.
//
// A number or IBAN is only considered at a token boundary: it may not touch a
// letter, digit or '_', nor be glued to one by a run of '-', '.' or '/' (so
// "ORD-2026-000123", "v1.2.3" or "SKU4111111111111111" are left alone).
// Letters of other scripts count, except Han and kana, which are written
// without spaces. Through a connector the placeholders' brackets glue too,
// which keeps String idempotent: String(String(s)) finds nothing.
package redact

import (
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is a kind of personal data the scanner recognises.
type Kind uint8

// The kinds, in the order they are detected.
const (
	Email Kind = iota
	Phone
	Card
	IBAN
	NIR
	NumKinds
)

var kindNames = [NumKinds]string{"email", "phone", "card", "iban", "nir"}

var placeholders = [NumKinds]string{
	"[redacted:email]", "[redacted:phone]", "[redacted:card]", "[redacted:iban]", "[redacted:nir]",
}

// String returns the kind's name: "email", "phone", "card", "iban" or "nir".
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Placeholder returns the text that replaces a match of kind k:
// "[redacted:email]" etc. It returns "[redacted]" for an unknown kind.
func Placeholder(k Kind) string {
	if k < NumKinds {
		return placeholders[k]
	}
	return "[redacted]"
}

// Counts holds how many values of each kind were replaced.
type Counts [NumKinds]int

// Total returns the number of values replaced, all kinds together.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Add adds o to c, kind by kind.
func (c *Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// minDigits is the fewest digits any number kind can have: a phone number
// has at least 8, the shortest IBAN (Norway, 15 characters) far more.
const minDigits = 7

// String returns s with every match replaced by its placeholder, and the
// counts. When nothing matches it returns s itself (no allocation).
func String(s string) (string, Counts) {
	if !mayContain(s) {
		return s, Counts{}
	}
	sc := scanner{s: s}
	sc.run()
	if !sc.dirty {
		return s, Counts{}
	}
	sc.out.WriteString(s[sc.last:])
	return sc.out.String(), sc.counts
}

// MayContain reports whether String might replace something in b: when it
// is false, b (as a string) holds nothing to redact, and the caller need not
// make a string of it.
func MayContain(b []byte) bool { return mayContain(b) }

// mayContain is the fast path: only a string with an '@' or at least
// minDigits digits can hold something to redact. It looks at eight bytes at
// a time.
func mayContain[T string | []byte](s T) bool {
	const (
		lo7  = 0x7f7f7f7f7f7f7f7f
		hi   = 0x8080808080808080
		zero = 0x3030303030303030 // '0' in every byte
		at   = 0x4040404040404040 // '@' in every byte
		lt10 = 0x7676767676767676 // 0x80 - 10 in every byte
	)
	digits := 0
	for ; len(s) >= 8; s = s[8:] {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		// A byte is '@' when w^at is zero there: neither its low seven bits
		// plus 0x7f nor the byte itself has the top bit set.
		z := w ^ at
		if ^((z&lo7+lo7)|z)&hi != 0 {
			return true
		}
		// A byte is a digit when x = w^'0' is below 10: neither x's low
		// seven bits plus 0x76 nor x itself has the top bit set. No carry
		// crosses a byte.
		x := w ^ zero
		digits += bits.OnesCount64(^((x&lo7 + lt10) | x) & hi)
		if digits >= minDigits {
			return true
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c-'0' <= 9 {
			digits++
		} else if c == '@' {
			return true
		}
	}
	return digits >= minDigits
}

// scanner carries one pass over s. Nothing is written until the first match.
type scanner struct {
	s      string
	out    strings.Builder
	last   int // end in s of the last match written
	dirty  bool
	counts Counts
}

// emit replaces s[start:end], which lies at or after sc.last, by the
// placeholder of k.
func (sc *scanner) emit(start, end int, k Kind) {
	if !sc.dirty {
		sc.dirty = true
		sc.out.Grow(len(sc.s) + len(placeholders[k]))
	}
	sc.out.WriteString(sc.s[sc.last:start])
	sc.out.WriteString(placeholders[k])
	sc.last = end
	sc.counts[k]++
}

// run finds the addresses first (they win over everything else) and scans the
// text between them for the other kinds.
func (sc *scanner) run() {
	s := sc.s
	cur := 0
	for {
		start, end := nextEmail(s, cur)
		if end == 0 {
			sc.scan(s, cur)
			return
		}
		sc.scan(s[:start], cur)
		sc.emit(start, end, Email)
		cur = end
	}
}

// scan looks for IBANs, cards, NIRs and phone numbers in t from i on. Only a
// digit, a capital, '+' or '(' can start a match, and only at a token start,
// so other bytes cost one table look-up and a failed number skips its word.
func (sc *scanner) scan(t string, i int) {
	for i < len(t) {
		k := class[t[i]]
		if k&cTrigger == 0 {
			i++
			continue
		}
		var end int
		var kind Kind
		switch k {
		case cDigit:
			if leftOK(t, i) {
				end, kind = matchNumber(t, i)
			}
			if end == 0 {
				i = skipWord(t, i+1)
				continue
			}
		case cUpper:
			if end = matchIBAN(t, i); end == 0 {
				i = skipWord(t, i+1)
				continue
			}
			kind = IBAN
		default: // '+' or '('
			if i == 0 || !before(t, i, true) {
				if t[i] == '+' {
					end = matchIntl(t, i)
				} else {
					end = matchNANP(t, i)
				}
			}
			if end == 0 {
				i++
				continue
			}
			kind = Phone
		}
		sc.emit(i, end, kind)
		i = end
	}
}

// Byte classes, as bits.
const (
	cDigit = 1 << iota
	cUpper
	cLower // a-z and '_'
	cOpen  // '+' and '(', which may open a phone number

	cWord    = cDigit | cUpper | cLower
	cTrigger = cDigit | cUpper | cOpen
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
		t[c+'a'-'A'] = cLower
	}
	t['_'] = cLower
	t['+'] = cOpen
	t['('] = cOpen
	return t
}()

func isDigit(c byte) bool { return c-'0' <= 9 }
func isUpper(c byte) bool { return c-'A' <= 'Z'-'A' }

// isWord reports an ASCII letter, digit or '_'.
func isWord(c byte) bool { return class[c]&cWord != 0 }

// isAlnum reports an ASCII letter or digit.
func isAlnum(c byte) bool { return isWord(c) && c != '_' }

// isConnector reports a byte that joins tokens into a code: "ORD-2026-1", "v1.2".
func isConnector(c byte) bool { return c == '-' || c == '.' || c == '/' }

// wordRune reports a non-ASCII letter, digit or mark that belongs to a word —
// one an address may contain and a number may not touch. Han, Hiragana and
// Katakana are left out: those scripts put no space around numbers
// ("卡号4111111111111111"), so they are boundaries, and an address cannot
// contain them.
func wordRune(r rune) bool {
	if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

// before reports whether the character that ends at t[i-1] (i > 0) is a word
// character, or, with brackets, glued.
func before(t string, i int, brackets bool) bool {
	if c := t[i-1]; c < utf8.RuneSelf {
		return isWord(c) || (brackets && (c == '[' || c == ']'))
	}
	r, _ := utf8.DecodeLastRuneInString(t[:i])
	return wordRune(r)
}

// after reports whether the character that starts at t[j] (j < len(t)) is a
// word character, or, with brackets, glued.
func after(t string, j int, brackets bool) bool {
	if c := t[j]; c < utf8.RuneSelf {
		return isWord(c) || (brackets && (c == '[' || c == ']'))
	}
	r, _ := utf8.DecodeRuneInString(t[j:])
	return wordRune(r)
}

// leftOK reports whether a number or IBAN may start at t[i]: not after a word
// character, nor after one and a run of connectors.
func leftOK(t string, i int) bool {
	if i == 0 {
		return true
	}
	if !isConnector(t[i-1]) {
		return !before(t, i, false)
	}
	k := i - 1
	for k > 0 && isConnector(t[k-1]) {
		k--
	}
	return k == 0 || !before(t, k, true)
}

// rightOK reports whether a number or IBAN may end just before t[j]: not
// before a word character, nor before a run of connectors and one.
func rightOK(t string, j int) bool {
	if j >= len(t) {
		return true
	}
	if !isConnector(t[j]) {
		return !after(t, j, false)
	}
	k := j + 1
	for k < len(t) && isConnector(t[k]) {
		k++
	}
	return k == len(t) || !after(t, k, true)
}

// skipWord returns the index of the first non-word byte at or after i.
func skipWord(t string, i int) int {
	for i < len(t) && isWord(t[i]) {
		i++
	}
	return i
}
