package vault_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

func TestShred(t *testing.T) {
	ctx := context.Background()
	v, mk, dir := newVault(t)
	ss := newSubjects(t, v, 2)
	gone, kept := ss[0], ss[1]
	cGone := seal(t, v, gone, "properties.email", "ada@example.com")
	cKept := seal(t, v, kept, "properties.email", "grace@example.com")
	opens(t, v, gone, "properties.email", cGone, "ada@example.com") // key now cached

	if err := v.Shred(ctx, gone); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, v *vault.Vault) {
		t.Helper()
		_, err := v.Open(ctx, gone, "properties.email", cGone)
		if !errors.Is(err, vault.ErrShredded) {
			t.Fatalf("Open after Shred: got %v, want ErrShredded", err)
		}
		if got, want := garde.ErrorCode(err), garde.ENotFound; got != want {
			t.Errorf("code = %q, want %q", got, want)
		}
		if got, want := garde.ErrorMessage(err), "subject's key was destroyed"; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		if _, err := v.Seal(ctx, gone, "f", []byte("x")); !errors.Is(err, vault.ErrShredded) {
			t.Errorf("Seal after Shred: got %v, want ErrShredded", err)
		}
		if ok, err := v.HasKey(ctx, gone); err != nil || ok {
			t.Errorf("HasKey after Shred = %v, %v; want false", ok, err)
		}
		opens(t, v, kept, "properties.email", cKept, "grace@example.com")
	}
	t.Run("same vault", func(t *testing.T) { check(t, v) })
	t.Run("reopened", func(t *testing.T) { check(t, openVault(t, mk, openKeys(t, dir), vault.Options{})) })
	t.Run("unknown and repeated", func(t *testing.T) {
		if err := v.Shred(ctx, gone, garde.NewSubjectID(), "not-an-id"); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		if err := v.Shred(ctx); err != nil {
			t.Fatalf("Shred() = %v, want nil", err)
		}
	})
	t.Run("new key after shred", func(t *testing.T) {
		// a shredded subject may be given a new key (a new life), but the
		// old data stays unreadable
		if err := v.CreateKeys(ctx, []garde.SubjectID{gone}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Open(ctx, gone, "properties.email", cGone); !errors.Is(err, vault.ErrTampered) {
			t.Fatalf("got %v, want ErrTampered", err)
		}
	})
}

// TestShredLeavesNoCopy scans the key database's files, main and write-ahead
// log, for the wrapped key of a shredded subject.
func TestShredLeavesNoCopy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ks := openKeys(t, dir)
	v := openVault(t, randomKey(t), ks, vault.Options{})
	var ss []garde.SubjectID
	for range 20 { // several batches: several transactions, several WAL frames
		ss = append(ss, newSubjects(t, v, 50)...)
	}
	gone, kept := ss[:100], ss[100:]
	wrapped := func(s garde.SubjectID) []byte {
		k, ok, err := ks.FindSubjectKey(ctx, s)
		if err != nil || !ok {
			t.Fatalf("FindSubjectKey(%s) = %v, %v", s, ok, err)
		}
		return k.Wrapped
	}
	goneKeys := make([][]byte, len(gone))
	for i, s := range gone {
		goneKeys[i] = wrapped(s)
		seal(t, v, s, "f", "x")
	}
	files := func() []byte {
		var all []byte
		for _, name := range []string{"keys.db", "keys.db-wal"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	// control: the scan finds keys that are there, before and after
	before := files()
	for i, k := range goneKeys {
		if !bytes.Contains(before, k) {
			t.Fatalf("control: wrapped key %d not found in the files before Shred", i)
		}
	}
	if err := v.Shred(ctx, gone...); err != nil {
		t.Fatal(err)
	}
	after := files()
	for i, k := range goneKeys {
		// any 16-byte piece (nonce, ciphertext or tag) would be a leftover
		for off := 0; off+16 <= len(k); off += 16 {
			if bytes.Contains(after, k[off:off+16]) {
				t.Fatalf("shredded subject %d: bytes %d..%d of its wrapped key are still in the key database files", i, off, off+16)
			}
		}
	}
	for _, s := range kept {
		if !bytes.Contains(after, wrapped(s)) {
			t.Fatalf("control: the wrapped key of kept subject %s is not in the files", s)
		}
	}
}
