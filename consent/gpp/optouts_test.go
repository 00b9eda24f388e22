package gpp_test

import (
	"testing"

	"github.com/garde-privacy/garde/consent/gpp"
)

func TestOptOuts(t *testing.T) {
	// A string carrying both US sections: usnat says "did not opt out"
	// everywhere, usca opts out of everything; the merge must keep usca's.
	both := mustEncode(t, &gpp.String{
		Version: 1, SectionIDs: []int{7, 8},
		USNat: mustDecode(t, umpNoOptOut).USNat,
		USCA:  mustDecode(t, uscaOptedOut).USCA,
	})
	tests := []struct {
		name string
		in   string
		want gpp.OptOuts
	}{
		{"TCF and US Privacy only: no US signal", specExample2, gpp.OptOuts{}},
		{"usnat all opted out, no consents", usnatOptedOut, gpp.OptOuts{
			Sale: true, Sharing: true, TargetedAdvertising: true, SensitiveData: true, KnownChild: true,
		}},
		{"usnat with GPC", usnatWithGPC, gpp.OptOuts{
			Sale: true, Sharing: true, TargetedAdvertising: true, SensitiveData: true, KnownChild: true, GPC: true,
		}},
		{"usnat not applicable", usnatNA, gpp.OptOuts{}},
		{"usnat v2 known child 16-17 without consent", usnatV2NA, gpp.OptOuts{KnownChild: true}},
		{"usnat UMP opt-out", umpOptOut, gpp.OptOuts{Sale: true, Sharing: true, TargetedAdvertising: true}},
		{"usnat UMP no opt-out", umpNoOptOut, gpp.OptOuts{}},
		{"usnat GPC false", briefUSNat, gpp.OptOuts{}},
		{"usca opted out", uscaOptedOut, gpp.OptOuts{Sale: true, Sharing: true, SensitiveData: true, KnownChild: true}},
		{"usca consents given, GPC on: still a known child", uscaWithGPC, gpp.OptOuts{GPC: true, KnownChild: true}},
		{"usca not applicable", uscaNA, gpp.OptOuts{}},
		{"usnat says no, usca says opted out: most restrictive wins", both, gpp.OptOuts{
			Sale: true, Sharing: true, SensitiveData: true, KnownChild: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustDecode(t, tt.in).OptOuts(); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOptOutsNil(t *testing.T) {
	var s *gpp.String
	if got := s.OptOuts(); got != (gpp.OptOuts{}) {
		t.Errorf("got %+v, want zero", got)
	}
}

func TestOptOutsSensitiveCategory(t *testing.T) {
	// One category without consent is enough.
	s := mustDecode(t, usnatNA)
	s.USNat.SensitiveDataProcessing[11] = 1
	if got := s.OptOuts(); !got.SensitiveData {
		t.Errorf("got %+v, want SensitiveData", got)
	}
	s.USNat.SensitiveDataProcessing[11] = 2
	if got := s.OptOuts(); got.SensitiveData {
		t.Errorf("got %+v, want no SensitiveData with consent", got)
	}
}

func mustDecode(t testing.TB, s string) *gpp.String {
	t.Helper()
	g, err := gpp.Decode(s)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return g
}

func mustEncode(t testing.TB, s *gpp.String) string {
	t.Helper()
	out, err := s.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return out
}
