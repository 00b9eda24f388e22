package gpp

import "strings"

// The machinery shared by the US sections. A US section is a core
// sub-section followed by optional sub-sections, joined with ".", each its
// own base64 text (Core/Consent String Specification.md, "Sub-Sections").
// Fields are Int(2) values or N-Bitfield(2,n) lists of them; an optional
// sub-section opens with SubsectionType Int(2), and the only type defined
// besides the core is 1, GPC, holding one Boolean.

// Values of the 2-bit fields. Their meaning depends on the field (see USNat
// and USCA), but 0 is always "not applicable" and 3 is never defined, so
// Decode refuses it. For the opt-out fields (SaleOptOut, SharingOptOut,
// TargetedAdvertisingOptOut) 1 is "opted out" and 2 "did not opt out".
const (
	NotApplicable = 0
	OptedOut      = 1
	DidNotOptOut  = 2
	maxField      = 2
)

const subsectionGPC = 1

// fieldReader reads named fields from one section and keeps the first
// failure, so decoders read top to bottom and check once.
type fieldReader struct {
	section string // "usnat", "usca"
	r       bitReader
	err     error
}

// int2 reads an Int(2) field.
func (f *fieldReader) int2(field string) int {
	if f.err != nil {
		return 0
	}
	v, ok := f.r.uint(2)
	if !ok {
		f.err = invalidf("%s: truncated at %s", f.section, field)
		return 0
	}
	if v > maxField {
		f.err = invalidf("%s: %s holds undefined value %d", f.section, field, v)
		return 0
	}
	return int(v)
}

// int6 reads an Int(6) field.
func (f *fieldReader) int6(field string) int {
	if f.err != nil {
		return 0
	}
	v, ok := f.r.uint(6)
	if !ok {
		f.err = invalidf("%s: truncated at %s", f.section, field)
		return 0
	}
	return int(v)
}

// list reads an N-Bitfield(2,n) field.
func (f *fieldReader) list(field string, n int) []int {
	if f.err != nil {
		return nil
	}
	if f.r.left() < 2*n {
		f.err = invalidf("%s: truncated at %s", f.section, field)
		return nil
	}
	out := make([]int, n)
	for i := range out {
		if out[i] = f.int2(field); f.err != nil {
			return nil
		}
	}
	return out
}

// splitCore splits a section into its core text and the rest, checking the
// core's alphabet.
// subs keeps its leading "." so that a trailing "." is seen as an empty
// sub-section.
func splitCore(section, text string) (core, subs string, err error) {
	core = text
	if i := strings.IndexByte(text, '.'); i >= 0 {
		core, subs = text[:i], text[i:]
	}
	if core == "" {
		return "", "", invalidf("%s: empty core sub-section", section)
	}
	if !validBase64(core) {
		return "", "", invalidf("%s: core sub-section not web-safe base64", section)
	}
	return core, subs, nil
}

// decodeSubsections reads the optional sub-sections after the core. The only
// one defined is GPC; an unknown type or a repeated GPC is an error, since
// guessing at an unknown layout could misread a person's choice.
// subs is "" or starts with ".".
func decodeSubsections(section, subs string) (gpc *bool, err error) {
	for subs != "" {
		text, next := subs[1:], ""
		if i := strings.IndexByte(text, '.'); i >= 0 {
			text, next = text[:i], text[i:]
		}
		subs = next
		if text == "" {
			return nil, invalidf("%s: empty sub-section", section)
		}
		if !validBase64(text) {
			return nil, invalidf("%s: sub-section not web-safe base64", section)
		}
		f := fieldReader{section: section, r: bitReader{s: text}}
		typ := f.int2("SubsectionType")
		if f.err != nil {
			return nil, f.err
		}
		if typ != subsectionGPC {
			return nil, invalidf("%s: unknown SubsectionType %d", section, typ)
		}
		if gpc != nil {
			return nil, invalidf("%s: repeated GPC sub-section", section)
		}
		b, ok := f.r.bit()
		if !ok {
			return nil, invalidf("%s: truncated at Gpc", section)
		}
		v := b == 1
		gpc = &v
	}
	return gpc, nil
}

// fieldWriter writes named fields and keeps the first invalid value.
type fieldWriter struct {
	section string
	w       bitWriter
	err     error
}

func (f *fieldWriter) int2(field string, v int) {
	if f.err == nil && (v < 0 || v > maxField) {
		f.err = invalidf("encode %s: %s value %d outside 0…2", f.section, field, v)
	}
	f.w.uint(uint32(v)&3, 2)
}

func (f *fieldWriter) int6(field string, v int) {
	if f.err == nil && (v < 0 || v > 63) {
		f.err = invalidf("encode %s: %s value %d outside 0…63", f.section, field, v)
	}
	f.w.uint(uint32(v)&63, 6)
}

func (f *fieldWriter) list(field string, vs []int, n int) {
	if f.err == nil && len(vs) != n {
		f.err = invalidf("encode %s: %s has %d entries, want %d", f.section, field, len(vs), n)
	}
	for i := range n {
		v := 0
		if i < len(vs) {
			v = vs[i]
		}
		f.int2(field, v)
	}
}

// encodeGPC appends the GPC sub-section when gpc is set.
func encodeGPC(core string, gpc *bool) string {
	if gpc == nil {
		return core
	}
	var w bitWriter
	w.uint(subsectionGPC, 2)
	b := uint8(0)
	if *gpc {
		b = 1
	}
	w.bit(b)
	return core + "." + w.string()
}
