package tcf_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/tcf"
)

func TestDecodeKnown(t *testing.T) {
	for _, tc := range known {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tcf.Decode(tc.s)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			gotFields, wantFields := jsonFields(t, got), jsonFields(t, tc.want)
			for k, want := range wantFields {
				if diff := cmp.Diff(want, gotFields[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

// jsonFields renders v as a JSON object, so that expectations written with
// Go ints and strings compare with decoded values.
func jsonFields(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// bitsOf returns the bits of a base64url segment as a '0'/'1' string.
func bitsOf(t *testing.T, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var b strings.Builder
	for _, c := range seg {
		v := strings.IndexRune(alphabet, c)
		if v < 0 {
			t.Fatalf("bad character %q", c)
		}
		for i := 5; i >= 0; i-- {
			b.WriteByte('0' + byte(v>>i&1))
		}
	}
	return b.String()
}

// fromBits encodes a '0'/'1' string, padded with zeros to whole characters.
func fromBits(bits string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for len(bits)%6 != 0 {
		bits += "0"
	}
	out := make([]byte, len(bits)/6)
	for i := range out {
		v := 0
		for _, c := range bits[6*i : 6*i+6] {
			v = v<<1 | int(c-'0')
		}
		out[i] = alphabet[v]
	}
	return string(out)
}

func num(v, n int) string {
	var b strings.Builder
	for i := n - 1; i >= 0; i-- {
		b.WriteByte('0' + byte(v>>i&1))
	}
	return b.String()
}

func TestDecodeErrors(t *testing.T) {
	good := known[0].s
	header := bitsOf(t, good)[:213] // every core field before VendorConsents
	noVendors := num(0, 17) + num(0, 17) + num(0, 12)
	fullRange := num(1, 1) + num(1, 16) + num(65535, 16)
	manyRestrictions := num(17, 12)
	for i := range 17 {
		manyRestrictions += num(i+1, 6) + num(0, 2) + num(1, 12) + fullRange
	}
	tests := []struct {
		name, s, want string
	}{
		{"empty", "", "tc string: empty"},
		{"too long", strings.Repeat("A", tcf.MaxLength+1), "longer than"},
		{"bad character", "CO*ybn4PA", "core segment: invalid base64url character at position 2"},
		{"only padding", "==", "core segment: empty"},
		{"truncated before vendors", good[:36], "core segment: truncated at bit 213 (VendorConsents)"},
		{"truncated in header", "COtybn", "core segment: truncated at bit 6 (Created)"},
		{"version 1 string", "BOVeoB_OVeoFxC-AHAFRBtAAAAAhGAEAD4AXAA2YCEQ", "core segment: unsupported version 1 at bit 0 (Version)"},
		{"bad language letter", fromBits(header[:108] + num(26, 6) + header[114:] + noVendors), "core segment: invalid letter at bit 108 (ConsentLanguage)"},
		{"bit field longer than string", fromBits(header + num(500, 16) + "0"), "core segment: truncated at bit 230 (VendorConsents BitField)"},
		{"range vendor 0", fromBits(header + num(5, 16) + "1" + num(1, 12) + "0" + num(0, 16) + noVendors), "core segment: vendor id 0 at bit 242 (VendorConsents range entry 1)"},
		{"range ends before start", fromBits(header + num(5, 16) + "1" + num(1, 12) + "1" + num(5, 16) + num(3, 16) + noVendors), "range ends before it starts at bit 242"},
		{"range above MaxVendorId", fromBits(header + num(5, 16) + "1" + num(1, 12) + "0" + num(9, 16) + noVendors), "vendor id 9 above the maximum 5 at bit 242"},
		{"truncated range entry", fromBits(header + num(5, 16) + "1" + num(2, 12) + "0" + num(3, 16)), "truncated at bit 260 (VendorConsents StartOrOnlyVendorId)"},
		{"truncated restrictions", fromBits(header + num(0, 17) + num(0, 17) + num(3, 12)), "truncated at bit 259 (PublisherRestrictions PurposeId)"},
		{"restrictions expand too far", fromBits(header + num(0, 17) + num(0, 17) + manyRestrictions), "expand to more than 1048576 vendor ids"},
		{"empty optional segment", good + ".", "segment 2: optional segment: empty"},
		{"unknown segment type", good + ".4AAA", "segment 2: unknown segment type 7"},
		{"core type as optional segment", good + "." + good, "segment 2: unknown segment type 0"},
		{"second disclosed vendors", good + ".IBAgAAAgAIAwgAgAAAAEAAAACA.IBAgAAAgAIAwgAgAAAAEAAAACA", "segment 3: second disclosed vendors segment"},
		{"truncated disclosed vendors", good + ".IBA", "disclosed vendors segment: truncated at bit 3 (DisclosedVendors)"},
		{"truncated publisher TC", good + ".cAAAAAAA", "publisher TC segment: truncated at bit 27 (PubPurposesLITransparency)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tcf.Decode(tc.s)
			if err == nil {
				t.Fatalf("Decode = %+v, want error %q", got, tc.want)
			}
			var e *garde.Error
			if !errors.As(err, &e) || e.Code != garde.EInvalid {
				t.Fatalf("got %T %v, want *garde.Error with code %s", err, err, garde.EInvalid)
			}
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("got %q, want it to contain %q", e.Message, tc.want)
			}
		})
	}
}

func TestRoundTripKnown(t *testing.T) {
	for _, tc := range known {
		t.Run(tc.name, func(t *testing.T) {
			want, err := tcf.Decode(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			s, err := tcf.Encode(want)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, err := tcf.Decode(s)
			if err != nil {
				t.Fatalf("Decode(Encode): %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decode(Encode(Decode(s))) (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEncodeMatchesIABBytes: strings made by the IAB library (24-bit padded,
// same encoding choices) come back byte for byte.
func TestEncodeMatchesIABBytes(t *testing.T) {
	for _, s := range []string{known[0].s, "COx3XOeOx3XOeLkAAAENAfCIAAAAAHgAAIAAAAAAAAAA"} {
		d, err := tcf.Decode(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := tcf.Encode(d); err != nil || got != s {
			t.Errorf("Encode = %q, %v; want %q", got, err, s)
		}
	}
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		want := randomTC(r)
		s, err := tcf.Encode(want)
		if err != nil {
			t.Fatalf("%d: Encode: %v", i, err)
		}
		got, err := tcf.Decode(s)
		if err != nil {
			t.Fatalf("%d: Decode(%q): %v", i, s, err)
		}
		if diff := quickDiff(normalize(want), normalize(got)); diff != "" {
			t.Fatalf("%d: round trip (-want +got):\n%s", i, diff)
		}
	}
}
