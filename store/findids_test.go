package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/store"
)

// TestFindIdentities: many identities looked up at once, in statements of
// every size, give exactly those that exist, each with its subject; each
// statement seeks the primary key once per pair instead of scanning.
func TestFindIdentities(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	tx, err := store.NewCollect(db).BeginCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var ids []collect.Identity
	want := map[string]garde.SubjectID{}
	for i := range 150 {
		id := collect.Identity{Kind: collect.IdentityAnon, Hash: []byte(fmt.Sprintf("hash-%03d", i))}
		if i%3 == 0 {
			id.Kind = collect.IdentityUser
		}
		ids = append(ids, id)
		if i%2 == 0 { // every other one exists
			s := garde.NewSubjectID()
			if err := tx.CreateSubject(ctx, s, false, time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := tx.CreateIdentity(ctx, id.Kind, id.Hash, s, time.Now()); err != nil {
				t.Fatal(err)
			}
			want[id.Kind+string(id.Hash)] = s
		}
	}
	// the same hash under another kind is another identity
	ids = append(ids, collect.Identity{Kind: collect.IdentityEmail, Hash: []byte("hash-000")})
	got := map[string]garde.SubjectID{}
	err = tx.FindIdentities(ctx, ids, func(id collect.Identity, s garde.SubjectID) {
		if _, dup := got[id.Kind+string(id.Hash)]; dup {
			t.Errorf("%s %s found twice", id.Kind, id.Hash)
		}
		got[id.Kind+string(id.Hash)] = s
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("found %d identities, want %d", len(got), len(want))
	}
	for k, s := range want {
		if got[k] != s {
			t.Errorf("%q: %q, want %q", k, got[k], s)
		}
	}

	p := queryPlan(t, db, `SELECT kind, hash, subject_id FROM identities WHERE (kind, hash) IN (VALUES (?, ?), (?, ?))`, "a", []byte("x"), "b", []byte("y"))
	if !strings.Contains(p, "USING PRIMARY KEY (kind=? AND hash=?)") || strings.Contains(p, "SCAN identities") {
		t.Errorf("plan: %s", p)
	}
}
