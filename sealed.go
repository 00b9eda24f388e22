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
// value sealed under the subject's own key for that path (vault.Seal).
//
// Format 1, binary: the byte 0x01, then for each field the length of its
// path (uvarint), the path (UTF-8), the length of the sealed value
// (uvarint) and the sealed value. Events stored before it carry a JSON
// object, {"path":"unpadded standard base64 of the sealed value",…}, which
// SealedFields still reads: it begins with '{', never 0x01. The binary
// form is about a quarter smaller and is written without an encoder.
const sealedFormat1 = 0x01

// ErrSealedFields: a stored event's sealed fields do not decode.
var ErrSealedFields = errors.New("the sealed fields of a stored event are corrupt")

// AppendSealedField appends one field to b, the sealed fields of one event
// (nil or empty for the first field).
func AppendSealedField(b []byte, path string, sealed []byte) []byte {
	return append(AppendSealedFieldHeader(b, path, len(sealed)), sealed...)
}

// AppendSealedFieldHeader appends to b what precedes a field's sealed value
// of sealedLen bytes, for a caller that seals the value in place right
// after (see AppendSealedField).
func AppendSealedFieldHeader(b []byte, path string, sealedLen int) []byte {
	if len(b) == 0 {
		b = append(b, sealedFormat1)
	}
	b = binary.AppendUvarint(b, uint64(len(path)))
	b = append(b, path...)
	return binary.AppendUvarint(b, uint64(sealedLen))
}

// SealedFieldSize is how many bytes AppendSealedField adds at most for a
// path of pathLen bytes and a sealed value of sealedLen bytes (the format's
// first byte included).
func SealedFieldSize(pathLen, sealedLen int) int {
	return 1 + 2*binary.MaxVarintLen64 + pathLen + sealedLen
}

// SealedFields calls fn with each field of b, the sealed fields of one
// stored event, in either format; empty b has none. sealed aliases b for the
// binary format. It fails with ErrSealedFields if b does not decode, and
// with fn's error if fn fails.
func SealedFields(b []byte, fn func(path string, sealed []byte) error) error {
	if len(b) == 0 {
		return nil
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
