package gpp

// USNat is the MSPA US National section (id 7, API prefix "usnat"). Specs in
// Sections/US-National/: version 1 in "IAB Privacy's National Privacy
// Technical Specification.md", version 2 in "IAB Privacy's Multi-State
// Privacy Agreement (MSPA) US National Technical Specification.md".
//
// Notices: 0 not applicable, 1 notice provided, 2 not provided.
// Opt-outs: 0 not applicable, 1 opted out, 2 did not opt out.
// SensitiveDataProcessing, KnownChildSensitiveDataConsents and
// PersonalDataConsents: 0 not applicable, 1 no consent, 2 consent.
// Mspa*: 0 not applicable, 1 yes, 2 no.
//
// Layout note: iabgpp-es 3.1.3–3.1.5, a widely deployed CMP library, wrote
// Version 1 with the version-2 layout (iabgpp-es issues #75, #81, #90). Read
// as v1, those strings would lose sensitive categories 13–16 and misplace
// every later field, MSPA flags included. A true v1 core is 60 bits, at most
// 66 once padded, so a Version 1 core of 70 bits or more is read with the v2
// layout: Version stays 1 and the lists have 16 and 3 entries.
type USNat struct {
	// Version is the section version: 1 (December 2022, 12 sensitive-data
	// categories, 2 known-child consents) or 2 (August 2024, 16 and 3).
	Version                             int `json:"version"`
	SharingNotice                       int `json:"sharingNotice"`
	SaleOptOutNotice                    int `json:"saleOptOutNotice"`
	SharingOptOutNotice                 int `json:"sharingOptOutNotice"`
	TargetedAdvertisingOptOutNotice     int `json:"targetedAdvertisingOptOutNotice"`
	SensitiveDataProcessingOptOutNotice int `json:"sensitiveDataProcessingOptOutNotice"`
	SensitiveDataLimitUseNotice         int `json:"sensitiveDataLimitUseNotice"`
	SaleOptOut                          int `json:"saleOptOut"`
	SharingOptOut                       int `json:"sharingOptOut"`
	TargetedAdvertisingOptOut           int `json:"targetedAdvertisingOptOut"`
	// SensitiveDataProcessing has one entry per category, in spec order
	// (entry 0 is category 1, racial or ethnic origin): 12 or 16 entries.
	SensitiveDataProcessing []int `json:"sensitiveDataProcessing"`
	// KnownChildSensitiveDataConsents: v1 [13–16, under 13];
	// v2 [13–16, under 13, 16–17].
	KnownChildSensitiveDataConsents []int `json:"knownChildSensitiveDataConsents"`
	PersonalDataConsents            int   `json:"personalDataConsents"`
	MspaCoveredTransaction          int   `json:"mspaCoveredTransaction"`
	MspaOptOutOptionMode            int   `json:"mspaOptOutOptionMode"`
	MspaServiceProviderMode         int   `json:"mspaServiceProviderMode"`
	// GPC is the GPC sub-section's value, nil when the sub-section is absent.
	GPC *bool `json:"gpc,omitempty"`
}

// Core layouts by width: v1 is 6+9·2+12·2+2·2+4·2 = 60 bits, v2 is
// 6+9·2+16·2+3·2+4·2 = 70 bits.
const (
	usnatV1Bits = 60
	usnatV2Bits = 70
)

// usnatLayout returns the list lengths for a core of the given version and
// width in bits (see the layout note on USNat), or ok false for an unknown
// version.
func usnatLayout(version, bits int) (sensitive, child int, ok bool) {
	switch {
	case version == 2, version == 1 && bits >= usnatV2Bits:
		return 16, 3, true
	case version == 1:
		return 12, 2, true
	}
	return 0, 0, false
}

func decodeUSNat(text string) (*USNat, error) {
	core, subs, err := splitCore("usnat", text)
	if err != nil {
		return nil, err
	}
	f := fieldReader{section: "usnat", r: bitReader{s: core}}
	n := &USNat{Version: f.int6("Version")}
	if f.err != nil {
		return nil, f.err
	}
	sensitive, child, ok := usnatLayout(n.Version, len(core)*6)
	if !ok {
		return nil, invalidf("usnat: unsupported Version %d", n.Version)
	}
	n.SharingNotice = f.int2("SharingNotice")
	n.SaleOptOutNotice = f.int2("SaleOptOutNotice")
	n.SharingOptOutNotice = f.int2("SharingOptOutNotice")
	n.TargetedAdvertisingOptOutNotice = f.int2("TargetedAdvertisingOptOutNotice")
	n.SensitiveDataProcessingOptOutNotice = f.int2("SensitiveDataProcessingOptOutNotice")
	n.SensitiveDataLimitUseNotice = f.int2("SensitiveDataLimitUseNotice")
	n.SaleOptOut = f.int2("SaleOptOut")
	n.SharingOptOut = f.int2("SharingOptOut")
	n.TargetedAdvertisingOptOut = f.int2("TargetedAdvertisingOptOut")
	n.SensitiveDataProcessing = f.list("SensitiveDataProcessing", sensitive)
	n.KnownChildSensitiveDataConsents = f.list("KnownChildSensitiveDataConsents", child)
	n.PersonalDataConsents = f.int2("PersonalDataConsents")
	n.MspaCoveredTransaction = f.int2("MspaCoveredTransaction")
	n.MspaOptOutOptionMode = f.int2("MspaOptOutOptionMode")
	n.MspaServiceProviderMode = f.int2("MspaServiceProviderMode")
	if f.err != nil {
		return nil, f.err
	}
	if n.GPC, err = decodeSubsections("usnat", subs); err != nil {
		return nil, err
	}
	return n, nil
}

// Encode returns the section text: the core sub-section, then the GPC
// sub-section when GPC is set. The lists must have the lengths of the
// version's layout; Version 1 also accepts 16 and 3, written as the
// mis-versioned layout the USNat note describes, so decoded strings re-encode.
func (n *USNat) Encode() (string, error) {
	sensitive, child, ok := usnatLayout(n.Version, 0)
	if !ok {
		return "", invalidf("encode usnat: unsupported Version %d", n.Version)
	}
	if n.Version == 1 && len(n.SensitiveDataProcessing) == 16 {
		sensitive, child = 16, 3
	}
	f := fieldWriter{section: "usnat"}
	f.int6("Version", n.Version)
	f.int2("SharingNotice", n.SharingNotice)
	f.int2("SaleOptOutNotice", n.SaleOptOutNotice)
	f.int2("SharingOptOutNotice", n.SharingOptOutNotice)
	f.int2("TargetedAdvertisingOptOutNotice", n.TargetedAdvertisingOptOutNotice)
	f.int2("SensitiveDataProcessingOptOutNotice", n.SensitiveDataProcessingOptOutNotice)
	f.int2("SensitiveDataLimitUseNotice", n.SensitiveDataLimitUseNotice)
	f.int2("SaleOptOut", n.SaleOptOut)
	f.int2("SharingOptOut", n.SharingOptOut)
	f.int2("TargetedAdvertisingOptOut", n.TargetedAdvertisingOptOut)
	f.list("SensitiveDataProcessing", n.SensitiveDataProcessing, sensitive)
	f.list("KnownChildSensitiveDataConsents", n.KnownChildSensitiveDataConsents, child)
	f.int2("PersonalDataConsents", n.PersonalDataConsents)
	f.int2("MspaCoveredTransaction", n.MspaCoveredTransaction)
	f.int2("MspaOptOutOptionMode", n.MspaOptOutOptionMode)
	f.int2("MspaServiceProviderMode", n.MspaServiceProviderMode)
	if f.err != nil {
		return "", f.err
	}
	return encodeGPC(f.w.string(), n.GPC), nil
}
