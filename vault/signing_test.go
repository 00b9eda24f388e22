package vault_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// stepClock returns a clock that starts at a fixed instant and moves one
// second per reading.
func stepClock() garde.Clock {
	var n atomic.Int64
	start := time.Date(2025, 5, 25, 9, 0, 0, 0, time.UTC)
	return garde.ClockFunc(func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) })
}

func signer(t testing.TB, v *vault.Vault, use string) *vault.Signer {
	t.Helper()
	s, err := v.Signer(context.Background(), use)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sign(t testing.TB, s *vault.Signer, msg string) (string, []byte) {
	t.Helper()
	kid, sig, err := s.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return kid, sig
}

// wantCode asserts that err is target and a *garde.Error with the given
// public message.
func wantErr(t *testing.T, err, target error, msg string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got %v, want %v", err, target)
	}
	if got := garde.ErrorMessage(err); got != msg {
		t.Errorf("message = %q, want %q", got, msg)
	}
}

func TestSignerSignVerify(t *testing.T) {
	v, _, _ := newVault(t)
	s := signer(t, v, vault.UseReceipts)
	msg := "consent receipt 42"
	kid, sig := sign(t, s, msg)
	cur := s.Current()
	if kid != cur.ID || kid != s.KeyID() {
		t.Errorf("Sign used kid %q, current is %q", kid, cur.ID)
	}
	if len(kid) != 16 || kid != vault.KeyID(cur.Public) {
		t.Errorf("kid %q is not the 16-character id of the public key", kid)
	}
	if cur.Use != vault.UseReceipts || !cur.Retired.IsZero() || cur.Created.IsZero() {
		t.Errorf("current key = %+v", cur)
	}
	if !ed25519.Verify(cur.Public, []byte(msg), sig) {
		t.Error("the signature does not verify with plain crypto/ed25519")
	}
	if err := s.Verify(kid, []byte(msg), sig); err != nil {
		t.Fatalf("Verify: %v", err)
	}

	bad := bytes.Clone(sig)
	bad[10] ^= 1
	for name, tc := range map[string]struct {
		kid      string
		msg, sig []byte
		target   error
		message  string
	}{
		"altered message":   {kid, []byte(msg + "!"), sig, vault.ErrBadSignature, "signature does not verify"},
		"altered signature": {kid, []byte(msg), bad, vault.ErrBadSignature, "signature does not verify"},
		"short signature":   {kid, []byte(msg), sig[:63], vault.ErrBadSignature, "signature does not verify"},
		"no signature":      {kid, []byte(msg), nil, vault.ErrBadSignature, "signature does not verify"},
		"unknown kid":       {"AAAAAAAAAAAAAAAA", []byte(msg), sig, vault.ErrUnknownKey, "unknown key id"},
		"empty kid":         {"", []byte(msg), sig, vault.ErrUnknownKey, "unknown key id"},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.Verify(tc.kid, tc.msg, tc.sig)
			wantErr(t, err, tc.target, tc.message)
			if garde.ErrorCode(err) != garde.EInvalid {
				t.Errorf("code = %q, want %q", garde.ErrorCode(err), garde.EInvalid)
			}
		})
	}

	t.Run("uses have their own keys", func(t *testing.T) {
		audit := signer(t, v, vault.UseAudit)
		if audit.KeyID() == kid {
			t.Fatal("audit and receipts share a key")
		}
		if err := audit.Verify(kid, []byte(msg), sig); !errors.Is(err, vault.ErrUnknownKey) {
			t.Errorf("a receipt signature verified as audit: %v", err)
		}
	})
	t.Run("PublicKey", func(t *testing.T) {
		pub, ok := s.PublicKey(kid)
		if !ok || !bytes.Equal(pub, cur.Public) {
			t.Fatalf("PublicKey(kid) = %x, %v", pub, ok)
		}
		pub[0] ^= 1 // a copy: the signer is unaffected
		if err := s.Verify(kid, []byte(msg), sig); err != nil {
			t.Errorf("mutating a returned key broke the signer: %v", err)
		}
		if _, ok := s.PublicKey("nope"); ok {
			t.Error("PublicKey of an unknown kid")
		}
	})
}

func TestSignerUseNames(t *testing.T) {
	v, _, _ := newVault(t)
	for _, use := range []string{"", "Receipts", "re/ceipts", "receipts ", "-x", "0day", "a23456789012345678901234567890123", "ré"} {
		if _, err := v.Signer(context.Background(), use); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("Signer(%q): got %v, want EInvalid", use, err)
		}
	}
	for _, use := range []string{"receipts", "audit", "certificates", "links", "a", "x-2"} {
		signer(t, v, use)
	}
}

func TestSignerRotate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mk := randomKey(t)
	v := openVault(t, mk, openKeys(t, dir), vault.Options{Clock: stepClock()})
	s := signer(t, v, vault.UseReceipts)
	first := s.Current()
	oldKid, oldSig := sign(t, s, "before")

	if err := s.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	second := s.Current()
	if second.ID == first.ID || bytes.Equal(second.Public, first.Public) {
		t.Fatal("Rotate kept the key")
	}
	kid, sig := sign(t, s, "after")
	if kid != second.ID {
		t.Errorf("Sign after Rotate used %q, want the new key %q", kid, second.ID)
	}
	if err := s.Verify(oldKid, []byte("before"), oldSig); err != nil {
		t.Errorf("a signature of the retired key no longer verifies: %v", err)
	}
	if err := s.Verify(kid, []byte("after"), sig); err != nil {
		t.Error(err)
	}
	if err := s.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	third := s.Current()

	keys := s.Keys()
	if len(keys) != 3 {
		t.Fatalf("%d keys, want 3", len(keys))
	}
	if keys[0].ID != third.ID || keys[1].ID != second.ID || keys[2].ID != first.ID {
		t.Errorf("Keys() order = %s %s %s, want current first then newest retired", keys[0].ID, keys[1].ID, keys[2].ID)
	}
	if !keys[0].Retired.IsZero() || keys[1].Retired != third.Created || keys[2].Retired != second.Created {
		t.Errorf("retirement times: %v %v %v", keys[0].Retired, keys[1].Retired, keys[2].Retired)
	}

	t.Run("restart keeps the keys", func(t *testing.T) {
		again := signer(t, openVault(t, mk, openKeys(t, dir), vault.Options{}), vault.UseReceipts)
		if diff := cmp.Diff(keys, again.Keys()); diff != "" {
			t.Errorf("keys after reopening (-before +after):\n%s", diff)
		}
		if err := again.Verify(oldKid, []byte("before"), oldSig); err != nil {
			t.Error(err)
		}
		if kid, _ := sign(t, again, "x"); kid != third.ID {
			t.Errorf("reopened signer signs with %q, want %q", kid, third.ID)
		}
	})
	t.Run("master-key rotation leaves signing keys alone", func(t *testing.T) {
		next := randomKey(t)
		if err := v.Rotate(ctx, next); err != nil {
			t.Fatal(err)
		}
		again := signer(t, openVault(t, next, openKeys(t, dir), vault.Options{}), vault.UseReceipts)
		if diff := cmp.Diff(keys, again.Keys()); diff != "" {
			t.Errorf("keys after master-key rotation (-before +after):\n%s", diff)
		}
		if err := again.Verify(oldKid, []byte("before"), oldSig); err != nil {
			t.Error(err)
		}
		if _, err := vault.Open(ctx, mk, openKeys(t, dir), vault.Options{}); !errors.Is(err, vault.ErrMasterMismatch) {
			t.Errorf("old master key: got %v, want ErrMasterMismatch", err)
		}
	})
}

// TestSignerProcesses: two vaults on one key database, as two processes.
func TestSignerProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mk := randomKey(t)
	v1 := openVault(t, mk, openKeys(t, dir), vault.Options{})
	v2 := openVault(t, mk, openKeys(t, dir), vault.Options{})

	t.Run("first key created once", func(t *testing.T) {
		var wg sync.WaitGroup
		kids := make([]string, 8)
		for i := range kids {
			wg.Go(func() {
				v := v1
				if i%2 == 1 {
					v = v2
				}
				s, err := v.Signer(ctx, vault.UseCertificates)
				if err != nil {
					t.Error(err)
					return
				}
				kids[i] = s.KeyID()
			})
		}
		wg.Wait()
		for _, k := range kids {
			if k != kids[0] {
				t.Fatalf("concurrent first use made several keys: %q", kids)
			}
		}
	})

	a, b := signer(t, v1, vault.UseLinks), signer(t, v2, vault.UseLinks)
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	kid, sig := sign(t, a, "link")
	if err := b.Verify(kid, []byte("link"), sig); !errors.Is(err, vault.ErrUnknownKey) {
		t.Fatalf("before Reload: got %v, want ErrUnknownKey", err)
	}
	t.Run("a stale rotation is refused", func(t *testing.T) {
		err := b.Rotate(ctx)
		wantErr(t, err, vault.ErrSigningKeyRotated, "signing key was rotated concurrently")
		if b.KeyID() != a.KeyID() {
			t.Errorf("after the refused Rotate, b signs with %q, want the store's %q", b.KeyID(), a.KeyID())
		}
		if n := len(a.Keys()); n != 2 {
			t.Errorf("%d keys, want 2", n)
		}
	})
	t.Run("Reload", func(t *testing.T) {
		if err := a.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(a.Keys(), b.Keys()); diff != "" {
			t.Errorf("keys after Reload (-a +b):\n%s", diff)
		}
		if err := b.Verify(kid, []byte("link"), sig); err != nil {
			t.Error(err)
		}
	})
}

// TestSignerStoreTampering: the key store is not trusted with the keys'
// integrity — only the root secret is.
func TestSignerStoreTampering(t *testing.T) {
	ctx := context.Background()
	exec := func(t *testing.T, dir, q string, args ...any) {
		t.Helper()
		db, err := store.OpenSQLite(ctx, filepath.Join(dir, "keys.db"), "keys")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Writer().ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	setup := func(t *testing.T) (vault.MasterKey, string, *vault.Signer) {
		v, mk, dir := newVault(t)
		s := signer(t, v, vault.UseReceipts)
		signer(t, v, vault.UseAudit)
		return mk, dir, s
	}
	reopen := func(t *testing.T, mk vault.MasterKey, dir string) error {
		_, err := openVault(t, mk, openKeys(t, dir), vault.Options{}).Signer(ctx, vault.UseReceipts)
		return err
	}

	t.Run("a foreign public key slipped in", func(t *testing.T) {
		mk, dir, s := setup(t)
		pub, _, _ := ed25519.GenerateKey(nil)
		exec(t, dir, `INSERT INTO signing_keys (kid, key_use, generation, public_key, wrapped, created_at, retired_at) VALUES (?, 'receipts', 0, ?, ?, 1, 1)`,
			vault.KeyID(pub), []byte(pub), bytes.Repeat([]byte{1}, 60))
		if err := reopen(t, mk, dir); !errors.Is(err, vault.ErrTampered) {
			t.Errorf("got %v, want ErrTampered", err)
		}
		if err := s.Reload(ctx); !errors.Is(err, vault.ErrTampered) {
			t.Errorf("Reload: got %v, want ErrTampered", err)
		}
		if _, _, err := s.Sign([]byte("x")); err != nil {
			t.Errorf("a failed Reload broke the signer: %v", err)
		}
	})
	t.Run("public key replaced", func(t *testing.T) {
		mk, dir, _ := setup(t)
		pub, _, _ := ed25519.GenerateKey(nil)
		exec(t, dir, `UPDATE signing_keys SET public_key = ? WHERE key_use = 'receipts'`, []byte(pub))
		if err := reopen(t, mk, dir); !errors.Is(err, vault.ErrTampered) {
			t.Errorf("got %v, want ErrTampered", err)
		}
	})
	t.Run("key moved to another use", func(t *testing.T) {
		mk, dir, _ := setup(t)
		exec(t, dir, `UPDATE signing_keys SET key_use = 'x' WHERE key_use = 'receipts'`)
		exec(t, dir, `UPDATE signing_keys SET key_use = 'receipts' WHERE key_use = 'audit'`)
		if err := reopen(t, mk, dir); !errors.Is(err, vault.ErrTampered) {
			t.Errorf("got %v, want ErrTampered", err)
		}
	})
	t.Run("seeds under another root", func(t *testing.T) {
		// Another installation (another root secret) holding a copy of the
		// rows cannot open the seeds.
		_, dir, _ := setup(t)
		from := openKeys(t, dir)
		stolen, err := from.FindSigningKeys(ctx, vault.UseReceipts)
		if err != nil || len(stolen) != 1 {
			t.Fatalf("FindSigningKeys = %d keys, %v", len(stolen), err)
		}
		other, _, otherDir := newVault(t)
		if _, err := openKeys(t, otherDir).CreateSigningKey(ctx, stolen[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Signer(ctx, vault.UseReceipts); !errors.Is(err, vault.ErrTampered) {
			t.Errorf("got %v, want ErrTampered", err)
		}
	})
	t.Run("wrong master key", func(t *testing.T) {
		_, dir, _ := setup(t)
		if _, err := vault.Open(ctx, randomKey(t), openKeys(t, dir), vault.Options{}); !errors.Is(err, vault.ErrMasterMismatch) {
			t.Errorf("got %v, want ErrMasterMismatch", err)
		}
	})
}

// TestSignerConcurrent signs and verifies from many goroutines while the key
// rotates. Run it with -race.
func TestSignerConcurrent(t *testing.T) {
	ctx := context.Background()
	v, _, _ := newVault(t)
	s := signer(t, v, vault.UseAudit)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				msg := []byte(fmt.Sprintf("%d/%d", g, i))
				kid, sig, err := s.Sign(msg)
				if err == nil {
					err = s.Verify(kid, msg, sig)
				}
				if err != nil {
					t.Error(err)
					return
				}
				_ = s.Keys()
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if err := s.Rotate(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if n := len(s.Keys()); n != 6 {
		t.Errorf("%d keys, want 6", n)
	}
}

func TestSignerFormat(t *testing.T) {
	v, _, _ := newVault(t)
	s := signer(t, v, vault.UseReceipts)
	want := "vault.Signer(receipts, " + s.KeyID() + ")"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q", "%d"} {
		if got := fmt.Sprintf(verb, s); got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", verb, got, want)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	v, _, _ := newVault(b)
	s := signer(b, v, vault.UseReceipts)
	msg := bytes.Repeat([]byte("r"), 512)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v, _, _ := newVault(b)
	s := signer(b, v, vault.UseReceipts)
	msg := bytes.Repeat([]byte("r"), 512)
	kid, sig := sign(b, s, string(msg))
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(kid, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
