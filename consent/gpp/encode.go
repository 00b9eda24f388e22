package gpp

import "strings"

// Encode writes s back as a GPP string: a header for SectionIDs, then each
// section in order. Sections 7 and 8 are encoded from USNat and USCA when
// those are set, every other section is written from Sections as is. It is
// for fixtures and round-trip tests: the text it writes for a decoded string
// may differ from the original in padding, never in meaning.
func (s *String) Encode() (string, error) {
	if s.Version != headerVersion {
		return "", invalidf("encode: unsupported Version %d", s.Version)
	}
	header, err := encodeHeader(s.SectionIDs)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(header)
	for _, id := range s.SectionIDs {
		text, err := s.sectionText(id)
		if err != nil {
			return "", err
		}
		b.WriteByte('~')
		b.WriteString(text)
	}
	return b.String(), nil
}

func (s *String) sectionText(id int) (string, error) {
	switch {
	case id == SectionUSNat && s.USNat != nil:
		return s.USNat.Encode()
	case id == SectionUSCA && s.USCA != nil:
		return s.USCA.Encode()
	}
	text, ok := s.Sections[id]
	if !ok || text == "" {
		return "", invalidf("encode: no text for section %d", id)
	}
	if strings.Contains(text, "~") {
		return "", invalidf("encode: section %d holds a '~'", id)
	}
	return text, nil
}
