package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// These tests hold the key store to the vault.KeyStore contract with opaque
// byte strings; the cryptography is the vault's and is tested there.

func openKeys(t *testing.T) *store.Keys {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "keys.db"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.NewKeys(db)
}

var (
	masterA = vault.MasterKeyID{0xa}
	masterB = vault.MasterKeyID{0xb}
	created = time.UnixMilli(1_700_000_000_123).UTC()
)

func withRoot(t *testing.T, ks *store.Keys, id vault.MasterKeyID) vault.Root {
	t.Helper()
	r := vault.Root{Wrapped: []byte("root under " + id.String()), MasterID: id, Created: created}
	if ok, err := ks.CreateRoot(context.Background(), r); err != nil || !ok {
		t.Fatalf("CreateRoot = %v, %v", ok, err)
	}
	return r
}

func wrappedKeys(n int, id vault.MasterKeyID) []vault.WrappedKey {
	keys := make([]vault.WrappedKey, n)
	for i := range keys {
		s := garde.NewSubjectID()
		keys[i] = vault.WrappedKey{Subject: s, Wrapped: []byte("key of " + string(s)), MasterID: id, Created: created}
	}
	return keys
}

func TestKeysRoot(t *testing.T) {
	ctx := context.Background()
	ks := openKeys(t)
	if _, ok, err := ks.FindRoot(ctx); err != nil || ok {
		t.Fatalf("FindRoot on a new store = %v, %v; want none", ok, err)
	}
	want := withRoot(t, ks, masterA)
	again := vault.Root{Wrapped: []byte("another"), MasterID: masterB, Created: created}
	if ok, err := ks.CreateRoot(ctx, again); err != nil || ok {
		t.Fatalf("second CreateRoot = %v, %v; want false, nil", ok, err)
	}
	got, ok, err := ks.FindRoot(ctx)
	if err != nil || !ok {
		t.Fatalf("FindRoot = %v, %v", ok, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("root (-want +got):\n%s", diff)
	}
}

func TestKeysCreateFind(t *testing.T) {
	ctx := context.Background()
	ks := openKeys(t)
	t.Run("no root", func(t *testing.T) {
		if err := ks.CreateSubjectKeys(ctx, wrappedKeys(1, masterA)); !errors.Is(err, vault.ErrMasterMismatch) {
			t.Fatalf("got %v, want ErrMasterMismatch", err)
		}
	})
	withRoot(t, ks, masterA)
	keys := wrappedKeys(3, masterA)
	if err := ks.CreateSubjectKeys(ctx, keys); err != nil {
		t.Fatal(err)
	}
	for _, want := range keys {
		got, ok, err := ks.FindSubjectKey(ctx, want.Subject)
		if err != nil || !ok {
			t.Fatalf("FindSubjectKey(%s) = %v, %v", want.Subject, ok, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("key (-want +got):\n%s", diff)
		}
	}
	if _, ok, err := ks.FindSubjectKey(ctx, garde.NewSubjectID()); err != nil || ok {
		t.Errorf("FindSubjectKey(unknown) = %v, %v; want none", ok, err)
	}

	for _, tc := range []struct {
		name string
		keys []vault.WrappedKey
		want error
	}{
		{"existing subject", append(wrappedKeys(2, masterA), keys[1]), vault.ErrKeyExists},
		{"duplicate in batch", func() []vault.WrappedKey { k := wrappedKeys(1, masterA); return append(k, k[0]) }(), vault.ErrKeyExists},
		{"other master", append(wrappedKeys(2, masterA), wrappedKeys(1, masterB)...), vault.ErrMasterMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ks.CreateSubjectKeys(ctx, tc.keys)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if _, ok, _ := ks.FindSubjectKey(ctx, tc.keys[0].Subject); ok {
				t.Error("first key of a failed batch was stored: want all or none")
			}
		})
	}
}

func TestKeysDelete(t *testing.T) {
	ctx := context.Background()
	ks := openKeys(t)
	withRoot(t, ks, masterA)
	keys := wrappedKeys(3, masterA)
	if err := ks.CreateSubjectKeys(ctx, keys); err != nil {
		t.Fatal(err)
	}
	gone := []garde.SubjectID{keys[0].Subject, keys[1].Subject, garde.NewSubjectID()}
	for range 2 { // idempotent
		if err := ks.DeleteSubjectKeys(ctx, gone); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range keys {
		_, ok, err := ks.FindSubjectKey(ctx, k.Subject)
		if err != nil || ok != (i == 2) {
			t.Errorf("key %d after delete: found=%v err=%v", i, ok, err)
		}
	}
}

func TestKeysRewrap(t *testing.T) {
	ctx := context.Background()
	ks := openKeys(t)
	withRoot(t, ks, masterA)
	keys := wrappedKeys(2500, masterA) // several chunks
	if err := ks.CreateSubjectKeys(ctx, keys); err != nil {
		t.Fatal(err)
	}
	newRoot := vault.Root{Wrapped: []byte("root under B"), MasterID: masterB, Created: created.Add(time.Hour)}
	rewrap := func(k vault.WrappedKey) (vault.WrappedKey, error) {
		k.Wrapped, k.MasterID = append([]byte("B:"), k.Wrapped...), masterB
		return k, nil
	}
	unchanged := func(t *testing.T) {
		t.Helper()
		if r, _, _ := ks.FindRoot(ctx); r.MasterID != masterA {
			t.Fatalf("root changed by a failed Rewrap")
		}
		for _, want := range keys {
			if got, _, _ := ks.FindSubjectKey(ctx, want.Subject); !bytes.Equal(got.Wrapped, want.Wrapped) || got.MasterID != masterA {
				t.Fatalf("key of %s changed by a failed Rewrap", want.Subject)
			}
		}
	}

	t.Run("wrong from", func(t *testing.T) {
		if err := ks.Rewrap(ctx, masterB, newRoot, rewrap); !errors.Is(err, vault.ErrMasterMismatch) {
			t.Fatalf("got %v, want ErrMasterMismatch", err)
		}
		unchanged(t)
	})
	t.Run("fn fails mid-way", func(t *testing.T) {
		n := 0
		boom := errors.New("boom")
		err := ks.Rewrap(ctx, masterA, newRoot, func(k vault.WrappedKey) (vault.WrappedKey, error) {
			if n++; n == 1500 {
				return vault.WrappedKey{}, boom
			}
			return rewrap(k)
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
		unchanged(t)
	})
	t.Run("fn changes the subject", func(t *testing.T) {
		err := ks.Rewrap(ctx, masterA, newRoot, func(k vault.WrappedKey) (vault.WrappedKey, error) {
			k.Subject = garde.NewSubjectID()
			return k, nil
		})
		if err == nil {
			t.Fatal("got nil, want an error")
		}
		unchanged(t)
	})
	t.Run("all keys and the root", func(t *testing.T) {
		seen := map[garde.SubjectID]int{}
		err := ks.Rewrap(ctx, masterA, newRoot, func(k vault.WrappedKey) (vault.WrappedKey, error) {
			seen[k.Subject]++
			return rewrap(k)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(keys) {
			t.Errorf("fn saw %d subjects, want %d", len(seen), len(keys))
		}
		for s, n := range seen {
			if n != 1 {
				t.Errorf("fn saw %s %d times, want once", s, n)
			}
		}
		got, _, _ := ks.FindRoot(ctx)
		if diff := cmp.Diff(newRoot, got); diff != "" {
			t.Errorf("root (-want +got):\n%s", diff)
		}
		for _, k := range keys {
			want, _ := rewrap(k)
			got, _, _ := ks.FindSubjectKey(ctx, k.Subject)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("key (-want +got):\n%s", diff)
			}
		}
		// new keys must now be wrapped under B
		if err := ks.CreateSubjectKeys(ctx, wrappedKeys(1, masterA)); !errors.Is(err, vault.ErrMasterMismatch) {
			t.Errorf("key under the old master after Rewrap: got %v, want ErrMasterMismatch", err)
		}
	})
}

func TestKeysConcurrentReads(t *testing.T) {
	ctx := context.Background()
	ks := openKeys(t)
	withRoot(t, ks, masterA)
	keys := wrappedKeys(50, masterA)
	if err := ks.CreateSubjectKeys(ctx, keys); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 200 {
				k := keys[(g+i)%len(keys)]
				if _, ok, err := ks.FindSubjectKey(ctx, k.Subject); err != nil || !ok {
					errc <- fmt.Errorf("FindSubjectKey: %v, %v", ok, err)
					return
				}
			}
			errc <- nil
		}()
	}
	if err := ks.CreateSubjectKeys(ctx, wrappedKeys(100, masterA)); err != nil {
		t.Error(err)
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}
