package tcf_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/consent/tcf"
)

// FuzzDecode: Decode never panics, and whatever it accepts survives
// Encode and Decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, k := range known {
		f.Add(k.s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		s, err := tcf.Encode(randomTC(r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add("")
	f.Add(".")
	f.Add("CAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := tcf.Decode(s)
		if err != nil {
			return
		}
		_ = d.Validate()
		out, err := tcf.Encode(d)
		if err != nil {
			t.Fatalf("Encode(Decode(%q)): %v", s, err)
		}
		again, err := tcf.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(%q))) = %q: %v", s, out, err)
		}
		// reflect.DeepEqual first: cmp.Diff takes seconds on 30,000-id lists.
		if !reflect.DeepEqual(d, again) {
			t.Fatalf("round trip of %q (-first +second):\n%s", s, cmp.Diff(d, again))
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	inputs := map[string]string{"core only": known[0].s, "spec example": known[8].s}
	big := randomTC(r)
	big.VendorConsents, big.VendorLegitimateInterests = seq(1, 1500), randomIDs(r, 1500, 2)
	s, err := tcf.Encode(big)
	if err != nil {
		b.Fatal(err)
	}
	inputs["1500 vendors"] = s
	for name, s := range inputs {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tcf.Decode(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	t := valid()
	t.VendorConsents = seq(1, 1500)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tcf.Encode(t); err != nil {
			b.Fatal(err)
		}
	}
}
