package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// identity is a blind index as stored.
type identity struct {
	kind string
	hash []byte
}

// seedDistinctive sends a person's journey over HTTP, with clear
// (non-personal) values as distinctive as the personal ones, and returns
// their subject id.
func seedDistinctive(t *testing.T, in *instance, p gardetest.Person, tag string) garde.SubjectID {
	t.Helper()
	g := gardetest.NewGenerator(7)
	in.consent(g.Consent(p, "analytics", "personalisation", "email_marketing"))
	journey := g.Journey(p)
	for _, m := range journey {
		props, _ := m["properties"].(map[string]any)
		switch m["event"] {
		case "Order Completed":
			props["order_id"], props["coupon"] = "ORD-"+tag, "COUPON"+tag
		case "Support Ticket Opened":
			props["message"] = props["message"].(string) + " Réf. TICKET" + tag
		}
	}
	if a := in.batch(gardetest.WebKey, journey...); a.status != http.StatusOK {
		t.Fatalf("batch: %d %s", a.status, a.body)
	}
	prof, a := in.subject("email=" + p.Email)
	if a.status != http.StatusOK {
		t.Fatalf("read: %d %s", a.status, a.body)
	}
	return garde.SubjectID(prof["id"].(string))
}

func identitiesOf(t *testing.T, db *store.DB, members []garde.SubjectID) []identity {
	t.Helper()
	var out []identity
	for _, s := range members {
		rows, err := db.Reader().Query(`SELECT kind, hash FROM identities WHERE subject_id = ?`, string(s))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id identity
			if err := rows.Scan(&id.kind, &id.hash); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		rows.Close()
	}
	return out
}

// sealedValue reads the sealed fields of one event of the members from db.
func sealedValue(t *testing.T, db *store.DB, members []garde.SubjectID) (garde.SubjectID, []byte) {
	t.Helper()
	for _, s := range members {
		var sealed []byte
		err := db.Reader().QueryRow(`SELECT sealed FROM events WHERE subject_id = ? AND sealed IS NOT NULL LIMIT 1`, string(s)).Scan(&sealed)
		if err == nil && len(sealed) > 0 {
			return s, sealed
		}
	}
	t.Fatal("no sealed value")
	return "", nil
}

// execCmd runs a verb's command with args and returns what it printed.
func execCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestForensicErasure seeds a distinctive person over HTTP, backs the
// instance up, erases the person, and proves that no file of the data
// directory holds any of their values or blind indexes, that the backup
// taken before can no longer be read, that the certificate verifies (and a
// tampered one does not), that the person is suppressed, and that another
// person is untouched.
func TestForensicErasure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	in := start(t, dir, collect.WriterOptions{})
	p := distinctive()
	subject := seedDistinctive(t, in, p, "ZQ771")
	q := gardetest.NewGenerator(3).Person()
	other := seedDistinctive(t, in, q, "KEPT42")

	es := store.NewErase(in.m.Data)
	members, err := es.FindMembers(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	ids := identitiesOf(t, in.m.Data, members)
	otherMembers, err := es.FindMembers(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	otherIDs := identitiesOf(t, in.m.Data, otherMembers)

	// a backup before the erasure: data and keys apart
	backup := t.TempDir()
	if _, err := execCmd(t, newBackupCmd(), "--data", dir, "--out", filepath.Join(backup, "data"), "--keys-out", filepath.Join(backup, "data", "keys")); garde.ErrorCode(err) != garde.EInvalid {
		t.Fatalf("backup with --keys-out inside --out: got %v, want %s", err, garde.EInvalid)
	}
	out, err := execCmd(t, newBackupCmd(), "--data", dir, "--out", filepath.Join(backup, "data"), "--keys-out", filepath.Join(backup, "keys"))
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.Contains(out, "at most 30 days") {
		t.Errorf("backup does not say how long to keep the keys:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(backup, "data", keysFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the data backup holds the key database: %v", err)
	}
	old, err := store.OpenSQLite(ctx, filepath.Join(backup, "data", dataFile), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	sealedFor, sealed := sealedValue(t, old, members)
	end, err := garde.SealedHeader(sealed, func([]byte, int) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	ct := sealed[end:] // the values, sealed: secure_delete must leave no trace of them
	openEvent := func() error {
		return in.m.Vault.OpenFields(ctx, sealedFor, sealed, func(string, []byte) error { return nil })
	}
	if err := openEvent(); err != nil {
		t.Fatalf("before the erasure, the backup's sealed value must open: %v", err)
	}

	// erase
	certs, err := in.m.Vault.Signer(ctx, vault.UseCertificates)
	if err != nil {
		t.Fatal(err)
	}
	eraser := &rights.Eraser{Data: es, Keys: in.m.Vault, KeyStore: store.NewKeys(in.m.Keys), Certs: certs,
		Clock: in.m.Clock, Inventory: in.m.Inventory}
	c, token, err := eraser.Erase(ctx, subject, rights.EraseOptions{Suppress: true, Reason: "Art. 17 request", Actor: "op_test"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != subject || len(c.Members) != len(members) || c.Rows.Events == 0 || len(c.Categories) == 0 || !c.Suppressed {
		t.Fatalf("certificate: %+v", c)
	}

	// the raw bytes of every file of the data directory, while it runs (the
	// write-ahead logs and shared-memory files exist)
	secrets := []string{p.Email, strings.ToUpper(p.Email), p.FirstName, p.LastName, p.Street, p.City + " ", "98 76 54 32",
		p.UserID, p.AnonymousID, "ORD-ZQ771", "COUPONZQ771", "TICKETZQ771", string(ct)}
	for _, id := range ids {
		secrets = append(secrets, string(id.hash))
	}
	files := assertNotInFilesList(t, dir, secrets...)
	for _, f := range []string{dataFile, dataFile + "-wal", keysFile, keysFile + "-wal"} {
		if !files[f] {
			t.Errorf("%s was not scanned (scanned %v)", f, files)
		}
	}
	// the other person is still there, in clear where declared so
	if b, err := os.ReadFile(filepath.Join(dir, dataFile)); err != nil || !bytes.Contains(b, []byte("ORD-KEPT42")) {
		t.Errorf("the other person's order is gone from the data file (%v)", err)
	}
	prof, a := in.subject("email=" + q.Email)
	if a.status != http.StatusOK || prof["traits"].(map[string]any)["email"] != q.Email {
		t.Fatalf("the other person: %d %s", a.status, a.body)
	}
	if _, a := in.subject("email=" + p.Email); a.status != http.StatusNotFound {
		t.Fatalf("the erased person is still found: %d %s", a.status, a.body)
	}

	// the backup taken before the erasure can no longer be read
	if err := openEvent(); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("the backup's sealed value after the erasure: got %v, want ErrShredded", err)
	}
	// … not even with the data backup's own key database (there is none)
	// nor the live one (the key is gone from it)
	if n := countRows(t, in.m.Keys, `SELECT count(*) FROM subject_keys WHERE subject_id = ?`, string(sealedFor)); n != 0 {
		t.Fatalf("the live key database still holds %d keys of the subject", n)
	}

	// the certificate verifies offline against the vault's certificates
	// keys, and a tampered one does not
	certFile := filepath.Join(t.TempDir(), "cert.jws")
	os.WriteFile(certFile, []byte(token+"\n"), 0o600)
	out, err = execCmd(t, newRightsCmd(), "verify-certificate", certFile, "--data", dir)
	if err != nil || !strings.Contains(out, "signature OK") || !strings.Contains(out, string(subject)) {
		t.Fatalf("verify-certificate: %v\n%s", err, out)
	}
	// and against the keys Garde publishes
	if out, err := execCmd(t, newRightsCmd(), "verify-certificate", certFile, "--jwks", in.base+"/.well-known/jwks.json"); err != nil {
		t.Fatalf("verify-certificate --jwks: %v\n%s", err, out)
	}
	keys, err := certificateKeys(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"suppressed":true`, `"suppressed":false`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	if _, err := rights.VerifyCertificate(tampered, keys); garde.ErrorCode(err) != garde.EInvalid || forged == string(payload) {
		t.Fatalf("tampered certificate: got %v, want %s", err, garde.EInvalid)
	}
	if _, err := execCmd(t, newRightsCmd(), "verify-certificate", tampered, "--data", dir); garde.ErrorCode(err) != garde.EInvalid {
		t.Fatalf("verify-certificate of a tampered certificate: got %v, want %s", err, garde.EInvalid)
	}
	// a suppressed person coming back is recognised by their identities
	for _, id := range ids {
		if ok, err := eraser.Suppressed(ctx, id.kind, id.hash); err != nil || !ok {
			t.Errorf("Suppressed(%s) = %v, %v; want true", id.kind, ok, err)
		}
	}
	if ok, err := eraser.Suppressed(ctx, collect.IdentityEmail, in.m.Vault.BlindIndex(collect.IdentityEmail, p.Email)); err != nil || !ok {
		t.Errorf("Suppressed(the e-mail sent again) = %v, %v; want true", ok, err)
	}
	for _, id := range otherIDs {
		if ok, err := eraser.Suppressed(ctx, id.kind, id.hash); err != nil || ok {
			t.Errorf("Suppressed(the other person's %s) = %v, %v; want false", id.kind, ok, err)
		}
	}

	// bad input
	if _, _, err := eraser.Erase(ctx, subject, rights.EraseOptions{Actor: "op_test"}); garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("erasing twice: got %v, want %s", err, garde.ENotFound)
	}
	if _, _, err := eraser.Erase(ctx, garde.NewSubjectID(), rights.EraseOptions{Actor: "op_test"}); garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("erasing an unknown subject: got %v, want %s", err, garde.ENotFound)
	}

	// the CLI on the stopped instance: the other person, then an unknown one
	in.close()
	out, err = execCmd(t, newRightsCmd(), "erase", string(other), "--data", dir, "--reason", "test", "--actor", "op_cli")
	if err != nil || !strings.Contains(out, "certificate er_") {
		t.Fatalf("rights erase: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if _, err := execCmd(t, newRightsCmd(), "verify-certificate", lines[len(lines)-1], "--data", dir); err != nil {
		t.Fatalf("verify the CLI's certificate: %v", err)
	}
	if _, err := execCmd(t, newRightsCmd(), "erase", string(garde.NewSubjectID()), "--data", dir); garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("rights erase of an unknown subject: got %v, want %s", err, garde.ENotFound)
	}
	assertNotInFiles(t, dir, append(secrets, q.Email, "ORD-KEPT42", "COUPONKEPT42")...)
}

// assertNotInFilesList is assertNotInFiles that also returns the names of
// the files it scanned.
func assertNotInFilesList(t *testing.T, dir string, secrets ...string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		seen[d.Name()] = true
		return nil
	})
	assertNotInFiles(t, dir, secrets...)
	return seen
}

func countRows(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
