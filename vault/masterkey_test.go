package vault_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

func TestCreateMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k, err := vault.CreateMasterKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %04o, want 0600", got)
	}
	b, _ := os.ReadFile(path)
	if got, want := string(b), hex.EncodeToString(k[:])+"\n"; got != want {
		t.Errorf("file holds %d bytes, want one line of 64 hex digits", len(got))
	}
	loaded, err := vault.LoadMasterKeyFile(path)
	if err != nil || loaded != k {
		t.Fatalf("LoadMasterKeyFile = %v; want the created key", err)
	}

	_, err = vault.CreateMasterKeyFile(path)
	if garde.ErrorCode(err) != garde.EConflict {
		t.Fatalf("second create: got %v, want conflict", err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(b) {
		t.Fatal("existing key file was overwritten")
	}
}

func TestLoadMasterKeyFileMode(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o644, false},
		{0o640, false},
		{0o604, false},
		{0o620, false},
		{0o602, false},
	} {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if _, err := vault.CreateMasterKeyFile(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := vault.LoadMasterKeyFile(path)
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("got nil, want the file refused")
			}
			msg := garde.ErrorMessage(err)
			if !strings.Contains(msg, path) || !strings.Contains(msg, "chmod 600") {
				t.Errorf("message %q should name the path and the fix (chmod 600)", msg)
			}
		})
	}
}

func TestLoadMasterKeyFileContent(t *testing.T) {
	secretish := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeZZ"
	for _, tc := range []struct {
		name, content string
		ok            bool
	}{
		{"hex line", strings.Repeat("ab", 32) + "\n", true},
		{"no newline", strings.Repeat("ab", 32), true},
		{"crlf", strings.Repeat("ab", 32) + "\r\n", true},
		{"short", strings.Repeat("ab", 31) + "\n", false},
		{"bad digit", secretish + "\n", false},
		{"base64", base64.StdEncoding.EncodeToString(make([]byte, 32)), false},
		{"two lines", strings.Repeat("ab", 32) + "\n" + strings.Repeat("ab", 32) + "\n", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := vault.LoadMasterKeyFile(path)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if err != nil && tc.content != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.content)[:16]) {
				t.Errorf("error %q quotes the key material", err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := vault.LoadMasterKeyFile(filepath.Join(t.TempDir(), "none"))
		if garde.ErrorCode(err) != garde.ENotFound || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("got %v, want not found", err)
		}
	})
}

func TestParseMasterKey(t *testing.T) {
	var want vault.MasterKey
	for i := range want {
		want[i] = byte(0xf0 + i) // high bits set: std and URL base64 differ
	}
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"hex", hex.EncodeToString(want[:]), true},
		{"hex upper", strings.ToUpper(hex.EncodeToString(want[:])), true},
		{"hex spaces", "  " + hex.EncodeToString(want[:]) + "\n", true},
		{"base64 std", base64.StdEncoding.EncodeToString(want[:]), true},
		{"base64 raw std", base64.RawStdEncoding.EncodeToString(want[:]), true},
		{"base64 url", base64.URLEncoding.EncodeToString(want[:]), true},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(want[:]), true},
		{"empty", "", false},
		{"hex short", hex.EncodeToString(want[:31]), false},
		{"hex long", hex.EncodeToString(append(want[:], 0)), false},
		{"hex bad digit", "zz" + hex.EncodeToString(want[1:]), false},
		{"base64 short", base64.StdEncoding.EncodeToString(want[:31]), false},
		{"base64 long", base64.StdEncoding.EncodeToString(append(want[:], 0, 0, 0)), false},
		{"garbage", "correct horse battery staple", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vault.ParseMasterKey(tc.in)
			if !tc.ok {
				if err == nil {
					t.Fatal("got nil, want an error")
				}
				if garde.ErrorCode(err) != garde.EInvalid {
					t.Errorf("code = %q, want invalid", garde.ErrorCode(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatal("decoded key differs")
			}
		})
	}
}

func TestMasterKeyFromEnv(t *testing.T) {
	k := vault.MasterKey{1, 2, 3}
	for _, tc := range []struct {
		name, value string
		set         bool
		ok, err     bool
	}{
		{"unset", "", false, false, false},
		{"empty", "", true, false, false},
		{"hex", hex.EncodeToString(k[:]), true, true, false},
		{"base64", base64.StdEncoding.EncodeToString(k[:]), true, true, false},
		{"invalid", "not a key", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.set {
				t.Setenv(vault.EnvMasterKey, tc.value)
			} else {
				t.Setenv(vault.EnvMasterKey, "x")
				os.Unsetenv(vault.EnvMasterKey)
			}
			got, ok, err := vault.MasterKeyFromEnv()
			if ok != tc.ok || (err != nil) != tc.err {
				t.Fatalf("got ok=%v err=%v, want ok=%v err=%v", ok, err, tc.ok, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), vault.EnvMasterKey) {
				t.Errorf("error %q should name %s", err, vault.EnvMasterKey)
			}
			if tc.ok && !tc.err && got != k {
				t.Error("decoded key differs")
			}
		})
	}
}

func TestMasterKeyRedacted(t *testing.T) {
	var k vault.MasterKey
	for i := range k {
		k[i] = 0xab
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		got := fmt.Sprintf(verb, k)
		if strings.Contains(strings.ToLower(got), "abab") || strings.Contains(got, "171") {
			t.Errorf("Sprintf(%s) = %q: shows the key", verb, got)
		}
	}
}
