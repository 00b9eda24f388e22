package gpp

// USCA is the California section (id 8, API prefix "usca"), spec
// Sections/US-States/CA/GPP Extension: IAB Privacy's California Privacy
// Technical Specification.md, version 1 in its corrected revision.
//
// Notices: 0 not applicable, 1 notice provided, 2 not provided.
// SaleOptOut, SharingOptOut and each SensitiveDataProcessing entry (a CPRA
// "limit the use of my sensitive personal information" choice): 0 not
// applicable, 1 opted out, 2 did not opt out.
// KnownChildSensitiveDataConsents and PersonalDataConsents: 0 not applicable,
// 1 no consent, 2 consent. Mspa*: 0 not applicable, 1 yes, 2 no.
//
// (The first published revision swapped 1 and 2 in SensitiveDataProcessing,
// KnownChildSensitiveDataConsents and PersonalDataConsents; CMPs and
// decoders follow the corrected one, in which 1 is always the restrictive
// value, and so does this package.)
type USCA struct {
	Version                     int `json:"version"`
	SaleOptOutNotice            int `json:"saleOptOutNotice"`
	SharingOptOutNotice         int `json:"sharingOptOutNotice"`
	SensitiveDataLimitUseNotice int `json:"sensitiveDataLimitUseNotice"`
	SaleOptOut                  int `json:"saleOptOut"`
	SharingOptOut               int `json:"sharingOptOut"`
	// SensitiveDataProcessing has 9 entries in spec order (entry 0 is
	// category 1, government identifiers).
	SensitiveDataProcessing []int `json:"sensitiveDataProcessing"`
	// KnownChildSensitiveDataConsents: [sell, share] personal information of
	// consumers under 16.
	KnownChildSensitiveDataConsents []int `json:"knownChildSensitiveDataConsents"`
	PersonalDataConsents            int   `json:"personalDataConsents"`
	MspaCoveredTransaction          int   `json:"mspaCoveredTransaction"`
	MspaOptOutOptionMode            int   `json:"mspaOptOutOptionMode"`
	MspaServiceProviderMode         int   `json:"mspaServiceProviderMode"`
	// GPC is the GPC sub-section's value, nil when the sub-section is absent.
	GPC *bool `json:"gpc,omitempty"`
}

const (
	uscaVersion   = 1
	uscaSensitive = 9
	uscaChild     = 2
)

func decodeUSCA(text string) (*USCA, error) {
	core, subs, err := splitCore("usca", text)
	if err != nil {
		return nil, err
	}
	f := fieldReader{section: "usca", r: bitReader{s: core}}
	c := &USCA{Version: f.int6("Version")}
	if f.err != nil {
		return nil, f.err
	}
	if c.Version != uscaVersion {
		return nil, invalidf("usca: unsupported Version %d", c.Version)
	}
	c.SaleOptOutNotice = f.int2("SaleOptOutNotice")
	c.SharingOptOutNotice = f.int2("SharingOptOutNotice")
	c.SensitiveDataLimitUseNotice = f.int2("SensitiveDataLimitUseNotice")
	c.SaleOptOut = f.int2("SaleOptOut")
	c.SharingOptOut = f.int2("SharingOptOut")
	c.SensitiveDataProcessing = f.list("SensitiveDataProcessing", uscaSensitive)
	c.KnownChildSensitiveDataConsents = f.list("KnownChildSensitiveDataConsents", uscaChild)
	c.PersonalDataConsents = f.int2("PersonalDataConsents")
	c.MspaCoveredTransaction = f.int2("MspaCoveredTransaction")
	c.MspaOptOutOptionMode = f.int2("MspaOptOutOptionMode")
	c.MspaServiceProviderMode = f.int2("MspaServiceProviderMode")
	if f.err != nil {
		return nil, f.err
	}
	if c.GPC, err = decodeSubsections("usca", subs); err != nil {
		return nil, err
	}
	return c, nil
}

// Encode returns the section text: the core sub-section, then the GPC
// sub-section when GPC is set.
func (c *USCA) Encode() (string, error) {
	if c.Version != uscaVersion {
		return "", invalidf("encode usca: unsupported Version %d", c.Version)
	}
	f := fieldWriter{section: "usca"}
	f.int6("Version", c.Version)
	f.int2("SaleOptOutNotice", c.SaleOptOutNotice)
	f.int2("SharingOptOutNotice", c.SharingOptOutNotice)
	f.int2("SensitiveDataLimitUseNotice", c.SensitiveDataLimitUseNotice)
	f.int2("SaleOptOut", c.SaleOptOut)
	f.int2("SharingOptOut", c.SharingOptOut)
	f.list("SensitiveDataProcessing", c.SensitiveDataProcessing, uscaSensitive)
	f.list("KnownChildSensitiveDataConsents", c.KnownChildSensitiveDataConsents, uscaChild)
	f.int2("PersonalDataConsents", c.PersonalDataConsents)
	f.int2("MspaCoveredTransaction", c.MspaCoveredTransaction)
	f.int2("MspaOptOutOptionMode", c.MspaOptOutOptionMode)
	f.int2("MspaServiceProviderMode", c.MspaServiceProviderMode)
	if f.err != nil {
		return "", f.err
	}
	return encodeGPC(f.w.string(), c.GPC), nil
}
