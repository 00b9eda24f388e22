// Package tcf decodes and encodes IAB TCF v2.2 Transparency & Consent strings
// (TC strings), the consent signal that advertising vendors read.
//
// The contract:
//
//   - Decode accepts any string and never panics. A string it cannot read is
//     refused with a *garde.Error of code garde.EInvalid whose message names
//     the segment and the bit offset and field that failed, for example
//     "core segment: truncated at bit 213 (VendorConsents)". Messages never
//     quote the input. Memory is bounded: inputs longer than MaxLength are
//     refused, vendor ids are at most 16 bits, and publisher restrictions may
//     expand to at most 1,048,576 vendor ids in total.
//   - Decode checks structure only (the bits are there and mean something).
//     Whether the signal is acceptable under TCF v2.2 policy is Validate's job:
//     a structurally sound string with policy version 2 decodes fine and then
//     fails Validate.
//   - Encode is the inverse of Decode: for every t returned by Decode,
//     Decode(Encode(t)) equals t. Each vendor section is written in whichever
//     of the bit-field and range encodings is shorter, optional segments are
//     written only when present (non-nil), and every segment is padded to a
//     multiple of 24 bits as the IAB reference library does.
//   - Publisher restriction entries with the same purpose and type are
//     merged, by Decode and by Encode, as the IAB library does.
//   - Id lists in a TCString are sorted ascending without duplicates; Decode
//     returns them so, Validate reports lists that are not, and the lookup
//     helpers (PurposeConsent, VendorConsent …) rely on it.
//
// A TC string carries no personal data by itself, but it is a per-person
// signal: do not log it next to an identifier.
package tcf

import (
	"slices"
	"time"
)

// MaxLength is the longest TC string Decode reads, in characters. Real TC
// strings are a few hundred characters to a few kilobytes.
const MaxLength = 256 << 10

// Policy-defined ranges of TCF v2.2, checked by Validate. The string format
// has room for more (24 purposes, 12 special features), which Decode and
// Encode accept.
const (
	NumPurposes        = 11 // purposes 1..11 are defined by TCF v2.2
	NumSpecialFeatures = 2  // special features 1..2
	MinPolicyVersion   = 4  // TCF v2.2 policy version; lower is invalid
	MaxVendorID        = 1<<16 - 1
)

// Restriction types of a publisher restriction.
const (
	RestrictionNotAllowed     = 0 // purpose flatly not allowed by the publisher
	RestrictionRequireConsent = 1 // vendor must use consent (if flexible)
	RestrictionRequireLI      = 2 // vendor must use legitimate interest (if flexible)
)

// TCString is a decoded TC string. JSON names follow the IAB's JavaScript
// library (@iabtechlabtcf/core) where there is one.
type TCString struct {
	Version             int       `json:"version"`
	Created             time.Time `json:"created"`     // decisecond precision
	LastUpdated         time.Time `json:"lastUpdated"` // decisecond precision
	CmpID               int       `json:"cmpId"`
	CmpVersion          int       `json:"cmpVersion"`
	ConsentScreen       int       `json:"consentScreen"`
	ConsentLanguage     string    `json:"consentLanguage"` // two letters, "EN"
	VendorListVersion   int       `json:"vendorListVersion"`
	PolicyVersion       int       `json:"policyVersion"`
	IsServiceSpecific   bool      `json:"isServiceSpecific"`
	UseNonStandardTexts bool      `json:"useNonStandardTexts"`
	// SpecialFeatureOptIns are the special features (1..12) the user opted in to.
	SpecialFeatureOptIns []int `json:"specialFeatureOptins"`
	// PurposesConsent are the purposes (1..24) the user consented to.
	PurposesConsent []int `json:"purposeConsents"`
	// PurposesLITransparency are the purposes (1..24) for which legitimate
	// interest was disclosed and not objected to.
	PurposesLITransparency    []int         `json:"purposeLegitimateInterests"`
	PurposeOneTreatment       bool          `json:"purposeOneTreatment"`
	PublisherCC               string        `json:"publisherCountryCode"` // two letters, "AA" if unknown
	VendorConsents            []int         `json:"vendorConsents"`
	VendorLegitimateInterests []int         `json:"vendorLegitimateInterests"`
	PublisherRestrictions     []Restriction `json:"publisherRestrictions"`
	// DisclosedVendors is the optional segment of type 1; nil when absent.
	DisclosedVendors []int `json:"vendorsDisclosed,omitzero"`
	// AllowedVendors is the optional segment of type 2; nil when absent.
	AllowedVendors []int `json:"vendorsAllowed,omitzero"`
	// PublisherTC is the optional segment of type 3; nil when absent.
	PublisherTC *PublisherTC `json:"publisherTC,omitempty"`
}

// Restriction is one publisher restriction: vendors may not use Purpose
// except as Type says (RestrictionNotAllowed, RestrictionRequireConsent,
// RestrictionRequireLI).
type Restriction struct {
	Purpose int   `json:"purposeId"`
	Type    int   `json:"restrictionType"`
	Vendors []int `json:"vendors"`
}

// PublisherTC is the publisher's own purposes segment (segment type 3).
type PublisherTC struct {
	PubPurposesConsent        []int `json:"publisherConsents"`
	PubPurposesLITransparency []int `json:"publisherLegitimateInterests"`
	NumCustomPurposes         int   `json:"numCustomPurposes"`
	// CustomPurposesConsent and CustomPurposesLITransparency hold custom
	// purpose ids 1..NumCustomPurposes.
	CustomPurposesConsent        []int `json:"publisherCustomConsents"`
	CustomPurposesLITransparency []int `json:"publisherCustomLegitimateInterests"`
}

// PurposeConsent reports whether the user consented to purpose id.
func (t *TCString) PurposeConsent(id int) bool { return has(t.PurposesConsent, id) }

// PurposeLI reports whether legitimate interest for purpose id was disclosed
// and not objected to. Under TCF v2.2 this is never a basis for purposes 1
// and 3-6; Validate refuses strings that say otherwise.
func (t *TCString) PurposeLI(id int) bool { return has(t.PurposesLITransparency, id) }

// SpecialFeature reports whether the user opted in to special feature id.
func (t *TCString) SpecialFeature(id int) bool { return has(t.SpecialFeatureOptIns, id) }

// VendorConsent reports whether vendor id has the user's consent.
func (t *TCString) VendorConsent(id int) bool { return has(t.VendorConsents, id) }

// VendorLI reports whether vendor id's legitimate interest was disclosed and
// not objected to.
func (t *TCString) VendorLI(id int) bool { return has(t.VendorLegitimateInterests, id) }

// Restricted returns the type of the publisher restriction on purpose for
// vendor, if there is one.
func (t *TCString) Restricted(purpose, vendor int) (typ int, ok bool) {
	for _, r := range t.PublisherRestrictions {
		if r.Purpose == purpose && has(r.Vendors, vendor) {
			return r.Type, true
		}
	}
	return 0, false
}

// has reports whether the sorted list ids holds id.
func has(ids []int, id int) bool {
	_, found := slices.BinarySearch(ids, id)
	return found
}
