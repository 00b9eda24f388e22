package redact_test

import (
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/garde-privacy/garde/redact"
)

// FuzzString checks that String never panics, keeps valid UTF-8 valid, counts
// exactly the placeholders it writes, returns its argument when it finds
// nothing, and is idempotent: what it leaves holds nothing it would redact.
func FuzzString(f *testing.F) {
	for _, s := range append([]string{
		dirtyText, cleanTitle, longClean[:200],
		"Contact jean@exemple.fr or 06 12 34 56 78, card 4111 1111 1111 1111, IBAN FR76 3000 6000 0112 3456 7890 189",
		"1 85 05 2A 123 456 33 / 185057800608491 / 2 91 12 2B 045 789 89",
		"+33 (0)6 12 34 56 78 +1 (415) 555-2671 1-800-555-0199 415.555.2671",
		"x@ab.cd.0612345678 0612345678/john@x.com 0612345678+33612345678",
		"GB82 WEST 1234 5698 7654 32 MT84MALT011000012345MTLCAST001S",
		"4111 1111 1111 1111 1234 3782 822463 10005 5555-5555-5555-4444",
		"a@b.cd@e.fg josé.müller@exemple.fr user@bücher.de icon@2x.png",
		"ORD-2026-000123 2026-11-28T14:30:00+01:00 1764288000000 12.99",
		"[redacted:phone]+33612345678 [redacted:card].4111111111111111",
		"\xff\xfe06 12 34 56 78\xc3",
	}, cleanInputs...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, counts := redact.String(in)
		for k, n := range counts {
			if n < 0 {
				t.Fatalf("negative count for %v", redact.Kind(k))
			}
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("String(%q) = %q: invalid UTF-8", in, out)
		}
		if added := strings.Count(out, "[redacted:") - strings.Count(in, "[redacted:"); added != counts.Total() {
			t.Fatalf("String(%q) = %q: %d placeholders written, %d counted", in, out, added, counts.Total())
		}
		if counts.Total() == 0 && unsafe.StringData(out) != unsafe.StringData(in) {
			t.Fatalf("String(%q) found nothing but returned a copy", in)
		}
		again, c2 := redact.String(out)
		if c2.Total() != 0 || again != out {
			t.Fatalf("not idempotent:\n in  %q\n out %q\n again %q %v", in, out, again, c2)
		}
	})
}
