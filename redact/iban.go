package redact

// IBAN (ISO 13616): a country code, two check digits and the BBAN, in
// capitals and digits, written run together or with single spaces — usually
// in groups of four, but any single spaces are accepted ("FR76 30006 00001
// 12345678901 89" is how French RIBs are often copied). The match takes
// exactly the country's length (ibanLengths) and must pass mod 97 == 1.
// Countries missing from the table, and IBANs in lower case, are not matched.

// ibanLengths: the EEA, the United Kingdom and Switzerland, then the
// other SEPA members and the countries whose IBANs are commonly seen.
const ibanLengths = "" +
	"AT20 BE16 BG22 CY28 CZ24 DE22 DK18 EE20 ES24 FI18 FR27 GR27 HR21 HU28 IE22 " +
	"IS26 IT27 LI21 LT20 LU20 LV21 MT31 NL18 NO15 PL28 PT25 RO24 SE24 SI19 SK24 " +
	"GB22 CH21 " +
	"AD24 GI23 MC27 SM27 VA22 " +
	"AE23 AL28 AZ28 BA20 BH22 BR29 BY28 CR22 DO28 EG29 FO18 GE22 GL18 GT28 IL23 " +
	"IQ23 JO30 KW30 KZ20 LB28 LC32 MD24 ME22 MK19 MR27 MU30 PK24 PS29 QA29 RS22 " +
	"SA24 SC31 ST25 SV28 TL23 TN24 TR26 UA29 VG24 XK20"

// ibanLen[(a-'A')*26+(b-'A')] is the IBAN length for country ab, or 0.
var ibanLen = func() (t [26 * 26]uint8) {
	for i := 0; i+4 <= len(ibanLengths); i += 5 {
		e := ibanLengths[i : i+4]
		t[int(e[0]-'A')*26+int(e[1]-'A')] = (e[2]-'0')*10 + e[3] - '0'
	}
	return t
}()

// matchIBAN matches an IBAN at the capital t[i].
func matchIBAN(t string, i int) int {
	if i+4 > len(t) || !isUpper(t[i+1]) || !isDigit(t[i+2]) || !isDigit(t[i+3]) || !leftOK(t, i) {
		return 0
	}
	want := int(ibanLen[int(t[i]-'A')*26+int(t[i+1]-'A')])
	if want == 0 {
		return 0
	}
	var b [34]byte
	n, j := 0, i
	for n < want {
		if j >= len(t) {
			return 0
		}
		c := t[j]
		if c == ' ' && j+1 < len(t) {
			j++
			c = t[j]
		}
		if !isDigit(c) && !isUpper(c) {
			return 0
		}
		b[n] = c
		n++
		j++
	}
	if !rightOK(t, j) || !mod97(b[:n]) {
		return 0
	}
	return j
}

// mod97 reports whether the IBAN b, moved so its first four characters come
// last and with letters read as 10–35, is 1 modulo 97.
func mod97(b []byte) bool {
	r := 0
	for k := range b {
		c := b[(k+4)%len(b)]
		if c <= '9' {
			r = (r*10 + int(c-'0')) % 97
		} else {
			r = (r*100 + int(c-'A') + 10) % 97
		}
	}
	return r == 1
}
