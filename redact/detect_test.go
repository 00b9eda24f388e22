package redact_test

import (
	"strings"
	"testing"

	"github.com/garde-privacy/garde/redact"
	"github.com/google/go-cmp/cmp"
)

// detectCase is a true positive: in redacts to want, with every placeholder
// of the table's kind counted.
type detectCase struct{ in, want string }

// checkKind runs a table of true positives and true negatives for kind k.
func checkKind(t *testing.T, k redact.Kind, positives []detectCase, negatives []string) {
	t.Helper()
	ph := redact.Placeholder(k)
	if len(positives) < 10 || len(negatives) < 10 {
		t.Errorf("%v: want at least 10 positives and 10 negatives, have %d and %d", k, len(positives), len(negatives))
	}
	for _, tc := range positives {
		got, counts := redact.String(tc.in)
		if got != tc.want {
			t.Errorf("%v: String(%q)\n got %q\nwant %q", k, tc.in, got, tc.want)
		}
		var want redact.Counts
		want[k] = strings.Count(tc.want, ph)
		if want[k] == 0 {
			t.Errorf("%v: positive %q expects no %s", k, tc.in, ph)
		}
		if diff := cmp.Diff(want, counts); diff != "" {
			t.Errorf("%v: String(%q) counts (-want +got):\n%s", k, tc.in, diff)
		}
	}
	for _, in := range negatives {
		if got, counts := redact.String(in); got != in || counts.Total() != 0 {
			t.Errorf("%v: String(%q) = %q, %v; want it unchanged", k, in, got, counts)
		}
	}
}

func TestEmail(t *testing.T) {
	const e = "[redacted:email]"
	checkKind(t, redact.Email, []detectCase{
		{"john@example.com", e},
		{"Contact: john.doe+newsletter@mail.example.co.uk.", "Contact: " + e + "."},
		{"(a@b.io)", "(" + e + ")"},
		{"<Jean-Pierre_O%x@sub.domaine.fr>", "<" + e + ">"},
		{"mailto:support@garde.eu?subject=hi", "mailto:" + e + "?subject=hi"},
		{"email=foo@bar.com;", "email=" + e + ";"},
		{"FIRST.LAST@EXAMPLE.COM", e},
		{"write to x@y.museum, thanks", "write to " + e + ", thanks"},
		{"josé.müller@exemple.fr", e},
		{"user@bücher.de", e},
		{`"Ann" <ann@example.com>`, `"Ann" <` + e + `>`},
		{"see...john@example.com", "see..." + e},                   // dot-atom: no ".."
		{"ann@example.com.123", e + ".123"},                        // cut back to a TLD
		{"a@b.cd@e.fg", e + "@e.fg"},                               // the second '@' has no local part left
		{"two: a@x.org,b@y.net", "two: " + e + "," + e},            // next to punctuation
		{"0612345678@sms.example.com", e},                          // email first: the number is its local part
		{"Ticket from ann@example.com-", "Ticket from " + e + "-"}, // label may not end in '-'
	}, []string{
		"@mention in the title",
		"john@localhost",
		"price: 3 @ 4.99 each",
		"a@b.c",
		"foo@1.2.3",
		"pkg@v1.2.3",
		"icon@2x.png",
		"user@ example.com",
		"user @example.com",
		"john.@example.com",
		"x@-example.com",
		"john@example.123",
		"@@@",
		"team@",
		"[redacted:email]@example",
	})
}

func TestCard(t *testing.T) {
	const c = "[redacted:card]"
	checkKind(t, redact.Card, []detectCase{
		{"4111111111111111", c},
		{"card 4111 1111 1111 1111 exp 12/28", "card " + c + " exp 12/28"},
		{"5555-5555-5555-4444", c},
		{"Amex 3782 822463 10005.", "Amex " + c + "."},
		{"4222222222222", c},               // 13-digit Visa
		{"MC 2221000000000009", "MC " + c}, // Mastercard 2-series
		{"6011 1111 1111 1117", c},         // Discover
		{"JCB:3530111333300000", "JCB:" + c},
		{"Diners 3056 930902 5904", "Diners " + c},
		{"CB 5019717010103742", "CB " + c},
		{"Maestro 6759649826438453", "Maestro " + c},
		{"(4012888888881881)", "(" + c + ")"},
		{"4111 1111 1111 1111 1234", c + " 1234"}, // longest valid prefix of the groups
		{"n°4111111111111111", "n°" + c},
	}, []string{
		"4111 1111 1111 1112",    // Luhn
		"1234567890123452",       // Luhn ok, no such IIN
		"SKU4111111111111111",    // inside a word
		"ORD-4111111111111111",   // glued to a code
		"4111111111111111111111", // 22 digits
		"20261128143000",         // timestamp
		"1764288000000",          // Unix milliseconds
		"4111.1111.1111.1111",    // dots are not card separators
		"4 111 111 111 111 111",  // thousands grouping
		"total 1 299,99 € or 12.99",
		"ref 4111-1111-1111-1111-0", // glued to a suffix
		"4111 11 11 1111 1111",      // inner groups too short
	})
}

func TestIBAN(t *testing.T) {
	const b = "[redacted:iban]"
	checkKind(t, redact.IBAN, []detectCase{
		{"FR76 3000 6000 0112 3456 7890 189", b},
		{"IBAN:FR7630006000011234567890189.", "IBAN:" + b + "."},
		{"FR76 30006 00001 12345678901 89", b}, // RIB grouping
		{"DE89 3704 0044 0532 0130 00", b},
		{"pay to GB82 WEST 1234 5698 7654 32, thanks", "pay to " + b + ", thanks"},
		{"GB29NWBK60161331926819", b},
		{"CH93 0076 2011 6238 5295 7", b},
		{"NL91 ABNA 0417 1643 00", b},
		{"BE68 5390 0754 7034", b},
		{"ES91 2100 0418 4502 0005 1332", b},
		{"IT60 X054 2811 1010 0000 0123 456", b},
		{"NO93 8601 1117 947", b},
		{"MT84 MALT 0110 0001 2345 MTLC AST0 01S", b},
		{"PL61 1090 1014 0000 0712 1981 2874", b},
		{"(IE29 AIBK 9311 5212 3456 78)", "(" + b + ")"},
		{"FR76 3000 6000 0112 3456 7890 189 42", b + " 42"},
	}, []string{
		"FR76 3000 6000 0112 3456 7890 188", // check digits
		"DE89 3704 0044 0532 0130 0",        // too short
		"DE89 3704 0044 0532 0130 001",      // too long
		"XX82 WEST 1234 5698 7654 32",       // no such country
		"ISO 8601",
		"DE12ABC",
		"AB12 product",
		"XFR7630006000011234567890189",    // inside a word
		"FR7630006000011234567890189X",    // runs on
		"GB82  WEST 1234 5698 7654 32",    // double space
		"SKU-FR7630006000011234567890189", // glued to a code
		"fr7630006000011234567890189",     // lower case is not taken
	})
}

func TestNIR(t *testing.T) {
	const n = "[redacted:nir]"
	checkKind(t, redact.NIR, []detectCase{
		{"1 85 05 78 006 084 91", n},
		{"185057800608491", n},
		{"NIR: 2 69 05 19 123 456 88.", "NIR: " + n + "."},
		{"1 85 05 2A 123 456 33", n}, // Corsica: 2A counts as 19
		{"2 91 12 2B 045 789 89", n}, // 2B counts as 18
		{"1770475123123 06", n},      // key apart
		{"2 55 03 99 123 045 60", n}, // born abroad
		{"3 02 01 99 100 012 97", n}, // key 97
		{"7 89 12 75 056 001 20", n}, // temporary number
		{"1 62 20 75 101 033 01", n}, // month 20
		{"2 45 35 13 205 122 71", n}, // month 35
		{"8 00 50 69 388 999 60", n}, // month 50
		{"sécu : 1 85 05 78 006 084 91 ✓", "sécu : " + n + " ✓"},
	}, []string{
		"1 85 05 78 006 084 92",  // key
		"1 85 13 78 006 084 25",  // month 13
		"1 85 00 78 006 084 11",  // month 00
		"5 85 05 78 006 084 85",  // sex 5
		"1 85 05 00 006 084 63",  // department 00
		"1 85 05 2C 123 456 33",  // no such department
		"1 85 05 3A 123 456 33",  // A only after 2
		"1 85 05 78 000 084 77",  // commune 000
		"1 85 05 78 006 000 78",  // order 000
		"18505780060849",         // 14 digits
		"1850578006084910",       // 16 digits
		"NIR185057800608491",     // inside a word
		"1  85 05 78 006 084 91", // double space
	})
}

func TestPhone(t *testing.T) {
	const p = "[redacted:phone]"
	checkKind(t, redact.Phone, []detectCase{
		{"+33 6 12 34 56 78", p},
		{"call +33612345678.", "call " + p + "."},
		{"+33 (0)6 12 34 56 78", p},
		{"+44 20 7946 0958", p},
		{"+1 (415) 555-2671", p},
		{"+49 30 901820", p},
		{"+41.44.668.18.00", p},
		{"06 12 34 56 78", p},
		{"06.12.34.56.78", p},
		{"06-12-34-56-78", p},
		{"Tel:0612345678", "Tel:" + p},
		{"Tél. : 01 42 68 53 00", "Tél. : " + p},
		{"(415) 555-2671", p},
		{"(415)555-2671", p},
		{"415-555-2671", p},
		{"415.555.2671", p},
		{"1-800-555-0199", p},
		{"电话：+86 138 0013 8000。", "电话：" + p + "。"},
	}, []string{
		"12.99",
		"2026-11-28",
		"20261128",
		"ORD-2026-000123",
		"1234567",
		"12 34 56",
		"0012345678",
		"2026-11-28T14:30:00+01:00",
		"+0100",
		"1732780800",
		"v1.2.3.4",
		"+1234567",
		"123-456-7890",
		"ISBN 978-2-07-036822-8",
		"415-555-267",
		"0612345678901",
		"06 12 34 56",
		"SKU0612345678",
		"200 300 4000",
		"4155552671",
		"1,234,567.89",
		"12:30:45 +12.5%",
	})
}
