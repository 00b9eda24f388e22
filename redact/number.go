package redact

// Numbers: payment cards, French NIRs and phone numbers. Every matcher takes
// a start t[i] that passed the boundary check and returns the end of the
// match, or 0; a match must end at a boundary too (rightOK).

// matchNumber tries, at a digit, a card, a NIR, then a French and a NANP
// phone number. The length of the leading digit run and the byte after it
// say which forms can start here, so most numbers (dates, times, prices, ids)
// are turned down without parsing.
func matchNumber(t string, i int) (int, Kind) {
	j := i + 1
	for j < len(t) && j-i <= 19 && isDigit(t[j]) {
		j++
	}
	n := j - i
	var c byte // the byte after the run, or 0
	if j < len(t) {
		c = t[j]
	}
	if (n >= 13 && n <= 19) || (n == 4 && (c == ' ' || c == '-')) {
		if end := matchCard(t, i); end > 0 {
			return end, Card
		}
	}
	if n == 15 || (c == ' ' && (n == 1 || n == 3 || n == 5 || n == 7 || n == 10 || n == 13)) ||
		(n == 6 && (c == 'A' || c == 'B')) {
		if end := matchNIR(t, i); end > 0 {
			return end, NIR
		}
	}
	if t[i] == '0' && (n == 10 || (n == 2 && isPhoneSep(c))) {
		if end := matchFrench(t, i); end > 0 {
			return end, Phone
		}
	}
	if (c == '-' || c == '.') && (n == 3 || (n == 1 && t[i] == '1')) {
		if end := matchNANP(t, i); end > 0 {
			return end, Phone
		}
	}
	return 0, 0
}

// Payment cards: 13–19 digits, either contiguous or in groups separated by
// single spaces or single dashes (one kind per number). The first group has
// four digits (every network prints it so: 4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3);
// the next have 3 to 6, but the last may be shorter. When the groups run on
// the longest valid prefix wins. The number must pass the Luhn check and
// start with a known IIN (see knownIIN).

func matchCard(t string, i int) int {
	var d [19]byte
	n, j := 0, i
	for j < len(t) && isDigit(t[j]) {
		if n == len(d) {
			return 0
		}
		d[n] = t[j] - '0'
		n++
		j++
	}
	if n >= 13 {
		if rightOK(t, j) && validCard(d[:n]) {
			return j
		}
		return 0
	}
	if n != 4 || j >= len(t) || (t[j] != ' ' && t[j] != '-') {
		return 0
	}
	sep := t[j]
	var ends, counts [6]int
	m := 0
	for m < len(ends) && j+1 < len(t) && t[j] == sep && isDigit(t[j+1]) {
		k, g := j+1, 0
		for k < len(t) && isDigit(t[k]) && g <= 6 {
			k++
			g++
		}
		if g > 6 || n+g > len(d) {
			break
		}
		for x := j + 1; x < k; x++ {
			d[n] = t[x] - '0'
			n++
		}
		j = k
		ends[m], counts[m] = j, n
		m++
		if g < 3 {
			break
		}
	}
	for m--; m >= 0; m-- {
		if counts[m] >= 13 && rightOK(t, ends[m]) && validCard(d[:counts[m]]) {
			return ends[m]
		}
	}
	return 0
}

// validCard reports a known IIN and a good Luhn check digit; d holds digit
// values.
func validCard(d []byte) bool {
	return knownIIN(d) && luhn(d)
}

// knownIIN reports whether d starts like a card: Visa 4; Mastercard 51–55 and
// 2221–2720; Amex 34, 37; Diners 300–305, 36, 38; JCB 3528–3589; Discover
// 6011, 644–649, 65; CB/Maestro 50, 56–69. Together: all of 4, 5 and 6.
func knownIIN(d []byte) bool {
	p2 := int(d[0])*10 + int(d[1])
	p3 := p2*10 + int(d[2])
	p4 := p3*10 + int(d[3])
	switch d[0] {
	case 4, 5, 6:
		return true
	case 2:
		return p4 >= 2221 && p4 <= 2720
	case 3:
		return p2 == 34 || p2 == 37 || p2 == 36 || p2 == 38 ||
			(p3 >= 300 && p3 <= 305) || (p4 >= 3528 && p4 <= 3589)
	}
	return false
}

func luhn(d []byte) bool {
	sum, double := 0, false
	for k := len(d) - 1; k >= 0; k-- {
		v := int(d[k])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// French NIR (numéro d'inscription au répertoire, "numéro de sécurité
// sociale"): 13 characters and a 2-digit key, printed "1 85 05 78 006 084 36"
// or run together; a single space is allowed at each of those group breaks.
//
//	sex      1 or 2; 3, 4 (foreign-born, provisional), 7, 8 (temporary number)
//	year     00–99
//	month    01–12; 20, 30–42 and 50–99 are the codes used when the civil
//	         status is incomplete or the month unknown (kept as one simple rule)
//	dept     01–99, or 2A / 2B (Corsica)
//	commune  001–999 (country code for the foreign-born)
//	order    001–999
//	key      97 − (number mod 97), with 2A read as 19 and 2B as 18
var nirGroups = [...]int{1, 2, 2, 2, 3, 3, 2}

func matchNIR(t string, i int) int {
	var c [15]byte
	n, j := 0, i
	for g, size := range nirGroups {
		if g > 0 && j < len(t) && t[j] == ' ' {
			j++
		}
		for k := 0; k < size; k++ {
			if j >= len(t) {
				return 0
			}
			b := t[j]
			if !isDigit(b) && !(g == 3 && k == 1 && (b == 'A' || b == 'B')) {
				return 0
			}
			c[n] = b
			n++
			j++
		}
	}
	if !rightOK(t, j) || !validNIR(&c) {
		return 0
	}
	return j
}

func validNIR(c *[15]byte) bool {
	switch c[0] {
	case '1', '2', '3', '4', '7', '8':
	default:
		return false
	}
	month := num(c[3:5])
	if month == 0 || (month > 12 && month != 20 && (month < 30 || month > 42) && month < 50) {
		return false
	}
	corsica := c[6] == 'A' || c[6] == 'B'
	if corsica && c[5] != '2' {
		return false
	}
	var n uint64
	for k := 0; k < 13; k++ {
		d := c[k]
		if corsica && k == 5 {
			d = '1'
		} else if corsica && k == 6 {
			d = '9' - (c[6] - 'A') // 2A → 19, 2B → 18
		}
		n = n*10 + uint64(d-'0')
	}
	if c[5] == '0' && c[6] == '0' || num(c[7:10]) == 0 || num(c[10:13]) == 0 {
		return false
	}
	key := num(c[13:15])
	return key >= 1 && key <= 97 && uint64(key) == 97-n%97
}

// num returns the value of the ASCII digits b (not checked).
func num(b []byte) int {
	v := 0
	for _, c := range b {
		v = v*10 + int(c-'0')
	}
	return v
}

// Phone numbers.
//
//   - international (E.164): '+', then 8 to 15 digits, the first not 0, in
//     groups separated by a single space, '.' or '-', with at most one
//     parenthesised group: "+33 (0)6 12 34 56 78", "+1 (415) 555-2671".
//     When the groups run on past 15 digits the longest prefix that fits wins.
//   - French national: 0[1-9] and 8 digits, run together or as five pairs
//     separated by one kind of ' ', '.' or '-': "06 12 34 56 78".
//   - NANP: "(415) 555-2671", "(415)555-2671", "415-555-2671", "415.555.2671",
//     "1-800-555-0199"; area code and exchange start with 2–9. Without the
//     parentheses the separator must be '-' or '.', so "200 300 4000" and a
//     bare 10-digit run are not taken.

func isPhoneSep(c byte) bool { return c == ' ' || c == '.' || c == '-' }

// matchIntl matches an international number at the '+' in t[i].
func matchIntl(t string, i int) int {
	j, n, best, paren := i+1, 0, 0, false
	for j < len(t) {
		if t[j] == '(' && !paren {
			k, m := j+1, 0
			for k < len(t) && isDigit(t[k]) && m <= 4 {
				k++
				m++
			}
			if m == 0 || m > 4 || k >= len(t) || t[k] != ')' || (n == 0 && t[j+1] == '0') {
				break
			}
			paren = true
			n += m
			j = k + 1
			if j < len(t) && t[j] == ' ' {
				j++
			}
			if j >= len(t) || !isDigit(t[j]) {
				break
			}
		}
		if !isDigit(t[j]) || (n == 0 && t[j] == '0') {
			break
		}
		for j < len(t) && isDigit(t[j]) && n <= 15 {
			j++
			n++
		}
		if n > 15 {
			break
		}
		if n >= 8 && rightOK(t, j) {
			best = j
		}
		if j+1 < len(t) && isPhoneSep(t[j]) && (isDigit(t[j+1]) || t[j+1] == '(') {
			j++
		} else if j >= len(t) || t[j] != '(' {
			break
		}
	}
	return best
}

// matchFrench matches a French national number at t[i].
func matchFrench(t string, i int) int {
	if t[i] != '0' || i+10 > len(t) || t[i+1] == '0' || !isDigit(t[i+1]) {
		return 0
	}
	if allDigits(t[i+2 : i+10]) {
		if rightOK(t, i+10) {
			return i + 10
		}
		return 0
	}
	sep := t[i+2]
	if !isPhoneSep(sep) || i+14 > len(t) {
		return 0
	}
	for p := i + 2; p < i+14; p += 3 {
		if t[p] != sep || !isDigit(t[p+1]) || !isDigit(t[p+2]) {
			return 0
		}
	}
	if rightOK(t, i+14) {
		return i + 14
	}
	return 0
}

// matchNANP matches a North American number at t[i], a digit or '('.
func matchNANP(t string, i int) int {
	j := i
	if t[j] == '(' {
		if j+5 > len(t) || !isNXX(t[j+1:j+4]) || t[j+4] != ')' {
			return 0
		}
		j += 5
		if j < len(t) && t[j] == ' ' {
			j++
		}
		if j+8 > len(t) || !isNXX(t[j:j+3]) || !isPhoneSep(t[j+3]) {
			return 0
		}
	} else {
		var pre, sep byte // the separators after "1" and after the area code
		if t[j] == '1' && j+2 < len(t) && (t[j+1] == '-' || t[j+1] == '.') {
			pre = t[j+1]
			j += 2
		}
		if j+12 > len(t) || !isNXX(t[j:j+3]) {
			return 0
		}
		sep = t[j+3]
		if (sep != '-' && sep != '.') || (pre != 0 && sep != pre) {
			return 0
		}
		j += 4
		if !isNXX(t[j:j+3]) || t[j+3] != sep {
			return 0
		}
	}
	j += 4 // exchange and separator
	if !allDigits(t[j : j+4]) {
		return 0
	}
	j += 4
	if !rightOK(t, j) {
		return 0
	}
	return j
}

// isNXX reports three digits, the first 2–9.
func isNXX(b string) bool {
	return b[0] >= '2' && b[0] <= '9' && isDigit(b[1]) && isDigit(b[2])
}

func allDigits(b string) bool {
	for i := 0; i < len(b); i++ {
		if !isDigit(b[i]) {
			return false
		}
	}
	return true
}
