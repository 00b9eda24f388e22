package garde

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"testing"
)

type sealedField struct {
	path   string
	sealed []byte
}

func readSealed(t testing.TB, b []byte) ([]sealedField, error) {
	t.Helper()
	var out []sealedField
	err := SealedFields(b, func(path string, sealed []byte) error {
		out = append(out, sealedField{path, bytes.Clone(sealed)})
		return nil
	})
	return out, err
}

func TestSealedFields(t *testing.T) {
	want := []sealedField{
		{"properties.email", []byte{1, 2, 3, 0, 255}},
		{"context.ip", bytes.Repeat([]byte{7}, 300)}, // a length of two bytes
		{"properties.note", nil},
	}
	var b []byte
	for _, f := range want {
		b = AppendSealedField(b, f.path, f.sealed)
	}
	if b[0] != sealedFormat1 {
		t.Fatalf("first byte %#x", b[0])
	}
	got, err := readSealed(t, b)
	if err != nil || !slices.EqualFunc(got, want, func(a, b sealedField) bool { return a.path == b.path && bytes.Equal(a.sealed, b.sealed) }) {
		t.Fatalf("read back %v, %v; want %v", got, err, want)
	}

	// the JSON form of events stored before format 1
	legacy := []byte(`{"properties.email":"` + base64.RawStdEncoding.EncodeToString([]byte{1, 2, 3, 0, 255}) + `"}`)
	got, err = readSealed(t, legacy)
	if err != nil || len(got) != 1 || got[0].path != "properties.email" || !bytes.Equal(got[0].sealed, []byte{1, 2, 3, 0, 255}) {
		t.Fatalf("legacy: %v, %v", got, err)
	}

	if got, err := readSealed(t, nil); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for name, bad := range map[string][]byte{
		"truncated value":   b[:len(b)-1],
		"truncated length":  {sealedFormat1, 5, 'a', 'b', 'c', 'd', 'e', 0x80},
		"length past end":   {sealedFormat1, 200, 'a'},
		"empty path":        {sealedFormat1, 0, 1, 9},
		"path not UTF-8":    {sealedFormat1, 2, 0xff, 0xfe, 0},
		"legacy not base64": []byte(`{"properties.email":"@@"}`),
		"legacy not JSON":   []byte(`{"properties.email":`),
		"format 2":          {sealedFormat2, 1, 1, 'a', 0},
		"unknown format":    {0x03, 1, 'a', 0},
	} {
		if _, err := readSealed(t, bad); !errors.Is(err, ErrSealedFields) {
			t.Errorf("%s: %v, want ErrSealedFields", name, err)
		}
	}

	stop := errors.New("stop")
	calls := 0
	if err := SealedFields(b, func(string, []byte) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("fn's error: %v after %d calls", err, calls)
	}
}

// FuzzSealedFields: any bytes decode or fail with ErrSealedFields, never
// panic; what decodes in format 1 encodes back to the same fields.
func FuzzSealedFields(f *testing.F) {
	f.Add(AppendSealedField(AppendSealedField(nil, "properties.email", []byte{1, 2, 3}), "context.ip", []byte{4}))
	f.Add([]byte(`{"properties.email":"AQID"}`))
	f.Add([]byte{sealedFormat1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := readSealed(t, b)
		if err != nil {
			if !errors.Is(err, ErrSealedFields) {
				t.Fatalf("error %v is not ErrSealedFields", err)
			}
			return
		}
		if len(b) == 0 || b[0] != sealedFormat1 {
			return
		}
		var again []byte
		for _, f := range fields {
			again = AppendSealedField(again, f.path, f.sealed)
		}
		back, err := readSealed(t, again)
		if err != nil || !slices.EqualFunc(back, fields, func(a, b sealedField) bool { return a.path == b.path && bytes.Equal(a.sealed, b.sealed) }) {
			t.Fatalf("re-encoded %x reads %v, %v; want %v", again, back, err, fields)
		}
	})
}

func readHeader(b []byte) ([]SealedField, int, error) {
	var out []SealedField
	end, err := SealedHeader(b, func(path []byte, size int) error { out = append(out, SealedField{string(path), size}); return nil })
	return out, end, err
}

// TestSealedHeader: format 2's header reads back as written, within
// SealedHeaderSize, whatever follows it; the paths read without the key
// for every format; bad headers fail with ErrSealedFields.
func TestSealedHeader(t *testing.T) {
	want := []SealedField{{"properties.email", 17}, {"context.ip", 300}, {"properties.note", 0}}
	b := AppendSealedHeader([]byte("x"), want)[1:]
	if len(b) > SealedHeaderSize(3, len("properties.email")+len("context.ip")+len("properties.note")) {
		t.Errorf("%d bytes, more than SealedHeaderSize", len(b))
	}
	n := len(b)
	b = append(b, make([]byte, 317+29)...) // the values, sealed
	got, end, err := readHeader(b)
	if err != nil || end != n || !slices.Equal(got, want) {
		t.Fatalf("read back %v, end %d, %v; want %v, end %d", got, end, err, want, n)
	}
	var paths []string
	if err := SealedPaths(b, func(p string) { paths = append(paths, p) }); err != nil || !slices.Equal(paths, []string{"properties.email", "context.ip", "properties.note"}) {
		t.Errorf("paths: %v, %v", paths, err)
	}
	paths = nil
	one := AppendSealedField(nil, "properties.phone", []byte{1, 2})
	if err := SealedPaths(one, func(p string) { paths = append(paths, p) }); err != nil || !slices.Equal(paths, []string{"properties.phone"}) {
		t.Errorf("format 1 paths: %v, %v", paths, err)
	}
	for name, bad := range map[string][]byte{
		"format 1":        one,
		"empty":           nil,
		"no field":        {sealedFormat2, 0},
		"count past end":  {sealedFormat2, 9, 1, 'a', 0},
		"truncated":       b[:5],
		"empty path":      {sealedFormat2, 1, 0, 0},
		"path not UTF-8":  {sealedFormat2, 1, 1, 0xff, 0},
		"size past bytes": {sealedFormat2, 1, 1, 'a', 100},
	} {
		if _, _, err := readHeader(bad); !errors.Is(err, ErrSealedFields) {
			t.Errorf("%s: %v, want ErrSealedFields", name, err)
		}
	}
}

// FuzzSealedHeader: any bytes read as format 2's header or fail with
// ErrSealedFields, never panic; a header read encodes to one that reads
// back the same.
func FuzzSealedHeader(f *testing.F) {
	f.Add(AppendSealedHeader(nil, []SealedField{{"properties.email", 17}, {"context.ip", 3}}))
	f.Add([]byte{sealedFormat2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, _, err := readHeader(b)
		if err != nil {
			if !errors.Is(err, ErrSealedFields) {
				t.Fatalf("error %v is not ErrSealedFields", err)
			}
			return
		}
		again := AppendSealedHeader(nil, fields)
		back, _, err := readHeader(append(again, b...)) // what follows: at least as long as before
		if err != nil || !slices.Equal(back, fields) {
			t.Fatalf("re-encoded %x reads %v, %v; want %v", again, back, err, fields)
		}
		if err := SealedPaths(b, func(string) {}); err != nil {
			t.Fatalf("SealedPaths: %v", err)
		}
	})
}
