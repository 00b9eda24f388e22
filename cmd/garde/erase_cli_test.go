package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

// TestRightsEraseMany: `garde rights erase --from-file` on a stopped
// instance erases every listed person in shared batches, writes one
// certificate a person (each verifies), appends one audit entry a person
// to a log that still verifies, and reports a subject it could not erase
// without stopping the others; a malformed list erases nothing.
func TestRightsEraseMany(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir, collect.WriterOptions{})
	g := gardetest.NewGenerator(11)
	var ids []string
	for range 3 {
		p := g.Person()
		if a := in.batch(gardetest.WebKey, g.Identify(p), g.Order(p)); a.status != 200 {
			t.Fatalf("seed: %d %s", a.status, a.body)
		}
		prof, a := in.subject("userId=" + p.UserID)
		if a.status != 200 {
			t.Fatalf("subject: %d %s", a.status, a.body)
		}
		ids = append(ids, prof["id"].(string))
	}
	in.close()

	list := filepath.Join(dir, "erase.txt")
	bad := "# a controller's list\n" + ids[0] + "\nnot-a-subject\n"
	if err := os.WriteFile(list, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := execCmd(t, newRightsCmd(), "erase", "--from-file", list, "--data", dir); garde.ErrorCode(err) != garde.EInvalid || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a malformed list: %v", err)
	}
	unknown := string(garde.NewSubjectID())
	good := "# a controller's list\n\n" + strings.Join(ids, "\n") + "\n" + unknown + "\n"
	if err := os.WriteFile(list, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs.txt")
	out, err := execCmd(t, newRightsCmd(), "erase", "--from-file", list, "--cert-out", certs, "--data", dir, "--reason", "shop closed", "--actor", "op_bulk")
	if garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("an unknown subject in the list: got %v, want %s", err, garde.ENotFound)
	}
	if n := strings.Count(out, "certificate er_"); n != 3 {
		t.Fatalf("%d people erased, want 3:\n%s", n, out)
	}
	b, err := os.ReadFile(certs)
	if err != nil {
		t.Fatal(err)
	}
	tokens := strings.Fields(string(b))
	if len(tokens) != 3 {
		t.Fatalf("%d certificates written, want 3", len(tokens))
	}
	for _, tok := range tokens {
		if _, err := execCmd(t, newRightsCmd(), "verify-certificate", tok, "--data", dir); err != nil {
			t.Fatalf("verify a certificate: %v", err)
		}
	}

	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, dataFile), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := countRows(t, db, "SELECT count(*) FROM subjects"); n != 0 {
		t.Errorf("%d subjects left", n)
	}
	var erased []garde.SubjectID
	err = store.NewAudit(db).FindAudit(ctx, audit.Filter{Action: audit.ActionErasure}, func(e *audit.Entry) error {
		if e.Actor != "op_bulk" || len(e.Subjects) != 1 {
			t.Errorf("erasure entry: actor %q, subjects %v", e.Actor, e.Subjects)
		}
		erased = append(erased, e.Subjects...)
		return nil
	})
	if err != nil || len(erased) != 3 {
		t.Fatalf("erasure entries: %v, %v", erased, err)
	}
	if _, err := execCmd(t, newAuditCmd(), "verify", "--data", dir); err != nil {
		t.Fatalf("audit verify after the bulk erasure: %v", err)
	}
}
