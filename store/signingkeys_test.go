package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// These tests hold store.Keys to the vault.SigningKeyStore contract with
// opaque byte strings; the cryptography is the vault's and is tested there.

func signingKey(use, id string, gen int, at time.Time) vault.WrappedSigningKey {
	return vault.WrappedSigningKey{
		ID: id, Use: use, Generation: gen,
		Public: []byte("public " + id), Wrapped: []byte("wrapped " + id), Created: at,
	}
}

func findSigning(t *testing.T, ks *store.Keys, use string) []vault.WrappedSigningKey {
	t.Helper()
	keys, err := ks.FindSigningKeys(context.Background(), use)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestSigningKeysCreate(t *testing.T) {
	ctx := context.Background()
	ks := openKeys(t)
	if keys := findSigning(t, ks, "receipts"); len(keys) != 0 {
		t.Fatalf("new store has %d keys", len(keys))
	}
	first := signingKey("receipts", "kid-1", 1, created)
	if ok, err := ks.CreateSigningKey(ctx, first); err != nil || !ok {
		t.Fatalf("CreateSigningKey = %v, %v; want true, nil", ok, err)
	}
	if ok, err := ks.CreateSigningKey(ctx, signingKey("receipts", "kid-2", 1, created)); err != nil || ok {
		t.Fatalf("second CreateSigningKey = %v, %v; want false, nil", ok, err)
	}
	if diff := cmp.Diff([]vault.WrappedSigningKey{first}, findSigning(t, ks, "receipts")); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if ok, err := ks.CreateSigningKey(ctx, signingKey("audit", "kid-3", 1, created)); err != nil || !ok {
		t.Fatalf("CreateSigningKey of another use = %v, %v; want true, nil", ok, err)
	}
	retired := signingKey("links", "kid-4", 1, created)
	retired.Retired = created
	if _, err := ks.CreateSigningKey(ctx, retired); err == nil {
		t.Error("created a retired first key")
	}
}

func TestSigningKeysRotate(t *testing.T) {
	ctx := context.Background()
	ks := openKeys(t)
	k1 := signingKey("receipts", "kid-1", 1, created)
	if _, err := ks.CreateSigningKey(ctx, k1); err != nil {
		t.Fatal(err)
	}
	other := signingKey("audit", "kid-a", 1, created)
	if _, err := ks.CreateSigningKey(ctx, other); err != nil {
		t.Fatal(err)
	}
	k2 := signingKey("receipts", "kid-2", 2, created.Add(time.Hour))

	t.Run("from a key that is not current", func(t *testing.T) {
		for _, from := range []string{"kid-0", "kid-a", ""} {
			err := ks.RotateSigningKey(ctx, from, k2)
			if !errors.Is(err, vault.ErrSigningKeyRotated) {
				t.Errorf("from %q: got %v, want ErrSigningKeyRotated", from, err)
			}
		}
		if diff := cmp.Diff([]vault.WrappedSigningKey{k1}, findSigning(t, ks, "receipts")); diff != "" {
			t.Errorf("a refused rotation changed the keys (-want +got):\n%s", diff)
		}
	})
	t.Run("a failed insert changes nothing", func(t *testing.T) {
		clash := signingKey("receipts", "kid-a", 2, created.Add(time.Hour)) // kid taken by audit
		if err := ks.RotateSigningKey(ctx, "kid-1", clash); err == nil {
			t.Fatal("got nil, want an error")
		}
		if diff := cmp.Diff([]vault.WrappedSigningKey{k1}, findSigning(t, ks, "receipts")); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	})
	t.Run("rotation", func(t *testing.T) {
		if err := ks.RotateSigningKey(ctx, "kid-1", k2); err != nil {
			t.Fatal(err)
		}
		k3 := signingKey("receipts", "kid-3", 3, created.Add(2*time.Hour))
		if err := ks.RotateSigningKey(ctx, "kid-2", k3); err != nil {
			t.Fatal(err)
		}
		old1, old2 := k1, k2
		old1.Retired, old2.Retired = k2.Created, k3.Created
		if diff := cmp.Diff([]vault.WrappedSigningKey{k3, old2, old1}, findSigning(t, ks, "receipts")); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]vault.WrappedSigningKey{other}, findSigning(t, ks, "audit")); diff != "" {
			t.Errorf("another use changed (-want +got):\n%s", diff)
		}
	})
}

// TestSigningKeysRaces: several handles on one file, as several processes.
func TestSigningKeysRaces(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	handles := make([]*store.Keys, 4)
	for i := range handles {
		db, err := store.OpenSQLite(ctx, path, "keys")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		handles[i] = store.NewKeys(db)
	}
	race := func(fn func(i int, ks *store.Keys) error) (ok int, errs []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i, ks := range handles {
			wg.Go(func() {
				err := fn(i, ks)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		return ok, errs
	}

	ok, errs := race(func(i int, ks *store.Keys) error {
		created, err := ks.CreateSigningKey(ctx, signingKey("receipts", fmt.Sprintf("first-%d", i), 1, created))
		if err == nil && !created {
			return errors.New("not created")
		}
		return err
	})
	if ok != 1 {
		t.Fatalf("%d concurrent CreateSigningKey created a key, want 1 (errors: %v)", ok, errs)
	}
	keys := findSigning(t, handles[0], "receipts")
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}

	from := keys[0].ID
	ok, errs = race(func(i int, ks *store.Keys) error {
		return ks.RotateSigningKey(ctx, from, signingKey("receipts", fmt.Sprintf("second-%d", i), 2, created.Add(time.Hour)))
	})
	if ok != 1 {
		t.Fatalf("%d concurrent rotations from one key succeeded, want 1", ok)
	}
	for _, err := range errs {
		if !errors.Is(err, vault.ErrSigningKeyRotated) {
			t.Errorf("losing rotation: got %v, want ErrSigningKeyRotated", err)
		}
	}
	if keys := findSigning(t, handles[1], "receipts"); len(keys) != 2 || !keys[0].Retired.IsZero() || keys[1].Retired.IsZero() {
		t.Errorf("after the race: %+v", keys)
	}
}
