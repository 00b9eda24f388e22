package bundle

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestMessagesComplete: both languages have every text and every label,
// with the same formatting verbs.
func TestMessagesComplete(t *testing.T) {
	for _, cat := range []map[string]map[string]string{messages, labels} {
		en, fr := cat["en"], cat["fr"]
		if diff := symmetricDiff(slices.Collect(maps.Keys(en)), slices.Collect(maps.Keys(fr))); len(diff) > 0 {
			t.Errorf("keys in one language only: %v", diff)
		}
		for k, e := range en {
			if f := fr[k]; strings.Count(e, "%") != strings.Count(f, "%") {
				t.Errorf("%s: %q and %q take different arguments", k, e, f)
			}
		}
	}
}

func symmetricDiff(a, b []string) []string {
	var out []string
	for _, k := range a {
		if !slices.Contains(b, k) {
			out = append(out, k)
		}
	}
	for _, k := range b {
		if !slices.Contains(a, k) {
			out = append(out, k)
		}
	}
	return out
}

// TestSafeCell: a cell a spreadsheet would evaluate gets an apostrophe;
// anything else is left alone.
func TestSafeCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=1+1", "'=1+1"},
		{"+33 6 12", "'+33 6 12"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{"'quoted", "'quoted"},
		{`{"a":"=1"}`, `{"a":"=1"}`},
	} {
		if got := safeCell(tc.in); got != tc.want {
			t.Errorf("safeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLanguage: the copy is written in English or French; a region is
// ignored; anything else is refused.
func TestLanguage(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{{"", "en", true}, {"en", "en", true}, {"FR", "fr", true}, {"fr-CA", "fr", true}, {"de", "", false}, {"english", "", false}} {
		got, err := language(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("language(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
