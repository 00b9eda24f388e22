package tcf

import (
	"slices"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// maxDeciseconds is the largest time a 36-bit field holds.
const maxDeciseconds = 1<<36 - 1

// Encode writes t as a TC string: the core segment, then the disclosed
// vendors, allowed vendors and publisher TC segments when they are non-nil.
// It refuses (garde.EInvalid) only what the format cannot represent, such as
// a CmpID above 4095 or a purpose id above 24; policy is Validate's job, so
// an invalid but representable signal can be written, e.g. for tests.
// Id lists need not be sorted; Encode sorts and de-duplicates a copy.
func Encode(t *TCString) (string, error) {
	if t == nil {
		return "", garde.Errorf(garde.EInvalid, "tc string: nothing to encode")
	}
	e := &encoder{}
	segs := []string{e.core(t)}
	if t.DisclosedVendors != nil {
		segs = append(segs, e.vendorSegment(segDisclosedVendors, "DisclosedVendors", t.DisclosedVendors))
	}
	if t.AllowedVendors != nil {
		segs = append(segs, e.vendorSegment(segAllowedVendors, "AllowedVendors", t.AllowedVendors))
	}
	if t.PublisherTC != nil {
		segs = append(segs, e.publisherTC(t.PublisherTC))
	}
	if e.err != nil {
		return "", e.err
	}
	return strings.Join(segs, "."), nil
}

// encoder checks each value against its field width; the first failure
// sticks in err.
type encoder struct {
	err *garde.Error
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = garde.Errorf(garde.EInvalid, "encode: "+format, args...)
	}
}

// int writes v in n bits, refusing values that do not fit.
func (e *encoder) int(w *writer, field string, v, n int) {
	if v < 0 || v >= 1<<n {
		e.fail("%s %d does not fit in %d bits", field, v, n)
	}
	w.int(v, n)
}

// ids returns a sorted copy of ids without duplicates, refusing ids outside
// 1..max.
func (e *encoder) ids(field string, ids []int, max int) []int {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && (out[0] < 1 || out[len(out)-1] > max) {
		e.fail("%s holds an id outside 1..%d", field, max)
		return nil
	}
	return out
}

func (e *encoder) set(w *writer, field string, ids []int, n int) {
	w.set(e.ids(field, ids, n), n)
}

func (e *encoder) time(w *writer, field string, t time.Time) {
	ms := t.UnixMilli()
	if t.IsZero() || ms < 0 || (ms+50)/100 > maxDeciseconds {
		e.fail("%s is not set or outside 1970..2187", field)
		w.int(0, 36)
		return
	}
	w.int(int((ms+50)/100), 36)
}

func (e *encoder) lang(w *writer, field, s string) {
	s = strings.ToUpper(s)
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		e.fail("%s must be two letters", field)
		s = "AA"
	}
	w.lang(s)
}

func (e *encoder) core(t *TCString) string {
	w := &writer{}
	if t.Version != 2 {
		e.fail("Version %d is not supported (only 2)", t.Version)
	}
	w.int(2, 6)
	e.time(w, "Created", t.Created)
	e.time(w, "LastUpdated", t.LastUpdated)
	e.int(w, "CmpId", t.CmpID, 12)
	e.int(w, "CmpVersion", t.CmpVersion, 12)
	e.int(w, "ConsentScreen", t.ConsentScreen, 6)
	e.lang(w, "ConsentLanguage", t.ConsentLanguage)
	e.int(w, "VendorListVersion", t.VendorListVersion, 12)
	e.int(w, "TcfPolicyVersion", t.PolicyVersion, 6)
	w.bool(t.IsServiceSpecific)
	w.bool(t.UseNonStandardTexts)
	e.set(w, "SpecialFeatureOptIns", t.SpecialFeatureOptIns, 12)
	e.set(w, "PurposesConsent", t.PurposesConsent, 24)
	e.set(w, "PurposesLITransparency", t.PurposesLITransparency, 24)
	w.bool(t.PurposeOneTreatment)
	e.lang(w, "PublisherCC", t.PublisherCC)
	e.vendors(w, "VendorConsents", t.VendorConsents)
	e.vendors(w, "VendorLegitimateInterests", t.VendorLegitimateInterests)
	e.restrictions(w, t.PublisherRestrictions)
	return w.String()
}

func (e *encoder) vendorSegment(typ int, field string, ids []int) string {
	w := &writer{}
	w.int(typ, 3)
	e.vendors(w, field, ids)
	return w.String()
}

// runs splits sorted ids into maximal runs of consecutive ids.
func runs(ids []int) [][2]int {
	var out [][2]int
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		out = append(out, [2]int{ids[i], ids[j]})
		i = j + 1
	}
	return out
}

// rangeBits is the size of NumEntries and the range entries for rs.
func rangeBits(rs [][2]int) int {
	n := 12
	for _, r := range rs {
		n += 17
		if r[0] != r[1] {
			n += 16
		}
	}
	return n
}

func writeRanges(w *writer, rs [][2]int) {
	w.int(len(rs), 12)
	for _, r := range rs {
		w.bool(r[0] != r[1])
		w.int(r[0], 16)
		if r[0] != r[1] {
			w.int(r[1], 16)
		}
	}
}

// vendors writes a vendor section in the shorter of the two encodings; a tie
// goes to the bit field.
func (e *encoder) vendors(w *writer, field string, ids []int) {
	ids = e.ids(field, ids, MaxVendorID)
	max := 0
	if len(ids) > 0 {
		max = ids[len(ids)-1]
	}
	w.int(max, 16)
	rs := runs(ids)
	if len(rs) < 1<<12 && rangeBits(rs) < max {
		w.bool(true)
		writeRanges(w, rs)
		return
	}
	w.bool(false)
	w.set(ids, max)
}

// restrictions merges entries with the same purpose and type, as Decode
// does and as parsers that key restrictions by (purpose, type) expect; an
// entry needing more than 4095 range entries is split.
func (e *encoder) restrictions(w *writer, rs []Restriction) {
	type entry struct {
		purpose, typ int
		runs         [][2]int
	}
	var keys [][2]int
	vendors := map[[2]int][]int{}
	for _, r := range rs {
		k := [2]int{r.Purpose, r.Type}
		if _, ok := vendors[k]; !ok {
			keys = append(keys, k)
		}
		vendors[k] = append(vendors[k], r.Vendors...)
	}
	var entries []entry
	for _, k := range keys {
		rs := runs(e.ids("PublisherRestrictions Vendors", vendors[k], MaxVendorID))
		for len(rs) >= 1<<12 {
			entries = append(entries, entry{k[0], k[1], rs[:1<<12-1]})
			rs = rs[1<<12-1:]
		}
		entries = append(entries, entry{k[0], k[1], rs})
	}
	e.int(w, "NumPubRestrictions", len(entries), 12)
	for _, en := range entries {
		e.int(w, "PublisherRestrictions PurposeId", en.purpose, 6)
		e.int(w, "PublisherRestrictions RestrictionType", en.typ, 2)
		writeRanges(w, en.runs)
	}
}

func (e *encoder) publisherTC(p *PublisherTC) string {
	w := &writer{}
	w.int(segPublisherTC, 3)
	e.set(w, "PubPurposesConsent", p.PubPurposesConsent, 24)
	e.set(w, "PubPurposesLITransparency", p.PubPurposesLITransparency, 24)
	e.int(w, "NumCustomPurposes", p.NumCustomPurposes, 6)
	n := min(max(p.NumCustomPurposes, 0), 63)
	e.set(w, "CustomPurposesConsent", p.CustomPurposesConsent, n)
	e.set(w, "CustomPurposesLITransparency", p.CustomPurposesLITransparency, n)
	return w.String()
}
