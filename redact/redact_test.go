package redact_test

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/garde-privacy/garde/redact"
	"github.com/google/go-cmp/cmp"
)

func TestKindAndPlaceholder(t *testing.T) {
	names := []string{"email", "phone", "card", "iban", "nir"}
	if len(names) != int(redact.NumKinds) {
		t.Fatalf("NumKinds = %d, want %d", redact.NumKinds, len(names))
	}
	for k := redact.Kind(0); k < redact.NumKinds; k++ {
		if got := k.String(); got != names[k] {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, names[k])
		}
		if got, want := redact.Placeholder(k), "[redacted:"+names[k]+"]"; got != want {
			t.Errorf("Placeholder(%v) = %q, want %q", k, got, want)
		}
	}
	if got := redact.NumKinds.String(); got != "kind(5)" {
		t.Errorf("NumKinds.String() = %q", got)
	}
	if got := redact.Placeholder(redact.NumKinds); got != "[redacted]" {
		t.Errorf("Placeholder(NumKinds) = %q", got)
	}
}

func TestCounts(t *testing.T) {
	var c redact.Counts
	c.Add(redact.Counts{redact.Email: 2, redact.Card: 1})
	c.Add(redact.Counts{redact.Email: 1, redact.NIR: 4})
	want := redact.Counts{redact.Email: 3, redact.Card: 1, redact.NIR: 4}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Add (-want +got):\n%s", diff)
	}
	if c.Total() != 8 {
		t.Errorf("Total() = %d, want 8", c.Total())
	}
	if (redact.Counts{}).Total() != 0 {
		t.Error("zero Counts has a non-zero Total")
	}
}

func TestMixed(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		counts   redact.Counts
	}{
		{
			in:     "Contact jean@exemple.fr or 06 12 34 56 78, card 4111 1111 1111 1111, IBAN FR76 3000 6000 0112 3456 7890 189",
			want:   "Contact [redacted:email] or [redacted:phone], card [redacted:card], IBAN [redacted:iban]",
			counts: redact.Counts{redact.Email: 1, redact.Phone: 1, redact.Card: 1, redact.IBAN: 1},
		},
		{
			in:     "Order ORD-2026-000123 (2026-11-28, 12.99 €): customer 1 85 05 78 006 084 91 paid with 5555555555554444, reach her at +33612345678 or a@b.io",
			want:   "Order ORD-2026-000123 (2026-11-28, 12.99 €): customer [redacted:nir] paid with [redacted:card], reach her at [redacted:phone] or [redacted:email]",
			counts: redact.Counts{redact.Email: 1, redact.Phone: 1, redact.Card: 1, redact.NIR: 1},
		},
		{
			in:     "a@x.org b@y.org 415-555-2671 (415) 555-2671 DE89370400440532013000",
			want:   "[redacted:email] [redacted:email] [redacted:phone] [redacted:phone] [redacted:iban]",
			counts: redact.Counts{redact.Email: 2, redact.Phone: 2, redact.IBAN: 1},
		},
		{
			// A card is not also a phone number; an email takes the digits in it.
			in:     "+4111111111111111 4111111111111111@pay.example.com",
			want:   "+[redacted:card] [redacted:email]",
			counts: redact.Counts{redact.Email: 1, redact.Card: 1},
		},
		{
			in:     "already [redacted:email] and [redacted:phone], nothing new",
			want:   "already [redacted:email] and [redacted:phone], nothing new",
			counts: redact.Counts{},
		},
	} {
		got, counts := redact.String(tc.in)
		if got != tc.want {
			t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		if diff := cmp.Diff(tc.counts, counts); diff != "" {
			t.Errorf("String(%q) counts (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestUnicode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Écrivez à «jean@exemple.fr» ☺", "Écrivez à «[redacted:email]» ☺"},
		{"→ann@example.com←", "→[redacted:email]←"},
		{"日本語06 12 34 56 78日本語", "日本語[redacted:phone]日本語"},
		{"Carte : 4111 1111 1111 1111 — merci 🙏", "Carte : [redacted:card] — merci 🙏"},
		{"IBAN\u00a0FR7630006000011234567890189\u00a0€", "IBAN\u00a0[redacted:iban]\u00a0€"},
		{"Numéro : 1 85 05 2A 123 456 33 ✔", "Numéro : [redacted:nir] ✔"},
		{"Ünïcödé ohne Daten 1234 – 2026-11-28 – 12,99 €", "Ünïcödé ohne Daten 1234 – 2026-11-28 – 12,99 €"},
	} {
		if got, _ := redact.String(tc.in); got != tc.want {
			t.Errorf("String(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// cleanInputs hold nothing to redact; some get past the fast path.
var cleanInputs = []string{
	"",
	"Spring sale: up to 40% off shoes & bags",
	"Order ORD-2026-000123 shipped 2026-11-28T14:30:00Z, total 1 299,99 €",
	"Write to us @garde or call us, we answer within 24h",
	"SKU4111111111111111 and 4111 1111 1111 1112 and foo@1.2.3",
	"Ünïcödé 12345678901234567890123 [redacted:phone]",
}

func TestNothingFoundReturnsSameString(t *testing.T) {
	for _, in := range cleanInputs {
		in := strings.Clone(in)
		got, counts := redact.String(in)
		if counts.Total() != 0 {
			t.Errorf("String(%q) counted %v", in, counts)
		}
		if got != in || unsafe.StringData(got) != unsafe.StringData(in) {
			t.Errorf("String(%q) did not return its argument", in)
		}
		if allocs := testing.AllocsPerRun(100, func() { redact.String(in) }); allocs != 0 {
			t.Errorf("String(%q) allocates %v times", in, allocs)
		}
	}
}

func TestDirtyAllocatesOnce(t *testing.T) {
	if allocs := testing.AllocsPerRun(100, func() { redact.String(dirtyText) }); allocs != 1 {
		t.Errorf("String(dirty) allocates %v times, want 1", allocs)
	}
}

const (
	cleanTitle = "Winter sale – 40% off boots | Garde Shop" // a typical page title
	dirtyText  = "Hi, my order ORD-2026-000123 never arrived. Please write to marie.dupont@example.fr or call 06 12 34 56 78 before 18:00."
)

// longClean is ~1 KB of ticket text with dates, prices and ids but no
// personal data, so it takes the full scan.
var longClean = strings.Repeat("Order ORD-2026-000123 placed 2026-11-28 14:30 for 129.99 EUR (3 items, SKU A-1043 x2). "+
	"The parcel left our warehouse on 29/11 and tracking 1Z999AA1012 shows it in transit since then; ", 6)[:1024]

func BenchmarkStringClean(b *testing.B) {
	b.SetBytes(int64(len(cleanTitle)))
	b.ReportAllocs()
	for b.Loop() {
		redact.String(cleanTitle)
	}
}

func BenchmarkStringLongClean(b *testing.B) {
	b.SetBytes(int64(len(longClean)))
	b.ReportAllocs()
	for b.Loop() {
		redact.String(longClean)
	}
}

func BenchmarkStringDirty(b *testing.B) {
	b.SetBytes(int64(len(dirtyText)))
	b.ReportAllocs()
	for b.Loop() {
		redact.String(dirtyText)
	}
}
