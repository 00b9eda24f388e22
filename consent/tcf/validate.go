package tcf

import (
	"fmt"
	"slices"
	"strings"

	"github.com/garde-privacy/garde"
)

// noLI are the purposes for which TCF v2.2 allows no legitimate interest:
// purpose 1 (store/access on a device) always needs consent, and v2.2
// removed legitimate interest for purposes 3-6 (ad and content profiles).
// The same purposes may not be restricted to "require legitimate interest".
var noLI = []int{1, 3, 4, 5, 6}

// Validate checks t against the TCF v2.2 policy and reports every problem
// (see Problems) in one *garde.Error of code garde.EInvalid, or returns nil.
func (t *TCString) Validate() error {
	p := t.Problems()
	if len(p) == 0 {
		return nil
	}
	return garde.Errorf(garde.EInvalid, "tc string: %s", strings.Join(p, "; "))
}

// Problems lists, one sentence each, what makes t invalid under the TCF v2.2
// policy; it is empty for a valid t. The checks:
//
//   - Version is 2 and PolicyVersion at least 4 (strings with an older policy
//     version are invalid since 30 September 2023);
//   - purposes are 1..11 and special features 1..2, as defined in v2.2;
//   - no legitimate interest for purposes 1 and 3-6, for vendors
//     (PurposesLITransparency) or for the publisher (PublisherTC);
//   - publisher restrictions name a defined purpose, a defined type (0-2),
//     never "require legitimate interest" for purposes 1 and 3-6, never two
//     types for one vendor and purpose, and appear only in service-specific
//     strings, as does the publisher TC segment;
//   - languages and country codes are two letters, LastUpdated is not before
//     Created, and id lists are sorted, without duplicates, within range.
func (t *TCString) Problems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if t.Version != 2 {
		add("version %d is not 2", t.Version)
	}
	if t.PolicyVersion < MinPolicyVersion {
		add("policy version %d is below %d, invalid under TCF v2.2", t.PolicyVersion, MinPolicyVersion)
	}
	if t.LastUpdated.Before(t.Created) {
		add("LastUpdated is before Created")
	}
	for _, l := range []struct{ name, v string }{{"ConsentLanguage", t.ConsentLanguage}, {"PublisherCC", t.PublisherCC}} {
		if len(l.v) != 2 || !isUpper(l.v[0]) || !isUpper(l.v[1]) {
			add("%s must be two capital letters", l.name)
		}
	}
	checkIDs(add, "SpecialFeatureOptIns", t.SpecialFeatureOptIns, NumSpecialFeatures)
	checkIDs(add, "PurposesConsent", t.PurposesConsent, NumPurposes)
	checkIDs(add, "PurposesLITransparency", t.PurposesLITransparency, NumPurposes)
	checkNoLI(add, "PurposesLITransparency", t.PurposesLITransparency)
	checkIDs(add, "VendorConsents", t.VendorConsents, MaxVendorID)
	checkIDs(add, "VendorLegitimateInterests", t.VendorLegitimateInterests, MaxVendorID)
	checkIDs(add, "DisclosedVendors", t.DisclosedVendors, MaxVendorID)
	checkIDs(add, "AllowedVendors", t.AllowedVendors, MaxVendorID)
	t.checkRestrictions(add)
	if pub := t.PublisherTC; pub != nil {
		if !t.IsServiceSpecific {
			add("a publisher TC segment is only allowed in a service-specific string")
		}
		checkIDs(add, "PubPurposesConsent", pub.PubPurposesConsent, NumPurposes)
		checkIDs(add, "PubPurposesLITransparency", pub.PubPurposesLITransparency, NumPurposes)
		checkNoLI(add, "PubPurposesLITransparency", pub.PubPurposesLITransparency)
		if pub.NumCustomPurposes < 0 || pub.NumCustomPurposes > 63 {
			add("NumCustomPurposes %d is outside 0..63", pub.NumCustomPurposes)
		}
		checkIDs(add, "CustomPurposesConsent", pub.CustomPurposesConsent, pub.NumCustomPurposes)
		checkIDs(add, "CustomPurposesLITransparency", pub.CustomPurposesLITransparency, pub.NumCustomPurposes)
	}
	return p
}

func (t *TCString) checkRestrictions(add func(string, ...any)) {
	if len(t.PublisherRestrictions) > 0 && !t.IsServiceSpecific {
		add("publisher restrictions are only allowed in a service-specific string")
	}
	// byPurpose[p][typ] holds the vendors restricted with typ on purpose p.
	byPurpose := map[int]*[4]idSet{}
	for i, r := range t.PublisherRestrictions {
		name := fmt.Sprintf("PublisherRestrictions[%d]", i)
		if r.Purpose < 1 || r.Purpose > NumPurposes {
			add("%s: purpose %d is outside 1..%d", name, r.Purpose, NumPurposes)
		}
		if r.Type < RestrictionNotAllowed || r.Type > RestrictionRequireLI {
			add("%s: restriction type %d is undefined", name, r.Type)
			continue
		}
		if r.Type == RestrictionRequireLI && slices.Contains(noLI, r.Purpose) {
			add("%s: purpose %d may not be restricted to legitimate interest", name, r.Purpose)
		}
		checkIDs(add, name+" vendors", r.Vendors, MaxVendorID)
		sets := byPurpose[r.Purpose]
		if sets == nil {
			sets = &[4]idSet{}
			byPurpose[r.Purpose] = sets
		}
		if sets[r.Type] == nil {
			sets[r.Type] = newIDSet(MaxVendorID)
		}
		for _, v := range r.Vendors {
			if v < 1 || v > MaxVendorID {
				continue // reported by checkIDs
			}
			if other := conflict(sets, r.Type, v); other >= 0 {
				add("%s: vendor %d has two restriction types (%d and %d) for purpose %d", name, v, other, r.Type, r.Purpose)
				break
			}
			sets[r.Type].addRange(v, v)
		}
	}
}

// conflict returns a restriction type other than typ under which vendor is
// already restricted, or -1.
func conflict(sets *[4]idSet, typ, vendor int) int {
	for other, s := range sets {
		if other != typ && s != nil && s.has(vendor) {
			return other
		}
	}
	return -1
}

// checkIDs reports ids outside 1..max and lists that are not strictly
// ascending.
func checkIDs(add func(string, ...any), field string, ids []int, max int) {
	for i, id := range ids {
		if id < 1 || id > max {
			add("%s: id %d is outside 1..%d", field, id, max)
			return
		}
		if i > 0 && ids[i-1] >= id {
			add("%s: ids are not sorted ascending without duplicates", field)
			return
		}
	}
}

func checkNoLI(add func(string, ...any), field string, ids []int) {
	for _, id := range ids {
		if slices.Contains(noLI, id) {
			add("%s: legitimate interest is not allowed for purpose %d", field, id)
		}
	}
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
