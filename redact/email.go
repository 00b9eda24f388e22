package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Email addresses: a sane subset of RFC 5322 (with RFC 6531 letters).
//
//   - local part: a dot-atom of letters, digits (any script but Han and kana,
//     see wordRune) and "_%+-", no
//     leading, trailing or doubled '.'; it is found by walking back from the
//     '@', so "mailto:", "<", "(", quotes or a space before it are not taken.
//   - domain: two or more labels of such letters, digits and inner '-', separated by
//     single dots; the last label (the TLD) is at least two letters. A domain
//     that ends in a label that is not a TLD is cut back to the longest prefix
//     that does ("ann@example.com.123" → "ann@example.com").
//   - not an address: "icon@2x.png" — a TLD that is a common image extension.
//
// Quoted local parts, comments and IP-literal domains are not recognised.

// nextEmail returns the span of the first address whose '@' lies at or after
// lo and whose local part starts at or after lo, or end == 0 if there is none.
func nextEmail(s string, lo int) (start, end int) {
	from := lo
	for {
		k := strings.IndexByte(s[from:], '@')
		if k < 0 {
			return 0, 0
		}
		at := from + k
		if start, end = matchEmail(s, lo, at); end > 0 {
			return start, end
		}
		from = at + 1
	}
}

// matchEmail returns the address around the '@' at s[at], whose local part
// may not start before lo, or end == 0.
func matchEmail(s string, lo, at int) (start, end int) {
	st := at
	for st > lo {
		c := s[st-1]
		if c < utf8.RuneSelf {
			if !isAlnum(c) && c != '.' && c != '_' && c != '%' && c != '+' && c != '-' {
				break
			}
			st--
			continue
		}
		r, n := utf8.DecodeLastRuneInString(s[lo:st])
		if !wordRune(r) {
			break
		}
		st -= n
	}
	if st == at || s[at-1] == '.' {
		return 0, 0
	}
	if k := strings.LastIndex(s[st:at], ".."); k >= 0 {
		st += k + 2
	}
	for s[st] == '.' { // stops before at: s[at-1] != '.'
		st++
	}
	end = matchDomain(s, at+1)
	if end == 0 {
		return 0, 0
	}
	return st, end
}

// matchDomain returns the end of the longest domain starting at s[j] whose
// last label is a TLD, or 0.
func matchDomain(s string, j int) int {
	best, labels := 0, 0
	for {
		ls := j
		j = scanLabel(s, j)
		if j == ls {
			break
		}
		labels++
		if labels >= 2 && isTLD(s[ls:j]) {
			best = j
		}
		if j+1 < len(s) && s[j] == '.' {
			j++
			continue
		}
		break
	}
	return best
}

// scanLabel returns the end of the domain label starting at s[j]: letters
// and digits, with '-' inside but not at either end.
func scanLabel(s string, j int) int {
	ls := j
	for j < len(s) {
		c := s[j]
		if c < utf8.RuneSelf {
			if isAlnum(c) || (c == '-' && j > ls) {
				j++
				continue
			}
			break
		}
		r, n := utf8.DecodeRuneInString(s[j:])
		if !wordRune(r) {
			break
		}
		j += n
	}
	for j > ls && s[j-1] == '-' {
		j--
	}
	return j
}

// isTLD reports whether label can end a domain: two or more letters, and not
// an image extension ("logo@2x.png" is a file name).
func isTLD(label string) bool {
	n := 0
	for _, r := range label {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) {
			return false
		}
		n++
	}
	if n < 2 {
		return false
	}
	switch len(label) {
	case 3, 4:
		for _, ext := range imageExts {
			if strings.EqualFold(label, ext) {
				return false
			}
		}
	}
	return true
}

var imageExts = [...]string{"png", "jpg", "jpeg", "gif", "svg", "webp", "avif"}
