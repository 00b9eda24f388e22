package gpp_test

import (
	"math/rand/v2"
	"testing"

	"github.com/garde-privacy/garde/consent/gpp"
	"github.com/google/go-cmp/cmp"
	gogpp "github.com/prebid/go-gpp"
	"github.com/prebid/go-gpp/sections/uspca"
	"github.com/prebid/go-gpp/sections/uspnat"
)

// Cross-check against github.com/prebid/go-gpp v0.2.0, Prebid Server's
// decoder. It predates usnat v2 and reads every usnat core with the v1
// layout, so only v1 usnat strings are compared; it also pads short base64
// with zero bits where this package reports truncation, so only well-formed
// strings are compared.

func TestCompatGoGPP(t *testing.T) {
	tests := []string{
		specExample1, specExample2, specExample3,
		usnatOptedOut, usnatWithGPC, usnatNA, umpOptOut, umpNoOptOut, briefUSNat,
		uscaOptedOut, uscaWithGPC, uscaNA, goGPPMultiState,
		"DBACTjw~1YYN~BSZZYgkA~BaRlkCSA.QA",
	}
	compared := 0
	for _, in := range tests {
		t.Run(in, func(t *testing.T) { compared += compareWithGoGPP(t, in) })
	}
	if compared != 10 {
		t.Errorf("compared %d decoded sections, want 10", compared)
	}
}

// TestCompatGoGPPRandom encodes random v1 sections with this package and
// checks go-gpp reads the same fields back.
func TestCompatGoGPPRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	v := func() int { return r.IntN(3) }
	list := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = v()
		}
		return out
	}
	gpc := func() *bool {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return ptr(false)
		}
		return ptr(true)
	}
	layouts := [][]int{{7}, {8}, {7, 8}, {2, 7, 8}, {6, 7}}
	for i := range 500 {
		s := &gpp.String{Version: 1, SectionIDs: layouts[i%len(layouts)], Sections: map[int]string{2: tcf, 6: "1YNN"}}
		s.USNat = &gpp.USNat{
			Version: 1, SharingNotice: v(), SaleOptOutNotice: v(), SharingOptOutNotice: v(),
			TargetedAdvertisingOptOutNotice: v(), SensitiveDataProcessingOptOutNotice: v(),
			SensitiveDataLimitUseNotice: v(), SaleOptOut: v(), SharingOptOut: v(), TargetedAdvertisingOptOut: v(),
			SensitiveDataProcessing: list(12), KnownChildSensitiveDataConsents: list(2),
			PersonalDataConsents: v(), MspaCoveredTransaction: v(), MspaOptOutOptionMode: v(),
			MspaServiceProviderMode: v(), GPC: gpc(),
		}
		s.USCA = &gpp.USCA{
			Version: 1, SaleOptOutNotice: v(), SharingOptOutNotice: v(), SensitiveDataLimitUseNotice: v(),
			SaleOptOut: v(), SharingOptOut: v(), SensitiveDataProcessing: list(9),
			KnownChildSensitiveDataConsents: list(2), PersonalDataConsents: v(),
			MspaCoveredTransaction: v(), MspaOptOutOptionMode: v(), MspaServiceProviderMode: v(), GPC: gpc(),
		}
		if compareWithGoGPP(t, mustEncode(t, s)) == 0 {
			t.Fatal("nothing compared")
		}
	}
}

// compareWithGoGPP returns the number of decoded sections it compared.
func compareWithGoGPP(t *testing.T, in string) (compared int) {
	t.Helper()
	mine := mustDecode(t, in)
	theirs, errs := gogpp.Parse(in)
	if len(errs) != 0 {
		t.Fatalf("go-gpp Parse(%q): %v", in, errs)
	}
	if theirs.Version != mine.Version {
		t.Errorf("%q: Version got %d, go-gpp %d", in, mine.Version, theirs.Version)
	}
	var ids []int
	for _, id := range theirs.SectionTypes {
		ids = append(ids, int(id))
	}
	if diff := cmp.Diff(ids, mine.SectionIDs); diff != "" {
		t.Errorf("%q: SectionIDs (-go-gpp +mine):\n%s", in, diff)
	}
	for _, sec := range theirs.Sections {
		id := int(sec.GetID())
		if got := mine.Sections[id]; got != sec.GetValue() {
			t.Errorf("%q: section %d raw got %q, go-gpp %q", in, id, got, sec.GetValue())
		}
		switch sec := sec.(type) {
		case uspnat.USPNAT:
			compared++
			if diff := cmp.Diff(fromGoGPPNat(sec), mine.USNat, gpcAsFalse); diff != "" {
				t.Errorf("%q: usnat (-go-gpp +mine):\n%s", in, diff)
			}
		case uspca.USPCA:
			compared++
			if diff := cmp.Diff(fromGoGPPCA(sec), mine.USCA, gpcAsFalse); diff != "" {
				t.Errorf("%q: usca (-go-gpp +mine):\n%s", in, diff)
			}
		}
	}
	return compared
}

// go-gpp reports an absent GPC sub-section as false; compare that way.
var gpcAsFalse = cmp.Transformer("gpc", func(b *bool) bool { return b != nil && *b })

func ints(bs []byte) []int {
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = int(b)
	}
	return out
}

func fromGoGPPNat(s uspnat.USPNAT) *gpp.USNat {
	c := s.CoreSegment
	return &gpp.USNat{
		Version:                             int(c.Version),
		SharingNotice:                       int(c.SharingNotice),
		SaleOptOutNotice:                    int(c.SaleOptOutNotice),
		SharingOptOutNotice:                 int(c.SharingOptOutNotice),
		TargetedAdvertisingOptOutNotice:     int(c.TargetedAdvertisingOptOutNotice),
		SensitiveDataProcessingOptOutNotice: int(c.SensitiveDataProcessingOptOutNotice),
		SensitiveDataLimitUseNotice:         int(c.SensitiveDataLimitUseNotice),
		SaleOptOut:                          int(c.SaleOptOut),
		SharingOptOut:                       int(c.SharingOptOut),
		TargetedAdvertisingOptOut:           int(c.TargetedAdvertisingOptOut),
		SensitiveDataProcessing:             ints(c.SensitiveDataProcessing),
		KnownChildSensitiveDataConsents:     ints(c.KnownChildSensitiveDataConsents),
		PersonalDataConsents:                int(c.PersonalDataConsents),
		MspaCoveredTransaction:              int(c.MspaCoveredTransaction),
		MspaOptOutOptionMode:                int(c.MspaOptOutOptionMode),
		MspaServiceProviderMode:             int(c.MspaServiceProviderMode),
		GPC:                                 ptr(s.GPCSegment.Gpc),
	}
}

func fromGoGPPCA(s uspca.USPCA) *gpp.USCA {
	c := s.CoreSegment
	return &gpp.USCA{
		Version:                         int(c.Version),
		SaleOptOutNotice:                int(c.SaleOptOutNotice),
		SharingOptOutNotice:             int(c.SharingOptOutNotice),
		SensitiveDataLimitUseNotice:     int(c.SensitiveDataLimitUseNotice),
		SaleOptOut:                      int(c.SaleOptOut),
		SharingOptOut:                   int(c.SharingOptOut),
		SensitiveDataProcessing:         ints(c.SensitiveDataProcessing),
		KnownChildSensitiveDataConsents: ints(c.KnownChildSensitiveDataConsents),
		PersonalDataConsents:            int(c.PersonalDataConsents),
		MspaCoveredTransaction:          int(c.MspaCoveredTransaction),
		MspaOptOutOptionMode:            int(c.MspaOptOutOptionMode),
		MspaServiceProviderMode:         int(c.MspaServiceProviderMode),
		GPC:                             ptr(s.GPCSegment.Gpc),
	}
}
