package tcf_test

import (
	"math/rand/v2"
	"testing"

	"github.com/prebid/go-gdpr/consentconstants"
	gdpr "github.com/prebid/go-gdpr/vendorconsent/tcf2"

	"github.com/garde-privacy/garde/consent/tcf"
)

// TestGoGDPR cross-checks with prebid/go-gdpr's TCF v2 parser (v1.12.0), the
// one Prebid Server runs: it parses strings this package encodes, and both
// parsers agree on strings published with go-gdpr's and the IAB's tests.
func TestGoGDPR(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 200 {
		want := randomTC(r)
		s, err := tcf.Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		compareGoGDPR(t, s, normalize(want))
		if t.Failed() {
			t.Fatalf("random string %d: %s", i, s)
		}
	}
	for _, k := range known {
		t.Run(k.name, func(t *testing.T) {
			d, err := tcf.Decode(k.s)
			if err != nil {
				t.Fatal(err)
			}
			compareGoGDPR(t, unpadded(k.s), d)
		})
	}
}

func compareGoGDPR(t *testing.T, s string, want *tcf.TCString) {
	t.Helper()
	parsed, err := gdpr.ParseString(s)
	if err != nil {
		t.Fatalf("go-gdpr ParseString(%q): %v", s, err)
	}
	got := parsed.(gdpr.ConsentMetadata)
	check := func(field string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s: go-gdpr got %v, want %v", field, got, want)
		}
	}
	check("Version", int(got.Version()), want.Version)
	check("Created", got.Created().UnixMilli(), want.Created.UnixMilli())
	check("LastUpdated", got.LastUpdated().UnixMilli(), want.LastUpdated.UnixMilli())
	check("CmpID", int(got.CmpID()), want.CmpID)
	check("CmpVersion", int(got.CmpVersion()), want.CmpVersion)
	check("ConsentScreen", int(got.ConsentScreen()), want.ConsentScreen)
	check("ConsentLanguage", got.ConsentLanguage(), want.ConsentLanguage)
	check("VendorListVersion", int(got.VendorListVersion()), want.VendorListVersion)
	check("PolicyVersion", int(got.TCFPolicyVersion()), want.PolicyVersion)
	check("PurposeOneTreatment", got.PurposeOneTreatment(), want.PurposeOneTreatment)
	for id := 1; id <= 24; id++ {
		p := consentconstants.Purpose(id)
		check("PurposeConsent", got.PurposeAllowed(p), want.PurposeConsent(id))
		check("PurposeLI", got.PurposeLITransparency(p), want.PurposeLI(id))
	}
	for id := 1; id <= 12; id++ {
		check("SpecialFeature", got.SpecialFeatureOptIn(uint16(id)), want.SpecialFeature(id))
	}
	last := 10
	for _, l := range [][]int{want.VendorConsents, want.VendorLegitimateInterests} {
		if len(l) > 0 {
			last = max(last, l[len(l)-1]+10)
		}
	}
	for id := 1; id <= last; id++ {
		check("VendorConsent", got.VendorConsent(uint16(id)), want.VendorConsent(id))
		check("VendorLI", got.VendorLegitInterest(uint16(id)), want.VendorLI(id))
	}
	for _, r := range want.PublisherRestrictions {
		for _, v := range r.Vendors {
			check("PublisherRestriction", got.CheckPubRestriction(uint8(r.Purpose), uint8(r.Type), uint16(v)), true)
		}
	}
}
