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
	size := 0
	for _, f := range want {
		size += SealedFieldSize(len(f.path), len(f.sealed))
	}
	if len(b) > size {
		t.Errorf("%d bytes, more than SealedFieldSize's %d", len(b), size)
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
		"unknown format":    {0x02, 1, 'a', 0},
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
