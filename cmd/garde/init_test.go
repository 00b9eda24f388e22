package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde/access"
)

// TestInit: init writes the inventory, the data directory and a 0600 key
// file, shows the admin key and the first console admin once, refuses to
// overwrite, and Garde refuses to start on a group- or world-readable key.
func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "site")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := newRoot()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run("init", dir, "--admin-email", "dpo@maison-lumiere.example")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	st, err := os.Stat(filepath.Join(dir, "garde-data", masterKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	if out, err := run("inventory", "check", filepath.Join(dir, "garde.yaml")); err != nil {
		t.Fatalf("the written inventory does not check: %v\n%s", err, out)
	}
	password := regexp.MustCompile(`password  (\S+)`).FindStringSubmatch(out)
	totp := regexp.MustCompile(`secret=([A-Z2-7]+)`).FindStringSubmatch(out)
	if password == nil || totp == nil || !strings.Contains(out, "garde_") {
		t.Fatalf("init output lacks the admin credentials:\n%s", out)
	}
	if out, err := run("init", dir); err == nil {
		t.Fatalf("a second init overwrote: %s", out)
	}

	// the first admin signs in with the password and a TOTP code
	m := &Main{ConfigPath: filepath.Join(dir, "garde.yaml"), ConfigExplicit: true, DataDir: filepath.Join(dir, "garde-data"),
		Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, err := access.TOTPCode(totp[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.srv.Auth.Login(context.Background(), "dpo@maison-lumiere.example", password[1], code, "127.0.0.1:1"); err != nil {
		t.Fatalf("first admin sign-in: %v", err)
	}
	m.Close(context.Background())

	// a key file others can read is refused
	if err := os.Chmod(filepath.Join(dir, "garde-data", masterKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	m = &Main{ConfigPath: filepath.Join(dir, "garde.yaml"), ConfigExplicit: true, DataDir: filepath.Join(dir, "garde-data"),
		Listen: "127.0.0.1:0", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := m.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		m.Close(context.Background())
		t.Fatalf("a world-readable key file was accepted: %v", err)
	}
}
