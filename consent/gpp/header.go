package gpp

import "errors"

// The GPP header (Core/Consent String Specification.md, "Header Encoding"):
//
//	Type      Int(6)            always 3
//	Version   Int(6)            1
//	Sections  Range(Fibonacci)  the ids of the sections that follow, in order
//
// A Range(Fibonacci) is an Int(12) item count, then per item a Boolean (0 a
// single id, 1 a group), a Fibonacci offset from the last id seen (0 before
// the first item) and, for a group, a Fibonacci length: the group runs from
// last+offset to last+offset+length. Offsets are at least 1, so the ids come
// out strictly ascending with no duplicates.

const (
	headerType    = 3
	headerVersion = 1
)

// decodeHeader reads a header that must name exactly present sections.
func decodeHeader(h string, present int) (version int, ids []int, err error) {
	if h == "" {
		return 0, nil, invalidf("header: empty")
	}
	if !validBase64(h) {
		return 0, nil, invalidf("header: not web-safe base64")
	}
	r := bitReader{s: h}
	typ, ok := r.uint(6)
	if !ok {
		return 0, nil, invalidf("header: truncated at Type")
	}
	if typ != headerType {
		return 0, nil, invalidf("header: Type %d, want %d", typ, headerType)
	}
	v, ok := r.uint(6)
	if !ok {
		return 0, nil, invalidf("header: truncated at Version")
	}
	if v != headerVersion {
		return 0, nil, invalidf("header: unsupported Version %d", v)
	}
	n, ok := r.uint(12)
	if !ok {
		return 0, nil, invalidf("header: truncated at Sections")
	}
	ids = make([]int, 0, min(present, 16))
	last := 0
	for range n {
		group, ok := r.bit()
		if !ok {
			return 0, nil, invalidf("header: truncated at Sections")
		}
		offset, err := r.fibonacci()
		if err != nil {
			return 0, nil, fibError(err)
		}
		first, end := last+offset, last+offset
		if group == 1 {
			length, err := r.fibonacci()
			if err != nil {
				return 0, nil, fibError(err)
			}
			end = first + length
		}
		if end > maxSectionID {
			return 0, nil, invalidf("header: section id above %d", maxSectionID)
		}
		// Checked before appending, so a hostile group length cannot
		// allocate more ids than the string has sections.
		if len(ids)+(end-first+1) > present {
			return 0, nil, invalidf("header: names more sections than the %d present", present)
		}
		for id := first; id <= end; id++ {
			ids = append(ids, id)
		}
		last = end
	}
	if len(ids) != present {
		return 0, nil, invalidf("header: names %d sections, %d present", len(ids), present)
	}
	return int(v), ids, nil
}

func fibError(err error) error {
	if errors.Is(err, errFibTooLong) {
		return invalidf("header: Fibonacci integer too long in Sections")
	}
	return invalidf("header: truncated at Sections")
}

// encodeHeader writes a version-1 header for ascending ids: runs of two or
// more consecutive ids become groups, the rest single items, as in the
// spec's header examples ("DBABM", "DBACNY", "DBABjw").
func encodeHeader(ids []int) (string, error) {
	type item struct{ first, end int }
	var items []item
	prev := 0
	for i, id := range ids {
		if id <= prev {
			return "", invalidf("encode: SectionIDs not strictly ascending positive ids")
		}
		if id > maxSectionID {
			return "", invalidf("encode: section id above %d", maxSectionID)
		}
		if i > 0 && id == prev+1 {
			items[len(items)-1].end = id
		} else {
			items = append(items, item{id, id})
		}
		prev = id
	}
	if len(items) >= 1<<12 {
		return "", invalidf("encode: too many section ranges")
	}
	var w bitWriter
	w.uint(headerType, 6)
	w.uint(headerVersion, 6)
	w.uint(uint32(len(items)), 12)
	last := 0
	for _, it := range items {
		if it.end > it.first {
			w.bit(1)
			w.fibonacci(it.first - last)
			w.fibonacci(it.end - it.first)
		} else {
			w.bit(0)
			w.fibonacci(it.first - last)
		}
		last = it.end
	}
	return w.string(), nil
}
