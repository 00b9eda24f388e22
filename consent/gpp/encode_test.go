package gpp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/gpp"
	"github.com/google/go-cmp/cmp"
)

// The spec's header examples, as the encoder must write them.
func TestEncodeHeader(t *testing.T) {
	tests := []struct {
		name string
		ids  []int
		want string
	}{
		{"spec example 1", []int{2}, "DBABM"},
		{"spec example 2", []int{2, 6}, "DBACNY"},
		{"spec example 3 group", []int{5, 6}, "DBABjw"},
		{"usnat", []int{7}, "DBABL"},
		{"usca", []int{8}, "DBABBg"},
		{"none", nil, "DBAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &gpp.String{Version: 1, SectionIDs: tt.ids, Sections: map[int]string{}}
			for _, id := range tt.ids {
				s.Sections[id] = "x"
			}
			got := mustEncode(t, s)
			header, _, _ := strings.Cut(got, "~")
			if header != tt.want {
				t.Errorf("got %q, want %q", header, tt.want)
			}
		})
	}
}

// Decoding what Encode wrote gives back the same fields, for every known
// string; the text may differ only in padding.
func TestEncodeRoundTrip(t *testing.T) {
	for _, in := range knownStrings {
		t.Run(in, func(t *testing.T) {
			first := mustDecode(t, in)
			second := mustDecode(t, mustEncode(t, first))
			if diff := cmp.Diff(first, second, ignoreDecodedRaw); diff != "" {
				t.Errorf("round trip mismatch (-first +second):\n%s", diff)
			}
		})
	}
}

func TestEncodeExact(t *testing.T) {
	// Strings already minimal (no byte padding) come back unchanged.
	for _, in := range []string{umpOptOut, umpNoOptOut, "DBABjw~" + tcf + "~1YNN", "DBABL~CAAAAAAAAAWA.Q", "DBABBg~BVqqqqpY.Y"} {
		if got := mustEncode(t, mustDecode(t, in)); got != in {
			t.Errorf("got %q, want %q", got, in)
		}
	}
}

func TestEncodeInvalid(t *testing.T) {
	ok := mustDecode(t, usnatOptedOut).USNat
	bad := func(f func(n *gpp.USNat)) *gpp.USNat {
		c := *ok
		c.SensitiveDataProcessing = append([]int(nil), ok.SensitiveDataProcessing...)
		f(&c)
		return &c
	}
	tests := []struct {
		name string
		s    *gpp.String
		want string
	}{
		{"header version", &gpp.String{Version: 2}, "gpp: encode: unsupported Version 2"},
		{"ids not ascending", &gpp.String{Version: 1, SectionIDs: []int{6, 2}, Sections: map[int]string{2: tcf, 6: "1YNN"}},
			"gpp: encode: SectionIDs not strictly ascending positive ids"},
		{"id zero", &gpp.String{Version: 1, SectionIDs: []int{0}}, "gpp: encode: SectionIDs not strictly ascending positive ids"},
		{"missing text", &gpp.String{Version: 1, SectionIDs: []int{2}}, "gpp: encode: no text for section 2"},
		{"tilde in text", &gpp.String{Version: 1, SectionIDs: []int{6}, Sections: map[int]string{6: "1Y~N"}},
			"gpp: encode: section 6 holds a '~'"},
		{"usnat value 3", &gpp.String{Version: 1, SectionIDs: []int{7}, USNat: bad(func(n *gpp.USNat) { n.SaleOptOut = 3 })},
			"gpp: encode usnat: SaleOptOut value 3 outside 0…2"},
		{"usnat short list", &gpp.String{Version: 1, SectionIDs: []int{7}, USNat: bad(func(n *gpp.USNat) { n.SensitiveDataProcessing = n.SensitiveDataProcessing[:5] })},
			"gpp: encode usnat: SensitiveDataProcessing has 5 entries, want 12"},
		{"usnat v2 needs 16", &gpp.String{Version: 1, SectionIDs: []int{7}, USNat: bad(func(n *gpp.USNat) { n.Version = 2 })},
			"gpp: encode usnat: SensitiveDataProcessing has 12 entries, want 16"},
		{"usnat version 9", &gpp.String{Version: 1, SectionIDs: []int{7}, USNat: bad(func(n *gpp.USNat) { n.Version = 9 })},
			"gpp: encode usnat: unsupported Version 9"},
		{"usca version", &gpp.String{Version: 1, SectionIDs: []int{8}, USCA: &gpp.USCA{Version: 2}},
			"gpp: encode usca: unsupported Version 2"},
		{"usca nil lists", &gpp.String{Version: 1, SectionIDs: []int{8}, USCA: &gpp.USCA{Version: 1}},
			"gpp: encode usca: SensitiveDataProcessing has 0 entries, want 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Encode()
			var e *garde.Error
			if !errors.As(err, &e) {
				t.Fatalf("Encode = %q, %v; want *garde.Error", got, err)
			}
			if e.Code != garde.EInvalid || e.Message != tt.want {
				t.Errorf("got %s %q, want %s %q", e.Code, e.Message, garde.EInvalid, tt.want)
			}
		})
	}
}
