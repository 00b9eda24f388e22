package tcf_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/tcf"
)

// valid is a TC string that passes Validate, with every segment.
func valid() *tcf.TCString {
	created := time.Date(2024, 5, 1, 12, 30, 15, 700_000_000, time.UTC)
	return &tcf.TCString{
		Version: 2, Created: created, LastUpdated: created.Add(time.Hour),
		CmpID: 300, CmpVersion: 7, ConsentScreen: 2, ConsentLanguage: "FR", VendorListVersion: 150,
		PolicyVersion: 5, IsServiceSpecific: true,
		SpecialFeatureOptIns: []int{1}, PurposesConsent: []int{1, 2, 3, 4, 7}, PurposesLITransparency: []int{2, 7, 8, 9, 10, 11},
		PublisherCC: "DE", VendorConsents: []int{1, 2, 3, 755, 1000}, VendorLegitimateInterests: []int{8, 9, 10, 11, 12, 13},
		PublisherRestrictions: []tcf.Restriction{
			{Purpose: 2, Type: tcf.RestrictionRequireLI, Vendors: []int{8, 9, 10}},
			{Purpose: 7, Type: tcf.RestrictionNotAllowed, Vendors: []int{755}},
		},
		DisclosedVendors: []int{1, 2, 3, 8, 9, 10, 11, 12, 13, 755, 1000},
		PublisherTC: &tcf.PublisherTC{
			PubPurposesConsent: []int{1, 3}, PubPurposesLITransparency: []int{7},
			NumCustomPurposes: 3, CustomPurposesConsent: []int{1, 3}, CustomPurposesLITransparency: []int{2},
		},
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	want := valid()
	s, err := tcf.Encode(want)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(s, "."); n != 2 {
		t.Errorf("got %d separators in %q, want 2 (core, disclosed vendors, publisher TC)", n, s)
	}
	got, err := tcf.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestEncodeOptionalSegmentsOnlyWhenSet(t *testing.T) {
	tc := valid()
	tc.DisclosedVendors, tc.PublisherTC = nil, nil
	s, err := tcf.Encode(tc)
	if err != nil || strings.Contains(s, ".") {
		t.Errorf("got %q, %v; want a core segment only", s, err)
	}
	tc.AllowedVendors = []int{} // present but empty
	s, _ = tcf.Encode(tc)
	got, err := tcf.Decode(s)
	if err != nil || got.AllowedVendors == nil || len(got.AllowedVendors) != 0 {
		t.Errorf("got %v, %v; want an empty allowed vendors segment", got.AllowedVendors, err)
	}
}

// TestEncodeChoosesShorter checks IsRangeEncoding (bit 229) for vendor
// lists where one encoding is clearly shorter.
func TestEncodeChoosesShorter(t *testing.T) {
	tests := []struct {
		name    string
		vendors []int
		isRange bool
	}{
		{"none", nil, false},
		{"dense", seq(1, 40), false},
		{"one far vendor", []int{1000}, true},
		{"long run", seq(10, 2000), true},
		{"many singles", []int{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := valid()
			v.VendorConsents = tc.vendors
			s, err := tcf.Encode(v)
			if err != nil {
				t.Fatal(err)
			}
			core, _, _ := strings.Cut(s, ".")
			if got := bitsOf(t, core)[229] == '1'; got != tc.isRange {
				t.Errorf("IsRangeEncoding = %v, want %v", got, tc.isRange)
			}
			d, err := tcf.Decode(s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sortedIDs(tc.vendors), d.VendorConsents); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*tcf.TCString)
		want   string
	}{
		{"version", func(t *tcf.TCString) { t.Version = 1 }, "Version 1 is not supported"},
		{"zero created", func(t *tcf.TCString) { t.Created = time.Time{} }, "Created is not set"},
		{"cmp id", func(t *tcf.TCString) { t.CmpID = 4096 }, "CmpId 4096 does not fit in 12 bits"},
		{"language", func(t *tcf.TCString) { t.ConsentLanguage = "ENG" }, "ConsentLanguage must be two letters"},
		{"publisher cc", func(t *tcf.TCString) { t.PublisherCC = "1A" }, "PublisherCC must be two letters"},
		{"purpose 25", func(t *tcf.TCString) { t.PurposesConsent = []int{25} }, "PurposesConsent holds an id outside 1..24"},
		{"feature 0", func(t *tcf.TCString) { t.SpecialFeatureOptIns = []int{0} }, "SpecialFeatureOptIns holds an id outside 1..12"},
		{"vendor 65536", func(t *tcf.TCString) { t.VendorConsents = []int{65536} }, "VendorConsents holds an id outside 1..65535"},
		{"restriction type", func(t *tcf.TCString) { t.PublisherRestrictions[0].Type = 4 }, "RestrictionType 4 does not fit in 2 bits"},
		{"custom purpose", func(t *tcf.TCString) { t.PublisherTC.CustomPurposesConsent = []int{4} }, "CustomPurposesConsent holds an id outside 1..3"},
		{"nil", nil, "nothing to encode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v *tcf.TCString
			if tc.change != nil {
				v = valid()
				tc.change(v)
			}
			s, err := tcf.Encode(v)
			var e *garde.Error
			if !errors.As(err, &e) || e.Code != garde.EInvalid {
				t.Fatalf("Encode = %q, %v; want a garde.EInvalid error", s, err)
			}
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("got %q, want it to contain %q", e.Message, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*tcf.TCString)
		want   string // "" means valid
	}{
		{"valid", func(*tcf.TCString) {}, ""},
		{"version", func(t *tcf.TCString) { t.Version = 3 }, "version 3 is not 2"},
		{"policy version 2", func(t *tcf.TCString) { t.PolicyVersion = 2 }, "policy version 2 is below 4"},
		{"LI purpose 3", func(t *tcf.TCString) { t.PurposesLITransparency = []int{2, 3} }, "PurposesLITransparency: legitimate interest is not allowed for purpose 3"},
		{"LI purpose 6", func(t *tcf.TCString) { t.PurposesLITransparency = []int{6} }, "not allowed for purpose 6"},
		{"LI purpose 1", func(t *tcf.TCString) { t.PurposesLITransparency = []int{1} }, "not allowed for purpose 1"},
		{"publisher LI purpose 4", func(t *tcf.TCString) { t.PublisherTC.PubPurposesLITransparency = []int{4} }, "PubPurposesLITransparency: legitimate interest is not allowed for purpose 4"},
		{"purpose 12", func(t *tcf.TCString) { t.PurposesConsent = []int{12} }, "PurposesConsent: id 12 is outside 1..11"},
		{"special feature 3", func(t *tcf.TCString) { t.SpecialFeatureOptIns = []int{3} }, "SpecialFeatureOptIns: id 3 is outside 1..2"},
		{"unsorted vendors", func(t *tcf.TCString) { t.VendorConsents = []int{5, 3} }, "VendorConsents: ids are not sorted"},
		{"duplicate vendors", func(t *tcf.TCString) { t.VendorLegitimateInterests = []int{3, 3} }, "VendorLegitimateInterests: ids are not sorted"},
		{"require LI on purpose 5", func(t *tcf.TCString) { t.PublisherRestrictions[0].Purpose = 5 }, "purpose 5 may not be restricted to legitimate interest"},
		{"restriction type 3", func(t *tcf.TCString) { t.PublisherRestrictions[1].Type = 3 }, "restriction type 3 is undefined"},
		{"restriction purpose 0", func(t *tcf.TCString) { t.PublisherRestrictions[1].Purpose = 0 }, "purpose 0 is outside 1..11"},
		{"two types for one vendor", func(t *tcf.TCString) {
			t.PublisherRestrictions = append(t.PublisherRestrictions, tcf.Restriction{Purpose: 2, Type: tcf.RestrictionNotAllowed, Vendors: []int{9}})
		}, "vendor 9 has two restriction types (2 and 0) for purpose 2"},
		{"restrictions in a global string", func(t *tcf.TCString) { t.IsServiceSpecific, t.PublisherTC = false, nil }, "publisher restrictions are only allowed in a service-specific string"},
		{"publisher TC in a global string", func(t *tcf.TCString) { t.IsServiceSpecific, t.PublisherRestrictions = false, nil }, "publisher TC segment is only allowed in a service-specific string"},
		{"updated before created", func(t *tcf.TCString) { t.LastUpdated = t.Created.Add(-time.Second) }, "LastUpdated is before Created"},
		{"lower-case language", func(t *tcf.TCString) { t.ConsentLanguage = "fr" }, "ConsentLanguage must be two capital letters"},
		{"custom purpose beyond count", func(t *tcf.TCString) { t.PublisherTC.CustomPurposesLITransparency = []int{4} }, "CustomPurposesLITransparency: id 4 is outside 1..3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := valid()
			tc.change(v)
			err := v.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if garde.ErrorCode(err) != garde.EInvalid || !strings.Contains(garde.ErrorMessage(err), tc.want) {
				t.Errorf("got %v, want an invalid error containing %q", err, tc.want)
			}
		})
	}
}

// TestValidateKnown: the published example strings predate TCF v2.2
// (policy version 2) and are invalid today.
func TestValidateKnown(t *testing.T) {
	d, err := tcf.Decode(known[0].s)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "policy version 2 is below 4") {
		t.Errorf("got %v, want a policy version error", err)
	}
}

func TestLookups(t *testing.T) {
	v := valid()
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"purpose 1 consent", v.PurposeConsent(1), true},
		{"purpose 5 consent", v.PurposeConsent(5), false},
		{"purpose 7 LI", v.PurposeLI(7), true},
		{"purpose 3 LI", v.PurposeLI(3), false},
		{"special feature 1", v.SpecialFeature(1), true},
		{"special feature 2", v.SpecialFeature(2), false},
		{"vendor 755 consent", v.VendorConsent(755), true},
		{"vendor 756 consent", v.VendorConsent(756), false},
		{"vendor 12 LI", v.VendorLI(12), true},
		{"vendor 1 LI", v.VendorLI(1), false},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if typ, ok := v.Restricted(2, 9); !ok || typ != tcf.RestrictionRequireLI {
		t.Errorf("Restricted(2, 9) = %d, %v; want %d, true", typ, ok, tcf.RestrictionRequireLI)
	}
	if _, ok := v.Restricted(2, 755); ok {
		t.Errorf("Restricted(2, 755) = true, want false")
	}
}
