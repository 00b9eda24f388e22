package garde

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// An event's sealed fields are stored in one value: for each personal
// field of the event, its path ("properties.email", "context.ip") and its
// value, sealed under the subject's own key.
//
// Format 2, written since 2026-11-29: the byte 0x02, the number of fields
// (uvarint), for each field the length of its path (uvarint), the path
// (UTF-8) and the length of its value (uvarint); then the values,
// concatenated, sealed at once (vault.SealFields: one AES-GCM operation
// per event, bound to the subject and to everything before it). The paths
// stay readable without the key (SealedPaths), the values do not.
//
// Format 1, binary: the byte 0x01, then for each field the length of its
// path (uvarint), the path, the length of its sealed value (uvarint) and
// the value sealed on its own for that path (vault.Seal). Events stored
// before it carry a JSON object, {"path":"unpadded standard base64 of the
// sealed value",…}: it begins with '{', never 0x01 or 0x02. SealedFields
// reads both; vault.OpenFields opens every format.
const (
	sealedFormat1 = 0x01
	sealedFormat2 = 0x02
)

// SealedField is one field of an event's sealed fields in format 2: its
// path and the length of its value in clear.
type SealedField struct {
	Path string
	Size int
}

// AppendSealedHeader appends format 2's header for fields to b: what the
// values sealed at once follow, and what the sealing binds them to.
func AppendSealedHeader(b []byte, fields []SealedField) []byte {
	b = append(b, sealedFormat2)
	b = binary.AppendUvarint(b, uint64(len(fields)))
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f.Path)))
		b = append(b, f.Path...)
		b = binary.AppendUvarint(b, uint64(f.Size))
	}
	return b
}

// SealedHeaderSize is at most how many bytes AppendSealedHeader appends for
// n fields whose paths are pathsLen bytes in all.
func SealedHeaderSize(n, pathsLen int) int {
	return 1 + binary.MaxVarintLen64 + n*2*binary.MaxVarintLen64 + pathsLen
}

// IsSealedHeader reports whether b, an event's sealed fields, is in format 2.
func IsSealedHeader(b []byte) bool { return len(b) > 0 && b[0] == sealedFormat2 }

// SealedHeader reads format 2's header at the start of b: fn is called
// with each field's path (aliasing b) and value length in order, and end
// is where the sealed values start. It fails with ErrSealedFields if the
// header does not decode (or b is not in format 2), with fn's error if fn
// fails.
func SealedHeader(b []byte, fn func(path []byte, size int) error) (end int, err error) {
	if !IsSealedHeader(b) {
		return 0, ErrSealedFields
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n == 0 || n > uint64(len(b)) {
		return 0, ErrSealedFields
	}
	rest := b[1+w:]
	for range n {
		path, r, ok := sealedPart(rest)
		if !ok || len(path) == 0 || !utf8.Valid(path) {
			return 0, ErrSealedFields
		}
		size, w := binary.Uvarint(r)
		if w <= 0 || size > uint64(len(b)) {
			return 0, ErrSealedFields
		}
		if err := fn(path, int(size)); err != nil {
			return 0, err
		}
		rest = r[w:]
	}
	return len(b) - len(rest), nil
}

// SealedPaths calls fn with the path of each field of b, an event's sealed
// fields in any format, without opening anything. It fails with
// ErrSealedFields if b does not decode.
func SealedPaths(b []byte, fn func(path string)) error {
	if IsSealedHeader(b) {
		_, err := SealedHeader(b, func(path []byte, _ int) error { fn(string(path)); return nil })
		return err
	}
	return SealedFields(b, func(path string, _ []byte) error { fn(path); return nil })
}

// ErrSealedFields: a stored event's sealed fields do not decode.
var ErrSealedFields = errors.New("the sealed fields of a stored event are corrupt")

// AppendSealedField appends one field in format 1 to b, the sealed fields
// of one event (nil or empty for the first field). Events are written in
// format 2; this writes what older stores hold, for tests and tools.
func AppendSealedField(b []byte, path string, sealed []byte) []byte {
	if len(b) == 0 {
		b = append(b, sealedFormat1)
	}
	b = binary.AppendUvarint(b, uint64(len(path)))
	b = append(b, path...)
	b = binary.AppendUvarint(b, uint64(len(sealed)))
	return append(b, sealed...)
}

// SealedFields calls fn with each field of b, the sealed fields of one
// stored event in format 1 or the JSON form, each value sealed on its own;
// empty b has none. sealed aliases b for format 1. It fails with
// ErrSealedFields if b does not decode or is in format 2, whose values are
// sealed together (vault.OpenFields opens every format), and with fn's
// error if fn fails.
func SealedFields(b []byte, fn func(path string, sealed []byte) error) error {
	if len(b) == 0 {
		return nil
	}
	if IsSealedHeader(b) {
		return ErrSealedFields
	}
	if b[0] != sealedFormat1 {
		return legacySealedFields(b, fn)
	}
	for b = b[1:]; len(b) > 0; {
		path, rest, ok := sealedPart(b)
		if !ok || len(path) == 0 || !utf8.Valid(path) {
			return ErrSealedFields
		}
		sealed, rest, ok := sealedPart(rest)
		if !ok {
			return ErrSealedFields
		}
		if err := fn(string(path), sealed); err != nil {
			return err
		}
		b = rest
	}
	return nil
}

// sealedPart reads one length-prefixed part of b.
func sealedPart(b []byte) (part, rest []byte, ok bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, false
	}
	end := w + int(n)
	return b[w:end:end], b[end:], true
}

// legacySealedFields reads the JSON form of events stored before format 1.
func legacySealedFields(b []byte, fn func(path string, sealed []byte) error) error {
	var fields map[string]string
	if err := json.Unmarshal(b, &fields); err != nil {
		return ErrSealedFields
	}
	for path, b64 := range fields {
		sealed, err := base64.RawStdEncoding.DecodeString(b64)
		if err != nil || path == "" {
			return ErrSealedFields
		}
		if err := fn(path, sealed); err != nil {
			return err
		}
	}
	return nil
}
