// Package gpp decodes IAB Global Privacy Platform (GPP) strings, the
// "header~section~section…" consent signal that US and EU consent management
// platforms send with a request (spec: InteractiveAdvertisingBureau/
// Global-Privacy-Platform, Core/Consent String Specification.md).
//
// The contract:
//
//   - Decode accepts a GPP v1 string: a header of type 3, version 1, whose
//     Fibonacci-coded section-id range names exactly as many sections as
//     follow it. Every section's raw text is kept in String.Sections, so a
//     section this package does not decode (TCF EU v2 at id 2, US Privacy at
//     id 6, other US states …) is passed through unchanged for its own
//     decoder (consent/tcf for id 2). An unknown id is never an error.
//   - The US National section (id 7, "usnat", versions 1 and 2) and the
//     California section (id 8, "usca", version 1) are decoded into USNat
//     and USCA, GPC sub-section included.
//   - Every failure is a *garde.Error with code garde.EInvalid whose message
//     names the part and the field ("gpp: usnat: truncated at SharingOptOut").
//     Messages never quote the input: a GPP string is a per-person signal.
//   - Decode never panics, reads the input in place, and allocates in
//     proportion to the number of sections present, never to a count read
//     from the input. Inputs longer than MaxLength are refused.
//   - Strict wherever a misread would change a person's choice: a section
//     version, sub-section type or 2-bit value (3) the spec does not define
//     is refused, not guessed at. Lenient only about padding: bits after the
//     last field are ignored, as encoders pad to 6 or 8 bits. One deployed
//     encoder bug is read as its writer meant it (see USNat's layout note).
//   - OptOuts reduces the decoded US sections to the few booleans the consent
//     gate acts on. Absence of a section means "no signal", not consent.
//
// Encode is the inverse for the parts this package decodes; it exists for
// fixtures and round-trip tests, not for CMPs (vendors must pass GPP strings
// on unchanged, and this package never rewrites one it was given).
package gpp

import (
	"errors"
	"strings"

	"github.com/garde-privacy/garde"
)

// Section ids from the GPP section registry (Sections/Section Information.md).
const (
	SectionTCFEUv2   = 2 // IAB Europe TCF v2 string, raw; decode with consent/tcf
	SectionHeader    = 3 // the GPP header itself, never a discrete section
	SectionTCFCA     = 5
	SectionUSPrivacy = 6 // legacy US Privacy (CCPA) string such as "1YNN", raw
	SectionUSNat     = 7
	SectionUSCA      = 8
)

// MaxLength bounds the input Decode accepts, in bytes. Real GPP strings,
// TCF section included, are a few kilobytes at most.
const MaxLength = 64 << 10

// maxSectionID bounds a section id read from a header. Registered ids are
// below 30; the bound only keeps arithmetic on hostile input small.
const maxSectionID = 1<<16 - 1

// String is a decoded GPP string.
type String struct {
	// Version is the GPP header version (always 1 today).
	Version int `json:"version"`
	// SectionIDs lists the section ids in the order the sections appear,
	// which the spec requires to be ascending.
	SectionIDs []int `json:"sectionIds"`
	// Sections holds the raw text of every section by id, decoded or not;
	// e.g. id 2 holds a TCF EU v2 string the caller can hand to consent/tcf.
	Sections map[int]string `json:"sections"`
	// USNat is section 7 decoded, nil when absent.
	USNat *USNat `json:"usnat,omitempty"`
	// USCA is section 8 decoded, nil when absent.
	USCA *USCA `json:"usca,omitempty"`
}

// Decode parses a GPP string. See the package comment for the contract.
func Decode(s string) (*String, error) {
	if s == "" {
		return nil, invalidf("empty string")
	}
	if len(s) > MaxLength {
		return nil, invalidf("longer than %d bytes", MaxLength)
	}
	present := strings.Count(s, "~")
	header, rest, _ := strings.Cut(s, "~")
	version, ids, err := decodeHeader(header, present)
	if err != nil {
		return nil, err
	}
	out := &String{Version: version, SectionIDs: ids, Sections: make(map[int]string, len(ids))}
	for _, id := range ids {
		var text string
		text, rest, _ = strings.Cut(rest, "~")
		if text == "" {
			return nil, invalidf("section %d is empty", id)
		}
		out.Sections[id] = text
		switch id {
		case SectionUSNat:
			if out.USNat, err = decodeUSNat(text); err != nil {
				return nil, err
			}
		case SectionUSCA:
			if out.USCA, err = decodeUSCA(text); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// invalidf returns the package's one error shape: EInvalid with a "gpp: "
// prefix. Callers format field names and numbers, never input text.
func invalidf(format string, args ...any) *garde.Error {
	return garde.Errorf(garde.EInvalid, "gpp: "+format, args...)
}

// Internal causes of a failed read, turned into messages by the caller that
// knows the field name.
var (
	errTruncated  = errors.New("truncated")
	errFibTooLong = errors.New("fibonacci code word too long")
)
