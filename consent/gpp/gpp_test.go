package gpp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/gpp"
	"github.com/google/go-cmp/cmp"
)

// Known strings. Sources: the GPP core spec's examples (tcf*), the
// iabgpp-rs test data (usnat*, usca*), strings quoted in iabgpp-es issues
// #81 and #84 (ump*, wideV1), and the task brief (briefUSNat).
const (
	tcf             = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"
	specExample1    = "DBABMA~" + tcf
	specExample2    = "DBACNYA~" + tcf + "~1YNN"
	specExample3    = "DBABjw~" + tcf + "~1YNN"
	usnatOptedOut   = "DBABLA~BVVVVVVVVWA"
	usnatWithGPC    = "DBABLA~BVVVVVVVVWA.YA"
	usnatNA         = "DBABLA~BAAAAAAAAQA"
	usnatV2NA       = "DBABLA~CAAAAAAAAAWA.Q"
	umpOptOut       = "DBABL~BVQVAAAAAg"
	umpNoOptOut     = "DBABL~BVQqAAAAAg"
	briefUSNat      = "DBABLA~BVQqAAAAAgA.QA"
	wideV1          = "DBABLA~BVAoAAAAAABk.QA"
	uscaOptedOut    = "DBABBg~BVVVVVVY"
	uscaWithGPC     = "DBABBg~BVqqqqpY.YA"
	uscaNA          = "DBABBg~BAAAAACA"
	goGPPMultiState = "DBADLO8~BSJgmkoZJSA.YA~BSFgmiU~BWJYJllA~BSFgmSZQ.YA"
)

func rep(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func ptr(b bool) *bool { return &b }

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *gpp.String
	}{
		{"spec example 1 TCF only", specExample1, &gpp.String{
			Version: 1, SectionIDs: []int{2}, Sections: map[int]string{2: tcf},
		}},
		{"spec example 1 unpadded header", "DBABM~" + tcf, &gpp.String{
			Version: 1, SectionIDs: []int{2}, Sections: map[int]string{2: tcf},
		}},
		{"spec example 2 TCF and US Privacy", specExample2, &gpp.String{
			Version: 1, SectionIDs: []int{2, 6}, Sections: map[int]string{2: tcf, 6: "1YNN"},
		}},
		{"spec example 3 group range", specExample3, &gpp.String{
			Version: 1, SectionIDs: []int{5, 6}, Sections: map[int]string{5: tcf, 6: "1YNN"},
		}},
		{"header only", "DBAA", &gpp.String{
			Version: 1, SectionIDs: []int{}, Sections: map[int]string{},
		}},
		{"usnat v1 opted out", usnatOptedOut, &gpp.String{
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "BVVVVVVVVWA"},
			USNat: &gpp.USNat{
				Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
				TargetedAdvertisingOptOutNotice: 1, SensitiveDataProcessingOptOutNotice: 1,
				SensitiveDataLimitUseNotice: 1, SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 1,
				SensitiveDataProcessing: rep(12, 1), KnownChildSensitiveDataConsents: rep(2, 1),
				PersonalDataConsents: 1, MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
			},
		}},
		{"usnat v1 with GPC", usnatWithGPC, &gpp.String{
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "BVVVVVVVVWA.YA"},
			USNat: &gpp.USNat{
				Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
				TargetedAdvertisingOptOutNotice: 1, SensitiveDataProcessingOptOutNotice: 1,
				SensitiveDataLimitUseNotice: 1, SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 1,
				SensitiveDataProcessing: rep(12, 1), KnownChildSensitiveDataConsents: rep(2, 1),
				PersonalDataConsents: 1, MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
				GPC: ptr(true),
			},
		}},
		{"usnat v1 not applicable", usnatNA, &gpp.String{
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "BAAAAAAAAQA"},
			USNat: &gpp.USNat{
				Version: 1, SensitiveDataProcessing: rep(12, 0), KnownChildSensitiveDataConsents: rep(2, 0),
				MspaCoveredTransaction: 1,
			},
		}},
		{"usnat v2 not applicable", usnatV2NA, &gpp.String{
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "CAAAAAAAAAWA.Q"},
			USNat: &gpp.USNat{
				Version: 2, SensitiveDataProcessing: rep(16, 0), KnownChildSensitiveDataConsents: []int{0, 0, 1},
				PersonalDataConsents: 1, MspaCoveredTransaction: 2, GPC: ptr(false),
			},
		}},
		{"usnat Google UMP opt-out", umpOptOut, &gpp.String{
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "BVQVAAAAAg"},
			USNat: &gpp.USNat{
				Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
				TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 1, SharingOptOut: 1, TargetedAdvertisingOptOut: 1,
				SensitiveDataProcessing: rep(12, 0), KnownChildSensitiveDataConsents: rep(2, 0),
				MspaCoveredTransaction: 2,
			},
		}},
		{"usnat Google UMP no opt-out", umpNoOptOut, &gpp.String{
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "BVQqAAAAAg"},
			USNat: &gpp.USNat{
				Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
				TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2,
				SensitiveDataProcessing: rep(12, 0), KnownChildSensitiveDataConsents: rep(2, 0),
				MspaCoveredTransaction: 2,
			},
		}},
		{"usnat byte-padded core and GPC false", briefUSNat, &gpp.String{
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "BVQqAAAAAgA.QA"},
			USNat: &gpp.USNat{
				Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
				TargetedAdvertisingOptOutNotice: 1, SaleOptOut: 2, SharingOptOut: 2, TargetedAdvertisingOptOut: 2,
				SensitiveDataProcessing: rep(12, 0), KnownChildSensitiveDataConsents: rep(2, 0),
				MspaCoveredTransaction: 2, GPC: ptr(false),
			},
		}},
		{"usnat Version 1 written with the v2 layout", wideV1, &gpp.String{
			// iabgpp-es#81: the CMP set MspaCoveredTransaction 1,
			// MspaOptOutOptionMode 2, MspaServiceProviderMode 1.
			Version: 1, SectionIDs: []int{7}, Sections: map[int]string{7: "BVAoAAAAAABk.QA"},
			USNat: &gpp.USNat{
				Version: 1, SharingNotice: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1,
				SaleOptOut: 2, SharingOptOut: 2,
				SensitiveDataProcessing: rep(16, 0), KnownChildSensitiveDataConsents: rep(3, 0),
				MspaCoveredTransaction: 1, MspaOptOutOptionMode: 2, MspaServiceProviderMode: 1, GPC: ptr(false),
			},
		}},
		{"usca opted out", uscaOptedOut, &gpp.String{
			Version: 1, SectionIDs: []int{8}, Sections: map[int]string{8: "BVVVVVVY"},
			USCA: &gpp.USCA{
				Version: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1,
				SaleOptOut: 1, SharingOptOut: 1, SensitiveDataProcessing: rep(9, 1),
				KnownChildSensitiveDataConsents: rep(2, 1), PersonalDataConsents: 1,
				MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2,
			},
		}},
		{"usca with GPC", uscaWithGPC, &gpp.String{
			Version: 1, SectionIDs: []int{8}, Sections: map[int]string{8: "BVqqqqpY.YA"},
			USCA: &gpp.USCA{
				Version: 1, SaleOptOutNotice: 1, SharingOptOutNotice: 1, SensitiveDataLimitUseNotice: 1,
				SaleOptOut: 2, SharingOptOut: 2, SensitiveDataProcessing: rep(9, 2),
				KnownChildSensitiveDataConsents: rep(2, 2), PersonalDataConsents: 2,
				MspaCoveredTransaction: 1, MspaOptOutOptionMode: 1, MspaServiceProviderMode: 2, GPC: ptr(true),
			},
		}},
		{"usca not applicable", uscaNA, &gpp.String{
			Version: 1, SectionIDs: []int{8}, Sections: map[int]string{8: "BAAAAACA"},
			USCA: &gpp.USCA{
				Version: 1, SensitiveDataProcessing: rep(9, 0), KnownChildSensitiveDataConsents: rep(2, 0),
				MspaCoveredTransaction: 2,
			},
		}},
		{"usnat and other US states kept raw", goGPPMultiState, &gpp.String{
			Version: 1, SectionIDs: []int{7, 9, 11, 12},
			Sections: map[int]string{7: "BSJgmkoZJSA.YA", 9: "BSFgmiU", 11: "BWJYJllA", 12: "BSFgmSZQ.YA"},
			USNat: &gpp.USNat{
				Version: 1, SharingNotice: 1, SharingOptOutNotice: 2, SensitiveDataProcessingOptOutNotice: 2,
				SensitiveDataLimitUseNotice: 1, SaleOptOut: 2,
				SensitiveDataProcessing:         []int{2, 1, 2, 2, 1, 0, 2, 2, 0, 1, 2, 1},
				KnownChildSensitiveDataConsents: []int{0, 2},
				PersonalDataConsents:            1, MspaCoveredTransaction: 1, MspaServiceProviderMode: 2,
				GPC: ptr(true),
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gpp.Decode(tt.in)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the public message
	}{
		{"empty", "", "gpp: empty string"},
		{"too long", strings.Repeat("A", gpp.MaxLength+1), "gpp: longer than 65536 bytes"},
		{"empty header", "~" + tcf, "gpp: header: empty"},
		{"header not base64", "DBA!", "gpp: header: not web-safe base64"},
		{"header padded with =", "DBABMA==~" + tcf, "gpp: header: not web-safe base64"},
		{"header wrong type", "CBABLA~BVVVVVVVVWA", "gpp: header: Type 2, want 3"},
		{"header version 2", "DCABLA~BVVVVVVVVWA", "gpp: header: unsupported Version 2"},
		{"header truncated at Version", "D", "gpp: header: truncated at Version"},
		{"header truncated at Sections count", "DB", "gpp: header: truncated at Sections"},
		{"header truncated in range item", "DBAB", "gpp: header: truncated at Sections"},
		{"header Fibonacci without end", "DBABAAAAAA", "gpp: header: Fibonacci integer too long in Sections"},
		{"header group wider than sections present", "DBAB5g~" + tcf, "gpp: header: names more sections than the 1 present"},
		{"header names a section that is missing", "DBABLA", "gpp: header: names more sections than the 0 present"},
		{"extra section", usnatOptedOut + "~1YNN", "gpp: header: names 1 sections, 2 present"},
		{"empty section", "DBABLA~", "gpp: section 7 is empty"},
		{"usnat empty core", "DBABLA~.YA", "gpp: usnat: empty core sub-section"},
		{"usnat core not base64", "DBABLA~BVVVVVV+VWA", "gpp: usnat: core sub-section not web-safe base64"},
		{"usnat truncated at SaleOptOut", "DBABLA~BVV", "gpp: usnat: truncated at SaleOptOut"},
		{"usnat truncated in SensitiveDataProcessing", "DBABLA~BVVVVVV", "gpp: usnat: truncated at SensitiveDataProcessing"},
		{"usnat truncated at MspaCoveredTransaction", "DBABLA~BVVVVVVVV", "gpp: usnat: truncated at MspaCoveredTransaction"},
		{"usnat v2 truncated", "DBABLA~CAAAAAAAAA", "gpp: usnat: truncated at KnownChildSensitiveDataConsents"},
		{"usnat version 3", "DBABLA~DSJgmkoZJSA.YA", "gpp: usnat: unsupported Version 3"},
		{"usnat version 0", "DBABLA~AAAAAAAAAA", "gpp: usnat: unsupported Version 0"},
		{"usnat undefined value 3", "DBABLA~B_VVVVVVVWA", "gpp: usnat: SharingNotice holds undefined value 3"},
		{"usnat repeated GPC", usnatWithGPC + ".YA", "gpp: usnat: repeated GPC sub-section"},
		{"usnat unknown sub-section type 2", usnatOptedOut + ".gA", "gpp: usnat: unknown SubsectionType 2"},
		{"usnat sub-section type 0", usnatOptedOut + ".GA", "gpp: usnat: unknown SubsectionType 0"},
		{"usnat empty sub-section", usnatOptedOut + ".", "gpp: usnat: empty sub-section"},
		{"usnat sub-section not base64", usnatOptedOut + ".Y=", "gpp: usnat: sub-section not web-safe base64"},
		{"usca truncated", "DBABBg~BVVVVVV", "gpp: usca: truncated at MspaOptOutOptionMode"},
		{"usca version 2", "DBABBg~CVVVVVVY", "gpp: usca: unsupported Version 2"},
		{"usca undefined value 3", "DBABBg~B_VVVVVY", "gpp: usca: SaleOptOutNotice holds undefined value 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gpp.Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode = %+v, want error %q", got, tt.want)
			}
			var e *garde.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *garde.Error", err, err)
			}
			if e.Code != garde.EInvalid {
				t.Errorf("code: got %v, want %v", e.Code, garde.EInvalid)
			}
			if e.Message != tt.want {
				t.Errorf("message: got %q, want %q", e.Message, tt.want)
			}
		})
	}
}
