package garde

import (
	"bytes"
	"encoding/base64"
	"testing"
)

func TestDecodeBase64URL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
		ok   bool
	}{
		{"", []byte{}, true},
		{"_-8", []byte{0xff, 0xef}, true},
		{"_-9", nil, false}, // stray bits: not canonical
		{"_-8A", []byte{0xff, 0xef, 0x00}, true},
		{"YWJj", []byte("abc"), true},
		{"YW\rJj", nil, false}, // the standard decoder skips CR and LF
		{"YW\nJj", nil, false},
		{"YWJj=", nil, false},
		{"YW+j", nil, false},
	} {
		got, ok := DecodeBase64URL(c.in)
		if ok != c.ok || ok && !bytes.Equal(got, c.want) {
			t.Errorf("%q: %x %v, want %x %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzDecodeBase64URL(f *testing.F) {
	f.Add("YWJj")
	f.Add("YW\rJj")
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := DecodeBase64URL(s)
		if ok && base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted %q, which encodes as %q", s, base64.RawURLEncoding.EncodeToString(b))
		}
	})
}
