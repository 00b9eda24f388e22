package gpp_test

import (
	"errors"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/gpp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// knownStrings seeds the fuzzer and the round-trip and cross-check tests.
var knownStrings = []string{
	specExample1, specExample2, specExample3, "DBABM~" + tcf,
	usnatOptedOut, usnatWithGPC, usnatNA, usnatV2NA, umpOptOut, umpNoOptOut, briefUSNat, wideV1,
	uscaOptedOut, uscaWithGPC, uscaNA, goGPPMultiState,
	"DBACLMA~BAAAAAAAAAA.QA~BaAAAAA",
	"DBACTjw~1YYN~BSZZYgkA~BaRlkCSA.QA",
}

// ignoreDecodedRaw compares two decodings without the raw text of the
// sections that were decoded: re-encoding may change their padding.
var ignoreDecodedRaw = cmpopts.IgnoreMapEntries(func(id int, _ string) bool {
	return id == gpp.SectionUSNat || id == gpp.SectionUSCA
})

func FuzzDecode(f *testing.F) {
	for _, s := range knownStrings {
		f.Add(s)
	}
	f.Add("DBAB5g~x")
	f.Add("DBABAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		first, err := gpp.Decode(s)
		if err != nil {
			var e *garde.Error
			if !errors.As(err, &e) || e.Code != garde.EInvalid {
				t.Fatalf("error %v is not an EInvalid *garde.Error", err)
			}
			return
		}
		if len(first.Sections) != len(first.SectionIDs) {
			t.Fatalf("%d sections for %d ids", len(first.Sections), len(first.SectionIDs))
		}
		for i := 1; i < len(first.SectionIDs); i++ {
			if first.SectionIDs[i] <= first.SectionIDs[i-1] {
				t.Fatalf("ids not ascending: %v", first.SectionIDs)
			}
		}
		_ = first.OptOuts()
		out, err := first.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded string: %v", err)
		}
		second, err := gpp.Decode(out)
		if err != nil {
			t.Fatalf("Decode(Encode) = %v", err)
		}
		if diff := cmp.Diff(first, second, ignoreDecodedRaw); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

// BenchmarkDecode measures the request-path cost: a TCF + usnat + usca
// string, the common shape for a US/EU site.
func BenchmarkDecode(b *testing.B) {
	in := mustEncode(b, &gpp.String{
		Version: 1, SectionIDs: []int{2, 7, 8},
		Sections: map[int]string{2: tcf},
		USNat:    mustDecode(b, usnatWithGPC).USNat,
		USCA:     mustDecode(b, uscaWithGPC).USCA,
	})
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s, err := gpp.Decode(in)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.OptOuts()
	}
}
