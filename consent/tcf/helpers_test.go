package tcf_test

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/consent/tcf"
)

// quickDiff is cmp.Diff with a fast path: cmp takes most of a second on lists of
// thousands of vendor ids.
func quickDiff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	return gocmp.Diff(want, got)
}

// known are real TC strings with decoded values published alongside them:
// the IAB's Java library tests (iabtcf-java TCStringV2Test), prebid/go-gdpr's
// tests, the TCF v2 specification's macro example and the GDPR::IAB::TCFv2
// documentation. want lists the fields (JSON names) the source asserts.
var known = []struct {
	name string
	s    string
	want map[string]any
}{
	{"iabtcf-java all core fields", "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA", map[string]any{
		"version": 2, "created": "2020-01-26T17:01:00Z", "lastUpdated": "2021-02-02T17:01:00Z",
		"cmpId": 675, "cmpVersion": 2, "consentScreen": 1, "vendorListVersion": 15, "policyVersion": 2,
		"consentLanguage": "EN", "publisherCountryCode": "AA", "isServiceSpecific": false,
		"purposeOneTreatment": true, "useNonStandardTexts": false, "specialFeatureOptins": []int{1},
		"purposeConsents": []int{2, 10}, "purposeLegitimateInterests": []int{2, 9},
	}},
	{"iabtcf-java bit fields", "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA", map[string]any{
		"purposeConsents":           []int{3, 4, 5, 6, 7, 8, 9},
		"vendorConsents":            []int{23, 37, 47, 48, 53, 65, 98},
		"vendorLegitimateInterests": []int{37, 47, 48, 53, 65, 98, 129},
	}},
	{"iabtcf-java disclosed and allowed vendors", "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA", map[string]any{
		"vendorsAllowed":   []int{12, 23, 37, 47, 48, 53},
		"vendorsDisclosed": []int{23, 37, 47, 48, 53, 65, 98, 129},
	}},
	{"iabtcf-java all segments, padded", "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA.cAAAAAAAITg=", map[string]any{
		"publisherTC": map[string]any{
			"publisherConsents": []int{1}, "publisherLegitimateInterests": []int{24}, "numCustomPurposes": 2,
			"publisherCustomConsents": []int{2}, "publisherCustomLegitimateInterests": []int{1, 2},
		},
	}},
	{"iabtcf-java range-encoded vendor LI", "COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA", map[string]any{
		"vendorLegitimateInterests": []int{128},
	}},
	{"iabtcf-java two ranges", "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAYFfAV-BVkAGBVYFWAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw", map[string]any{
		"vendorConsents": []int{702, 703},
	}},
	{"iabtcf-java one range", "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAQFfgUbABAUaAAA", map[string]any{
		"vendorConsents": []int{703},
	}},
	{"iabtcf-java purposes 1 and 2", "COwxsONOwxsONKpAAAENAdCAAMAAAAAAAAAAAAAAAAAA", map[string]any{
		"purposeConsents": []int{1, 2},
	}},
	{"spec macro example", "COvFyGBOvFyGBAbAAAENAPCAAOAAAAAAAAAAAEEUACCKAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw", map[string]any{
		"cmpId": 27, "purposeConsents": []int{1, 2, 3}, "vendorConsents": []int{2, 6, 8},
	}},
	{"go-gdpr created", "COvcSpYOvcSpYC9AAAENAPCAAAAAAAAAAAAACvwDQABAAIAAYABIAC4AJQAagA9ACEAPgAjIBJoCvAK-AAAAAA", map[string]any{
		"created": "2020-02-27T19:51:49.6Z", "lastUpdated": "2020-02-27T19:51:49.6Z",
	}},
	{"go-gdpr large CmpId", "COyiBqdOyiBqdObAAAENAfCIAP8AAH-AAAAAB4AXQQgEAAAgoAAAAABAIYQUAAAAAAAAAAAAAAAIQIQCxIvkgQMAAAABgAIAAAAAAAAAAABAZAkAAA", map[string]any{
		"cmpId": 923,
	}},
	{"go-gdpr large CmpVersion", "COyiCPlOyiCPlKxMIAENAfCAAAAAAAAAAAAAAAAAAAAA", map[string]any{"cmpVersion": 776}},
	{"go-gdpr large ConsentScreen", "COyiFYuOyiFYuDKAA4ENAfCAAAAAAAAAAAAAAAAAAAAA", map[string]any{"consentScreen": 56}},
	{"go-gdpr language BG", "COyiHgFOyiHgFN4ABABGAPCAAAAAAAAAAAAAAFAAAAoAAAA", map[string]any{"consentLanguage": "BG"}},
	{"go-gdpr language SV", "COyiHgFOyiHgFN4ABASVAPCAAAAAAAAAAAAAAFAAAAoAAAA", map[string]any{"consentLanguage": "SV"}},
	{"go-gdpr purpose one treatment and LI", "COx3XOeOx3XOeLkAAAENAfCIAAAAAHgAAIAAAAAAAAAA", map[string]any{
		"purposeOneTreatment": true, "specialFeatureOptins": []int{1}, "purposeLegitimateInterests": []int{2, 3, 4, 5},
	}},
	{"GDPR::IAB::TCFv2 publisher restriction", "COwAdDhOwAdDhN4ABAENAPCgAAQAAv___wAAAFP_AAp_4AI6ACACAA", map[string]any{
		"publisherRestrictions": []map[string]any{{"purposeId": 7, "restrictionType": 1, "vendors": []int{32}}},
	}},
}

// randomTC returns a structurally valid TCString that both reference
// implementations accept: CmpID ≥ 2, VendorListVersion ≥ 1, restrictions with a vendor, purpose
// 1..24 and type 0..2, sparse and dense vendor lists so both vendor
// encodings are exercised.
func randomTC(r *rand.Rand) *tcf.TCString {
	letters := func() string { return string([]byte{byte('A' + r.IntN(26)), byte('A' + r.IntN(26))}) }
	created := time.UnixMilli(r.Int64N(1<<36-1) * 100).UTC()
	t := &tcf.TCString{
		Version: 2, Created: created, LastUpdated: created.Add(time.Duration(r.IntN(1e6)) * 100 * time.Millisecond),
		CmpID: 2 + r.IntN(4094), CmpVersion: r.IntN(4096), ConsentScreen: r.IntN(64),
		ConsentLanguage: letters(), VendorListVersion: 1 + r.IntN(4095), PolicyVersion: r.IntN(64),
		IsServiceSpecific: r.IntN(2) == 1, UseNonStandardTexts: r.IntN(2) == 1,
		SpecialFeatureOptIns: randomIDs(r, 12, 0), PurposesConsent: randomIDs(r, 24, 0),
		PurposesLITransparency: randomIDs(r, 24, 0), PurposeOneTreatment: r.IntN(2) == 1,
		PublisherCC:               letters(),
		VendorConsents:            randomVendors(r),
		VendorLegitimateInterests: randomVendors(r),
		PublisherRestrictions:     []tcf.Restriction{},
	}
	if t.LastUpdated.UnixMilli()/100 >= 1<<36 {
		t.LastUpdated = t.Created
	}
	for range r.IntN(4) {
		v := randomVendors(r)
		if len(v) == 0 {
			v = []int{1 + r.IntN(3000)}
		}
		t.PublisherRestrictions = append(t.PublisherRestrictions, tcf.Restriction{Purpose: 1 + r.IntN(24), Type: r.IntN(3), Vendors: v})
	}
	if r.IntN(2) == 1 {
		t.DisclosedVendors = randomVendors(r)
	}
	if r.IntN(3) == 1 {
		t.AllowedVendors = randomVendors(r)
	}
	if r.IntN(2) == 1 {
		n := r.IntN(64)
		t.PublisherTC = &tcf.PublisherTC{
			PubPurposesConsent: randomIDs(r, 24, 0), PubPurposesLITransparency: randomIDs(r, 24, 0),
			NumCustomPurposes: n, CustomPurposesConsent: randomIDs(r, n, 0), CustomPurposesLITransparency: randomIDs(r, n, 0),
		}
	}
	return t
}

// randomIDs picks ids from 1..n, each with probability 1/2 (or 1/every).
func randomIDs(r *rand.Rand, n, every int) []int {
	if every < 2 {
		every = 2
	}
	ids := []int{}
	for id := 1; id <= n; id++ {
		if r.IntN(every) == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// randomVendors mixes empty, sparse (range-friendly) and dense (bit-field
// friendly) vendor lists, with a long run now and then.
func randomVendors(r *rand.Rand) []int {
	switch r.IntN(5) {
	case 0:
		return []int{}
	case 1:
		return randomIDs(r, 1+r.IntN(3000), 200)
	case 2:
		lo := 1 + r.IntN(1000)
		return append(randomIDs(r, lo, 50), seq(lo+1, lo+r.IntN(2000))...)
	default:
		return randomIDs(r, 1+r.IntN(1500), 2+r.IntN(3))
	}
}

func seq(lo, hi int) []int {
	var ids []int
	for id := lo; id <= hi; id++ {
		ids = append(ids, id)
	}
	return ids
}

// normalize returns t as the IAB's model sees it: id lists sorted and
// non-nil, restrictions merged by (purpose, type), without empty ones,
// sorted.
func normalize(t *tcf.TCString) *tcf.TCString {
	c := *t
	for _, l := range []*[]int{&c.SpecialFeatureOptIns, &c.PurposesConsent, &c.PurposesLITransparency, &c.VendorConsents, &c.VendorLegitimateInterests} {
		*l = sortedIDs(*l)
	}
	if c.DisclosedVendors != nil {
		c.DisclosedVendors = sortedIDs(c.DisclosedVendors)
	}
	if c.AllowedVendors != nil {
		c.AllowedVendors = sortedIDs(c.AllowedVendors)
	}
	merged := map[[2]int][]int{}
	for _, r := range t.PublisherRestrictions {
		k := [2]int{r.Purpose, r.Type}
		merged[k] = append(merged[k], r.Vendors...)
	}
	c.PublisherRestrictions = []tcf.Restriction{}
	for k, v := range merged {
		if len(v) > 0 {
			c.PublisherRestrictions = append(c.PublisherRestrictions, tcf.Restriction{Purpose: k[0], Type: k[1], Vendors: sortedIDs(v)})
		}
	}
	slices.SortFunc(c.PublisherRestrictions, func(a, b tcf.Restriction) int {
		return cmp.Or(cmp.Compare(a.Purpose, b.Purpose), cmp.Compare(a.Type, b.Type))
	})
	if p := t.PublisherTC; p != nil {
		c.PublisherTC = &tcf.PublisherTC{
			PubPurposesConsent: sortedIDs(p.PubPurposesConsent), PubPurposesLITransparency: sortedIDs(p.PubPurposesLITransparency),
			NumCustomPurposes: p.NumCustomPurposes, CustomPurposesConsent: sortedIDs(p.CustomPurposesConsent),
			CustomPurposesLITransparency: sortedIDs(p.CustomPurposesLITransparency),
		}
	}
	return &c
}

func sortedIDs(ids []int) []int {
	out := append([]int{}, ids...)
	slices.Sort(out)
	return slices.Compact(out)
}

// unpadded drops '=' padding, which the IAB's JavaScript decoder refuses.
func unpadded(s string) string {
	parts := strings.Split(s, ".")
	for i := range parts {
		parts[i] = strings.TrimRight(parts[i], "=")
	}
	return strings.Join(parts, ".")
}
