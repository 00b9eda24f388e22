package vault_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

func TestWrongMasterKey(t *testing.T) {
	_, _, dir := newVault(t)
	_, err := vault.Open(context.Background(), randomKey(t), openKeys(t, dir), vault.Options{})
	if !errors.Is(err, vault.ErrMasterMismatch) {
		t.Fatalf("got %v, want ErrMasterMismatch", err)
	}
	if got, want := garde.ErrorMessage(err), "master key does not match this key store"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldKey, newKey := randomKey(t), randomKey(t)
	v := openVault(t, oldKey, openKeys(t, dir), vault.Options{CacheSize: 4})
	ss := newSubjects(t, v, 20)
	sealed := make([][]byte, len(ss))
	for i, s := range ss {
		sealed[i] = seal(t, v, s, "properties.email", string(s))
	}
	blind := v.BlindIndex("email", "ada@example.com")
	derived := v.DeriveKey("ip-salt")

	if err := v.Rotate(ctx, newKey); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, v *vault.Vault) {
		t.Helper()
		for i, s := range ss {
			opens(t, v, s, "properties.email", sealed[i], string(s))
		}
		if got := v.BlindIndex("email", "ada@example.com"); !bytes.Equal(got, blind) {
			t.Errorf("blind index changed by rotation: %x, want %x", got, blind)
		}
		if got := v.DeriveKey("ip-salt"); !bytes.Equal(got, derived) {
			t.Errorf("derived key changed by rotation")
		}
		s := newSubjects(t, v, 1)[0]
		opens(t, v, s, "f", seal(t, v, s, "f", "after"), "after")
	}
	t.Run("same vault", func(t *testing.T) { check(t, v) })
	t.Run("reopened with the new key", func(t *testing.T) { check(t, openVault(t, newKey, openKeys(t, dir), vault.Options{})) })
	t.Run("old key refused", func(t *testing.T) {
		if _, err := vault.Open(ctx, oldKey, openKeys(t, dir), vault.Options{}); !errors.Is(err, vault.ErrMasterMismatch) {
			t.Fatalf("got %v, want ErrMasterMismatch", err)
		}
	})
	t.Run("to the same key", func(t *testing.T) {
		if err := v.Rotate(ctx, newKey); garde.ErrorCode(err) != garde.EInvalid {
			t.Fatalf("got %v, want invalid", err)
		}
	})
}

// TestRotatedElsewhere: a vault still holding the old master key, after
// another process rotated the store, fails loudly instead of mixing keys.
func TestRotatedElsewhere(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldKey := randomKey(t)
	stale := openVault(t, oldKey, openKeys(t, dir), vault.Options{CacheSize: 1})
	ss := newSubjects(t, stale, 2)
	c := seal(t, stale, ss[0], "f", "x") // evicts ss[1] from the cache

	other := openVault(t, oldKey, openKeys(t, dir), vault.Options{})
	if err := other.Rotate(ctx, randomKey(t)); err != nil {
		t.Fatal(err)
	}
	opens(t, stale, ss[0], "f", c, "x") // cached: still fine
	if _, err := stale.Seal(ctx, ss[1], "f", []byte("x")); !errors.Is(err, vault.ErrMasterMismatch) {
		t.Errorf("Seal with an uncached key: got %v, want ErrMasterMismatch", err)
	}
	if err := stale.CreateKeys(ctx, []garde.SubjectID{garde.NewSubjectID()}); !errors.Is(err, vault.ErrMasterMismatch) {
		t.Errorf("CreateKeys: got %v, want ErrMasterMismatch", err)
	}
	if err := stale.Rotate(ctx, randomKey(t)); !errors.Is(err, vault.ErrMasterMismatch) {
		t.Errorf("Rotate: got %v, want ErrMasterMismatch", err)
	}
}

func TestRotateKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	oldKey, err := vault.CreateMasterKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ks := openKeys(t, dir)
	v, err := vault.OpenKeyFile(ctx, ks, keyFile, vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSubjects(t, v, 1)[0]
	c := seal(t, v, s, "f", "x")

	if err := vault.RotateKeyFile(ctx, ks, keyFile); err != nil {
		t.Fatal(err)
	}
	newKey, err := vault.LoadMasterKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if newKey == oldKey {
		t.Fatal("key file unchanged by RotateKeyFile")
	}
	if _, err := os.Stat(keyFile + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.new left behind: %v", keyFile, err)
	}
	v2, err := vault.OpenKeyFile(ctx, openKeys(t, dir), keyFile, vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opens(t, v2, s, "f", c, "x")
	if _, err := vault.Open(ctx, oldKey, openKeys(t, dir), vault.Options{}); !errors.Is(err, vault.ErrMasterMismatch) {
		t.Fatalf("old key: got %v, want ErrMasterMismatch", err)
	}
}

// TestRotateKeyFileRecovery simulates a crash at each step of RotateKeyFile.
func TestRotateKeyFileRecovery(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (ks vault.KeyStore, keyFile string, cur vault.MasterKey, s garde.SubjectID, c []byte) {
		dir := t.TempDir()
		keyFile = filepath.Join(dir, "master.key")
		cur, err := vault.CreateMasterKeyFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		ks = openKeys(t, dir)
		v := openVault(t, cur, ks, vault.Options{})
		s = newSubjects(t, v, 1)[0]
		return ks, keyFile, cur, s, seal(t, v, s, "f", "x")
	}

	t.Run("crash before the store rotated", func(t *testing.T) {
		ks, keyFile, cur, s, c := setup(t)
		if _, err := vault.CreateMasterKeyFile(keyFile + ".new"); err != nil {
			t.Fatal(err)
		}
		k, err := vault.ResolveKeyFile(ctx, ks, keyFile)
		if err != nil || k != cur {
			t.Fatalf("ResolveKeyFile = %v, want the current key", err)
		}
		opens(t, openVault(t, k, ks, vault.Options{}), s, "f", c, "x")
		err = vault.RotateKeyFile(ctx, ks, keyFile)
		if garde.ErrorCode(err) != garde.EConflict || !strings.Contains(err.Error(), keyFile+".new") {
			t.Fatalf("RotateKeyFile with a leftover .new: got %v, want a conflict naming it", err)
		}
		os.Remove(keyFile + ".new") // what the message tells the operator
		if err := vault.RotateKeyFile(ctx, ks, keyFile); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("crash after the store rotated, before the rename", func(t *testing.T) {
		ks, keyFile, cur, s, c := setup(t)
		next, err := vault.CreateMasterKeyFile(keyFile + ".new")
		if err != nil {
			t.Fatal(err)
		}
		if err := openVault(t, cur, ks, vault.Options{}).Rotate(ctx, next); err != nil {
			t.Fatal(err)
		}
		v, err := vault.OpenKeyFile(ctx, ks, keyFile, vault.Options{})
		if err != nil {
			t.Fatalf("OpenKeyFile = %v, want the rotation finished", err)
		}
		opens(t, v, s, "f", c, "x")
		if k, err := vault.LoadMasterKeyFile(keyFile); err != nil || k != next {
			t.Fatalf("key file after recovery: %v; want the new key", err)
		}
		if _, err := os.Stat(keyFile + ".new"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf(".new left behind: %v", err)
		}
	})

	t.Run("neither key", func(t *testing.T) {
		ks, keyFile, _, _, _ := setup(t)
		os.Remove(keyFile)
		if _, err := vault.CreateMasterKeyFile(keyFile); err != nil {
			t.Fatal(err)
		}
		if _, err := vault.ResolveKeyFile(ctx, ks, keyFile); !errors.Is(err, vault.ErrMasterMismatch) {
			t.Fatalf("got %v, want ErrMasterMismatch", err)
		}
	})
}
