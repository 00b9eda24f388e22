package tcf

import (
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// Segment types of the optional segments.
const (
	segDisclosedVendors = 1
	segAllowedVendors   = 2
	segPublisherTC      = 3
)

// maxRestrictedIDs bounds the vendor ids all publisher restrictions of one
// string may expand to (8 MiB of ints); range entries make a few bits stand
// for 65,535 ids.
const maxRestrictedIDs = 1 << 20

var segNames = map[int]string{
	segDisclosedVendors: "disclosed vendors",
	segAllowedVendors:   "allowed vendors",
	segPublisherTC:      "publisher TC",
}

// Decode reads a TC string: the core segment, then any optional segments
// (disclosed vendors, allowed vendors, publisher TC) in any order, separated
// by '.'. It checks structure, not policy: call Validate for that. Errors are
// *garde.Error with code garde.EInvalid.
func Decode(s string) (*TCString, error) {
	if s == "" {
		return nil, garde.Errorf(garde.EInvalid, "tc string: empty")
	}
	if len(s) > MaxLength {
		return nil, garde.Errorf(garde.EInvalid, "tc string: longer than %d characters", MaxLength)
	}
	segs := strings.Split(s, ".")
	r, err := newReader("core", segs[0])
	if err != nil {
		return nil, err
	}
	t := r.core()
	if r.err != nil {
		return nil, r.err
	}
	seen := map[int]bool{}
	for i, seg := range segs[1:] {
		r, err := newReader("optional", seg)
		if err != nil {
			return nil, garde.Errorf(garde.EInvalid, "segment %d: %s", i+2, garde.ErrorMessage(err))
		}
		typ := r.int(3, "SegmentType")
		name, known := segNames[typ]
		switch {
		case r.err != nil:
			return nil, r.err
		case !known:
			return nil, garde.Errorf(garde.EInvalid, "segment %d: unknown segment type %d", i+2, typ)
		case seen[typ]:
			return nil, garde.Errorf(garde.EInvalid, "segment %d: second %s segment", i+2, name)
		}
		seen[typ] = true
		r.seg = name
		switch typ {
		case segDisclosedVendors:
			t.DisclosedVendors = r.vendors("DisclosedVendors")
		case segAllowedVendors:
			t.AllowedVendors = r.vendors("AllowedVendors")
		case segPublisherTC:
			t.PublisherTC = r.publisherTC()
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	return t, nil
}

// core reads the core segment.
func (r *reader) core() *TCString {
	t := &TCString{}
	t.Version = r.int(6, "Version")
	if r.err == nil && t.Version != 2 {
		r.fail("unsupported version %d at bit 0 (Version)", t.Version)
		return nil
	}
	t.Created = r.time("Created")
	t.LastUpdated = r.time("LastUpdated")
	t.CmpID = r.int(12, "CmpId")
	t.CmpVersion = r.int(12, "CmpVersion")
	t.ConsentScreen = r.int(6, "ConsentScreen")
	t.ConsentLanguage = r.lang("ConsentLanguage")
	t.VendorListVersion = r.int(12, "VendorListVersion")
	t.PolicyVersion = r.int(6, "TcfPolicyVersion")
	t.IsServiceSpecific = r.bool("IsServiceSpecific")
	t.UseNonStandardTexts = r.bool("UseNonStandardTexts")
	t.SpecialFeatureOptIns = r.set(12, "SpecialFeatureOptIns")
	t.PurposesConsent = r.set(24, "PurposesConsent")
	t.PurposesLITransparency = r.set(24, "PurposesLITransparency")
	t.PurposeOneTreatment = r.bool("PurposeOneTreatment")
	t.PublisherCC = r.lang("PublisherCC")
	t.VendorConsents = r.vendors("VendorConsents")
	t.VendorLegitimateInterests = r.vendors("VendorLegitimateInterests")
	t.PublisherRestrictions = r.restrictions()
	return t
}

// time reads 36 bits of deciseconds since the Unix epoch.
func (r *reader) time(field string) time.Time {
	ds := r.int(36, field)
	return time.UnixMilli(int64(ds) * 100).UTC()
}

// vendors reads a vendor section: MaxVendorId, IsRangeEncoding, then a bit
// field or range entries.
func (r *reader) vendors(field string) []int {
	max := r.int(16, field)
	if r.bool(field + " IsRangeEncoding") {
		if r.err != nil {
			return nil
		}
		set := newIDSet(max)
		n := r.int(12, field+" NumEntries")
		for i := range n {
			lo, hi := r.rangeEntry(field, i+1, max)
			if r.err != nil {
				return nil
			}
			set.addRange(lo, hi)
		}
		return set.ids()
	}
	return r.set(max, field+" BitField")
}

// rangeEntry reads IsARange, StartOrOnlyVendorId and maybe EndVendorId, and
// checks 1 ≤ lo ≤ hi ≤ max.
func (r *reader) rangeEntry(field string, n, max int) (lo, hi int) {
	at := r.pos
	isRange := r.bool(field + " IsARange")
	lo = r.int(16, field+" StartOrOnlyVendorId")
	hi = lo
	if isRange {
		hi = r.int(16, field+" EndVendorId")
	}
	switch {
	case r.err != nil:
	case lo == 0:
		r.fail("vendor id 0 at bit %d (%s range entry %d)", at, field, n)
	case hi < lo:
		r.fail("range ends before it starts at bit %d (%s range entry %d)", at, field, n)
	case hi > max:
		r.fail("vendor id %d above the maximum %d at bit %d (%s range entry %d)", hi, max, at, field, n)
	}
	return lo, hi
}

// restrictions reads NumPubRestrictions and each PubRestrictionEntry.
// Entries with the same purpose and type are merged, as the IAB library
// does, in order of first appearance, each with its vendors sorted.
func (r *reader) restrictions() []Restriction {
	n := r.int(12, "NumPubRestrictions")
	var keys []int // purpose<<2 | type
	sets := map[int]idSet{}
	const field = "PublisherRestrictions"
	for range n {
		k := r.int(6, field+" PurposeId")<<2 | r.int(2, field+" RestrictionType")
		set, ok := sets[k]
		if !ok {
			set = newIDSet(MaxVendorID)
			sets[k] = set
			keys = append(keys, k)
		}
		entries := r.int(12, field+" NumEntries")
		for j := range entries {
			lo, hi := r.rangeEntry(field, j+1, MaxVendorID)
			if r.err != nil {
				return nil
			}
			set.addRange(lo, hi)
		}
	}
	out := make([]Restriction, 0, len(keys))
	total := 0
	for _, k := range keys {
		if total += sets[k].count(); total > maxRestrictedIDs {
			r.fail("restrictions before bit %d expand to more than %d vendor ids (%s)", r.pos, maxRestrictedIDs, field)
			return nil
		}
		out = append(out, Restriction{Purpose: k >> 2, Type: k & 3, Vendors: sets[k].ids()})
	}
	return out
}

// publisherTC reads the publisher purposes segment after its type.
func (r *reader) publisherTC() *PublisherTC {
	p := &PublisherTC{
		PubPurposesConsent:        r.set(24, "PubPurposesConsent"),
		PubPurposesLITransparency: r.set(24, "PubPurposesLITransparency"),
		NumCustomPurposes:         r.int(6, "NumCustomPurposes"),
	}
	p.CustomPurposesConsent = r.set(p.NumCustomPurposes, "CustomPurposesConsent")
	p.CustomPurposesLITransparency = r.set(p.NumCustomPurposes, "CustomPurposesLITransparency")
	return p
}
