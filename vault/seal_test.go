package vault_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

func TestSealOpen(t *testing.T) {
	v, _, _ := newVault(t)
	s := newSubjects(t, v, 1)[0]
	for _, tc := range []struct{ name, field, plaintext string }{
		{"empty", "properties.note", ""},
		{"email", "properties.email", `"ada@example.com"`},
		{"empty field", "", "x"},
		{"large", "traits.bio", strings.Repeat("é", 1<<16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := []byte(tc.plaintext)
			c, err := v.Seal(context.Background(), s, tc.field, pt)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(c), len(pt)+1+12+16; got != want {
				t.Errorf("len(sealed) = %d, want %d", got, want)
			}
			if c[0] != 1 {
				t.Errorf("version byte = %d, want 1", c[0])
			}
			if string(pt) != tc.plaintext {
				t.Error("Seal modified its plaintext")
			}
			if len(tc.plaintext) >= 8 && bytes.Contains(c, pt[:8]) {
				t.Error("sealed value contains the plaintext")
			}
			opens(t, v, s, tc.field, c, tc.plaintext)
			if again := seal(t, v, s, tc.field, tc.plaintext); bytes.Equal(again, c) {
				t.Error("two seals of the same value are equal: nonce reused")
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	v, _, _ := newVault(t)
	ss := newSubjects(t, v, 2)
	s, other := ss[0], ss[1]
	c := seal(t, v, s, "properties.email", "ada@example.com")
	flip := func(i int, bit byte) []byte {
		b := bytes.Clone(c)
		b[i] ^= bit
		return b
	}
	cases := []struct {
		name    string
		subject garde.SubjectID
		field   string
		sealed  []byte
	}{
		{"wrong subject", other, "properties.email", c},
		{"wrong field", s, "properties.phone", c},
		{"field prefix", s, "properties.emai", c},
		{"version", s, "properties.email", flip(0, 0x03)},
		{"nonce bit", s, "properties.email", flip(5, 0x10)},
		{"ciphertext bit", s, "properties.email", flip(14, 0x01)},
		{"tag bit", s, "properties.email", flip(len(c)-1, 0x80)},
		{"truncated", s, "properties.email", c[:len(c)-1]},
		{"too short", s, "properties.email", c[:28]},
		{"extended", s, "properties.email", append(bytes.Clone(c), 0)},
		{"empty", s, "properties.email", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Open(context.Background(), tc.subject, tc.field, tc.sealed)
			if !errors.Is(err, vault.ErrTampered) {
				t.Fatalf("Open = %q, %v; want ErrTampered", got, err)
			}
			if strings.Contains(err.Error(), "ada@") {
				t.Errorf("error %q holds the plaintext", err)
			}
		})
	}
	t.Run("every bit", func(t *testing.T) {
		for i := range c {
			for bit := 0; bit < 8; bit++ {
				if _, err := v.Open(context.Background(), s, "properties.email", flip(i, 1<<bit)); !errors.Is(err, vault.ErrTampered) {
					t.Fatalf("byte %d bit %d flipped: got %v, want ErrTampered", i, bit, err)
				}
			}
		}
	})
	t.Run("no key", func(t *testing.T) {
		if _, err := v.Open(context.Background(), garde.NewSubjectID(), "properties.email", c); !errors.Is(err, vault.ErrShredded) {
			t.Fatalf("got %v, want ErrShredded", err)
		}
	})
}

func TestSealWithoutKey(t *testing.T) {
	v, _, _ := newVault(t)
	_, err := v.Seal(context.Background(), garde.NewSubjectID(), "f", []byte("x"))
	if !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("got %v, want ErrShredded (Seal never creates keys)", err)
	}
}

func TestCreateKeys(t *testing.T) {
	ctx := context.Background()
	v, mk, dir := newVault(t)
	existing := newSubjects(t, v, 1)[0]

	t.Run("existing key fails the whole batch", func(t *testing.T) {
		fresh := garde.NewSubjectID()
		err := v.CreateKeys(ctx, []garde.SubjectID{fresh, existing})
		if !errors.Is(err, vault.ErrKeyExists) || garde.ErrorCode(err) != garde.EConflict {
			t.Fatalf("got %v, want ErrKeyExists (conflict)", err)
		}
		if ok, err := v.HasKey(ctx, fresh); err != nil || ok {
			t.Errorf("HasKey(fresh) = %v, %v; want false: batch must be all or none", ok, err)
		}
	})
	t.Run("duplicate in batch", func(t *testing.T) {
		s := garde.NewSubjectID()
		if err := v.CreateKeys(ctx, []garde.SubjectID{s, s}); !errors.Is(err, vault.ErrKeyExists) {
			t.Fatalf("got %v, want ErrKeyExists", err)
		}
	})
	t.Run("malformed id", func(t *testing.T) {
		if err := v.CreateKeys(ctx, []garde.SubjectID{"bob@example.com"}); garde.ErrorCode(err) != garde.EInvalid {
			t.Fatalf("got %v, want invalid", err)
		}
	})
	t.Run("empty batch", func(t *testing.T) {
		if err := v.CreateKeys(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("persisted", func(t *testing.T) {
		c := seal(t, v, existing, "f", "v")
		v2 := openVault(t, mk, openKeys(t, dir), vault.Options{})
		if ok, err := v2.HasKey(ctx, existing); err != nil || !ok {
			t.Fatalf("HasKey after reopen = %v, %v; want true", ok, err)
		}
		opens(t, v2, existing, "f", c, "v")
	})
}

// TestSmallCache runs through more subjects than the cache holds, so keys are
// evicted and unwrapped again from the key store.
func TestSmallCache(t *testing.T) {
	dir := t.TempDir()
	v := openVault(t, randomKey(t), openKeys(t, dir), vault.Options{CacheSize: 2})
	ss := newSubjects(t, v, 10)
	sealed := make([][]byte, len(ss))
	for i, s := range ss {
		sealed[i] = seal(t, v, s, "f", string(s))
	}
	for round := 0; round < 2; round++ {
		for i, s := range ss {
			opens(t, v, s, "f", sealed[i], string(s))
		}
	}
}

// TestAppendSealed: the fields of one event, sealed in one go, are in
// garde's format after what dst held, and each opens with Open for its
// own path only; a subject without a key gets ErrShredded and dst back.
func TestAppendSealed(t *testing.T) {
	v, _, _ := newVault(t)
	ss := newSubjects(t, v, 2)
	s, other := ss[0], ss[1]
	fields := [][2]string{{"properties.email", `"ada@example.com"`}, {"context.ip", `"192.0.2.7"`}, {"properties.note", ""}}
	each := func(yield func(string, []byte) bool) {
		for _, f := range fields {
			if !yield(f[0], []byte(f[1])) {
				return
			}
		}
	}
	prefix := garde.AppendSealedField(nil, "properties.phone", seal(t, v, s, "properties.phone", `"+33 6"`))
	out, err := v.AppendSealed(context.Background(), bytes.Clone(prefix), s, each)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, prefix) || bytes.Contains(out, []byte("ada@")) {
		t.Fatalf("what dst held is not kept in front, or a value is in clear")
	}
	var got [][2]string
	err = garde.SealedFields(out, func(path string, c []byte) error {
		pt, err := v.Open(context.Background(), s, path, c)
		if err != nil {
			return err
		}
		got = append(got, [2]string{path, string(pt)})
		if _, err := v.Open(context.Background(), other, path, c); !errors.Is(err, vault.ErrTampered) {
			t.Errorf("%s opens for another subject: %v", path, err)
		}
		if _, err := v.Open(context.Background(), s, path+"x", c); !errors.Is(err, vault.ErrTampered) {
			t.Errorf("%s opens for another path: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := append([][2]string{{"properties.phone", `"+33 6"`}}, fields...)
	if len(got) != len(want) {
		t.Fatalf("read back %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: %v, want %v", i, got[i], want[i])
		}
	}

	if err := v.Shred(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if back, err := v.AppendSealed(context.Background(), prefix, other, each); !errors.Is(err, vault.ErrShredded) || !bytes.Equal(back, prefix) {
		t.Errorf("shredded subject: %v, dst %x", err, back)
	}
}
