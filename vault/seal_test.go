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

// TestBeginKeys: keys made by BeginKeys seal and open at once, even once
// evicted from a tiny cache, and are in the key store only once store has
// returned; a failed store forgets them all; a subject that has a key
// cached, or comes twice, is refused at once.
func TestBeginKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mk := randomKey(t)
	v := openVault(t, mk, openKeys(t, dir), vault.Options{CacheSize: 2})
	other := openVault(t, mk, openKeys(t, dir), vault.Options{}) // another process on the same key store
	ss := []garde.SubjectID{garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID(), garde.NewSubjectID()}
	store, err := v.BeginKeys(ss)
	if err != nil {
		t.Fatal(err)
	}
	sealed := make([][]byte, len(ss))
	for i, s := range ss {
		if ok, err := v.HasKey(ctx, s); err != nil || !ok {
			t.Fatalf("HasKey before store: %v, %v", ok, err)
		}
		sealed[i] = seal(t, v, s, "f", "before store")
		if ok, _ := other.HasKey(ctx, s); ok {
			t.Fatal("a key is in the key store before store ran")
		}
	}
	if err := store(ctx); err != nil {
		t.Fatal(err)
	}
	for i, s := range ss {
		opens(t, v, s, "f", sealed[i], "before store")
		opens(t, other, s, "f", sealed[i], "before store") // from the key store
	}

	t.Run("failed store forgets", func(t *testing.T) {
		fresh := garde.NewSubjectID()
		// ss[0]'s key is in the key store; this vault's tiny cache holds
		// ss[2] and ss[3] at most, so BeginKeys cannot tell
		store, err := other.BeginKeys([]garde.SubjectID{fresh})
		if err != nil {
			t.Fatal(err)
		}
		bad, err := v.BeginKeys([]garde.SubjectID{garde.NewSubjectID(), ss[0]})
		if err != nil {
			t.Fatal(err)
		}
		if err := bad(ctx); !errors.Is(err, vault.ErrKeyExists) {
			t.Fatalf("store of an existing key: %v, want ErrKeyExists", err)
		}
		opens(t, v, ss[0], "f", sealed[0], "before store") // the stored key, not the forgotten one
		if err := store(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refused at once", func(t *testing.T) {
		if _, err := other.BeginKeys([]garde.SubjectID{ss[1]}); !errors.Is(err, vault.ErrKeyExists) { // cached there
			t.Errorf("cached subject: %v, want ErrKeyExists", err)
		}
		s := garde.NewSubjectID()
		if _, err := v.BeginKeys([]garde.SubjectID{s, s}); !errors.Is(err, vault.ErrKeyExists) {
			t.Errorf("twice: %v, want ErrKeyExists", err)
		}
		if ok, _ := v.HasKey(ctx, s); ok {
			t.Error("a refused call left a key")
		}
		if _, err := v.BeginKeys([]garde.SubjectID{"bob@example.com"}); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("malformed id: %v, want invalid", err)
		}
	})
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

// TestSealFields: the fields of one event are sealed at once, in place, in
// garde's format 2 after what b held: their paths readable without the key,
// their values not; OpenFields gives them back in order for that subject
// only, and any change to a path, a length or the sealed bytes is refused.
// Format 1 opens through OpenFields too. Values that do not follow their
// header are refused; a subject without a key gets ErrShredded.
func TestSealFields(t *testing.T) {
	ctx := context.Background()
	v, _, _ := newVault(t)
	ss := newSubjects(t, v, 2)
	s, other := ss[0], ss[1]
	fields := [][2]string{{"properties.email", `"ada@example.com"`}, {"context.ip", `"192.0.2.7"`}, {"properties.note", ""}}
	prefix := []byte("held")
	out, err := sealEvent(v, s, bytes.Clone(prefix), fields)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, prefix) || bytes.Contains(out, []byte("ada@")) || bytes.Contains(out, []byte("192.0.2.7")) {
		t.Fatalf("what dst held is not kept in front, or a value is in clear")
	}
	sealed := out[len(prefix):]
	open := func(s garde.SubjectID, sealed []byte) ([][2]string, error) {
		var got [][2]string
		err := v.OpenFields(ctx, s, sealed, func(path string, pt []byte) error {
			got = append(got, [2]string{path, string(pt)})
			return nil
		})
		return got, err
	}
	got, err := open(s, sealed)
	if err != nil || len(got) != len(fields) {
		t.Fatalf("read back %v, %v; want %v", got, err, fields)
	}
	for i := range fields {
		if got[i] != fields[i] {
			t.Errorf("field %d: %v, want %v", i, got[i], fields[i])
		}
	}
	var paths []string
	if err := garde.SealedPaths(sealed, func(p string) { paths = append(paths, p) }); err != nil || len(paths) != 3 || paths[1] != "context.ip" {
		t.Errorf("paths without the key: %v, %v", paths, err)
	}
	if err := garde.SealedFields(sealed, func(string, []byte) error { return nil }); !errors.Is(err, garde.ErrSealedFields) {
		t.Errorf("SealedFields took format 2: %v", err)
	}
	if _, err := open(other, sealed); !errors.Is(err, vault.ErrTampered) {
		t.Errorf("opens for another subject: %v", err)
	}
	// a path renamed (same length), two lengths traded (same total), a
	// sealed byte flipped, the end cut off
	tampered := map[string][]byte{
		"path":      bytes.Replace(bytes.Clone(sealed), []byte("context.ip"), []byte("context.iq"), 1),
		"lengths":   reheader(t, sealed, func(f []garde.SealedField) { f[0].Size, f[1].Size = f[1].Size, f[0].Size }),
		"sealed":    func() []byte { b := bytes.Clone(sealed); b[len(b)-20] ^= 1; return b }(),
		"truncated": sealed[:len(sealed)-1],
	}
	for name, b := range tampered {
		if _, err := open(s, b); !errors.Is(err, vault.ErrTampered) && !errors.Is(err, garde.ErrSealedFields) {
			t.Errorf("%s changed: %v, want a refusal", name, err)
		}
	}
	// format 1, each value sealed on its own
	one := garde.AppendSealedField(nil, "properties.phone", seal(t, v, s, "properties.phone", `"+33 6"`))
	if got, err := open(s, one); err != nil || len(got) != 1 || got[0] != [2]string{"properties.phone", `"+33 6"`} {
		t.Errorf("format 1: %v, %v", got, err)
	}
	laid := garde.AppendSealedHeader(nil, []garde.SealedField{{Path: "properties.email", Size: 5}})
	for name, b := range map[string][]byte{"short": append(laid, "ab"...), "long": append(laid, "abcdefg"...), "no header": []byte("abc")} {
		if _, err := v.SealFields(ctx, s, b, 0); err == nil {
			t.Errorf("%s: sealed", name)
		}
	}

	if err := v.Shred(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := sealEvent(v, other, nil, fields); !errors.Is(err, vault.ErrShredded) {
		t.Errorf("shredded subject: %v", err)
	}
	if _, err := open(other, sealed); !errors.Is(err, vault.ErrShredded) {
		t.Errorf("open for a shredded subject: %v", err)
	}
}

// reheader rewrites the header of an event's sealed fields (format 2) with
// edit applied to its fields, keeping what follows.
func reheader(t *testing.T, sealed []byte, edit func([]garde.SealedField)) []byte {
	t.Helper()
	var fields []garde.SealedField
	end, err := garde.SealedHeader(sealed, func(path []byte, size int) error {
		fields = append(fields, garde.SealedField{Path: string(path), Size: size})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	edit(fields)
	return append(garde.AppendSealedHeader(nil, fields), sealed[end:]...)
}

// sealEvent lays out fields (path, value) after b as SealFields reads them
// and seals them.
func sealEvent(v *vault.Vault, s garde.SubjectID, b []byte, fields [][2]string) ([]byte, error) {
	var list []garde.SealedField
	for _, f := range fields {
		list = append(list, garde.SealedField{Path: f[0], Size: len(f[1])})
	}
	start := len(b)
	b = garde.AppendSealedHeader(b, list)
	for _, f := range fields {
		b = append(b, f[1]...)
	}
	return v.SealFields(context.Background(), s, b, start)
}
