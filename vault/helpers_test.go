package vault_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// openKeys opens (creating) the key database keys.db in dir. Each call opens
// new handles, as another process would.
func openKeys(t testing.TB, dir string) *store.Keys {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "keys.db"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.NewKeys(db)
}

func randomKey(t testing.TB) vault.MasterKey {
	t.Helper()
	k, err := vault.CreateMasterKeyFile(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openVault(t testing.TB, mk vault.MasterKey, ks vault.KeyStore, opts vault.Options) *vault.Vault {
	t.Helper()
	v, err := vault.Open(context.Background(), mk, ks, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newVault opens a vault on a fresh key store in a temp dir.
func newVault(t testing.TB) (*vault.Vault, vault.MasterKey, string) {
	t.Helper()
	dir := t.TempDir()
	mk := randomKey(t)
	return openVault(t, mk, openKeys(t, dir), vault.Options{}), mk, dir
}

// newSubjects creates n subjects with keys.
func newSubjects(t testing.TB, v *vault.Vault, n int) []garde.SubjectID {
	t.Helper()
	ss := make([]garde.SubjectID, n)
	for i := range ss {
		ss[i] = garde.NewSubjectID()
	}
	if err := v.CreateKeys(context.Background(), ss); err != nil {
		t.Fatal(err)
	}
	return ss
}

func seal(t testing.TB, v *vault.Vault, s garde.SubjectID, field, plaintext string) []byte {
	t.Helper()
	c, err := v.Seal(context.Background(), s, field, []byte(plaintext))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// opens asserts that sealed opens to want.
func opens(t testing.TB, v *vault.Vault, s garde.SubjectID, field string, sealed []byte, want string) {
	t.Helper()
	got, err := v.Open(context.Background(), s, field, sealed)
	if err != nil {
		t.Fatalf("Open(%s, %q): %v", s, field, err)
	}
	if string(got) != want {
		t.Fatalf("Open(%s, %q) = %q, want %q", s, field, got, want)
	}
}
