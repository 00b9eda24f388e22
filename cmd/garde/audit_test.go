package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// runAudit runs the audit command in-process.
func runAudit(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	cmd := newAuditCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// auditDataDir is a data directory whose audit log holds n entries, signed
// with the vault's audit key every 10.
func auditDataDir(t *testing.T, n int) string {
	t.Helper()
	t.Setenv(vault.EnvMasterKey, "")
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := vault.CreateMasterKeyFile(filepath.Join(dir, masterKeyFile)); err != nil {
		t.Fatal(err)
	}
	keys, err := store.OpenSQLite(ctx, filepath.Join(dir, keysFile), "keys")
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	v, err := vault.OpenKeyFile(ctx, store.NewKeys(keys), filepath.Join(dir, masterKeyFile), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := v.Signer(ctx, vault.UseAudit)
	if err != nil {
		t.Fatal(err)
	}
	data, err := store.OpenSQLite(ctx, filepath.Join(dir, dataFile), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	log := &audit.Log{Signer: signer, CheckpointEvery: 10}
	a := store.NewAudit(data)
	for range n {
		e := audit.Entry{Actor: "op_1", Role: "dpo", Action: audit.ActionSubjectRead, Purpose: "support_request",
			Subjects: []garde.SubjectID{garde.NewSubjectID()}, Outcome: audit.OutcomeOK}
		if err := a.Append(ctx, log, e); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAuditVerifyCLI(t *testing.T) {
	dir := auditDataDir(t, 25)
	out, err := runAudit(t, "verify", "--data", dir)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	t.Logf("verify printed:\n%s", out)
	for _, want := range []string{"audit log: 25 entries (1 to 25), 3 checkpoints: OK", "last checkpoint: seq 21, hash "} {
		if !strings.Contains(out, want) {
			t.Errorf("verify printed:\n%s\nwant %q", out, want)
		}
	}

	// Export (recorded as entry 26), then check the file offline.
	out, err = runAudit(t, "export", "--data", dir, "--format", "jsonl")
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 26+3 || !strings.Contains(lines[len(lines)-1], `"action":"audit.export"`) {
		t.Fatalf("export wrote %d lines ending %s; want 26 entries and 3 checkpoints, the export last", len(lines), lines[len(lines)-1])
	}
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runAudit(t, "verify", "--data", dir, "--file", file); err != nil || !strings.Contains(out, "26 entries (1 to 26), 3 checkpoints: OK") {
		t.Errorf("verify --file: %v\n%s", err, out)
	}

	// Tamper with entry 7 (a byte of its time, in its segment: see
	// store/audit.go).
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, dataFile), "data")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Writer().Exec(`UPDATE audit_segments SET body = unhex(hex(substr(body, 1, p + 31)) || 'FF' || hex(substr(body, p + 33)))
		FROM (SELECT first_seq AS f, instr(body, unhex('00000014' || hex('garde-audit-entry/v1') || printf('%016X', 7))) AS p
			FROM audit_segments) WHERE first_seq = f AND p > 0`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err = runAudit(t, "verify", "--data", dir)
	t.Logf("verify after tampering printed:\n%s", out)
	if err == nil || !strings.Contains(out, "NOT OK: first bad entry 7:") || !strings.Contains(publicError(err), "first bad entry 7") {
		t.Errorf("verify after tampering: %v\n%s", err, out)
	}
}

func TestAuditCLIBadInput(t *testing.T) {
	dir := auditDataDir(t, 1)
	cases := map[string][]string{
		"no database":  {"verify", "--data", t.TempDir()},
		"bad since":    {"export", "--data", dir, "--since", "yesterday"},
		"bad format":   {"export", "--data", dir, "--format", "csv"},
		"missing file": {"verify", "--data", dir, "--file", filepath.Join(dir, "nope.jsonl")},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := runAudit(t, args...); err == nil {
				t.Errorf("%v: no error", args)
			}
		})
	}
}
