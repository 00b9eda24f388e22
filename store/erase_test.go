package store_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

func eraseExec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Writer().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func eraseCount(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// seedPerson writes a canonical subject with one merged member, their
// identities, events, traits, a consent record and guardian requests.
func seedPerson(t *testing.T, db *store.DB, tag string) (canonical, member garde.SubjectID) {
	t.Helper()
	canonical, member = garde.NewSubjectID(), garde.NewSubjectID()
	eraseExec(t, db, `INSERT INTO subjects (id, identified, created_at, last_seen_at) VALUES (?, 1, 1, 1)`, string(canonical))
	eraseExec(t, db, `INSERT INTO subjects (id, merged_into, identified, created_at, last_seen_at) VALUES (?, ?, 0, 2, 2)`, string(member), string(canonical))
	eraseExec(t, db, `INSERT INTO identities (kind, hash, subject_id, created_at) VALUES ('email', ?, ?, 1)`, []byte("blind-email-"+tag), string(canonical))
	eraseExec(t, db, `INSERT INTO identities (kind, hash, subject_id, created_at) VALUES ('anon', ?, ?, 2)`, []byte("blind-anon-"+tag), string(member))
	for _, s := range []garde.SubjectID{canonical, member} {
		eraseExec(t, db, `INSERT INTO events (subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed)
			VALUES (?, 'web', 'track', 'Order Completed', 'm', 1, 1, 'service', ?, '{"locale":"fr"}', ?)`,
			string(s), `{"order_id":"ORDER-`+tag+`"}`, []byte(`{"properties.email":"c2VhbGVk"}`))
	}
	eraseExec(t, db, `INSERT INTO traits (subject_id, name, category, purposes, sealed, value, updated_at) VALUES (?, 'email', 'user.contact.email', 'service', 1, ?, 1)`,
		string(canonical), []byte("sealed-trait-"+tag))
	eraseExec(t, db, `INSERT INTO consent_records (id, subject_id, purpose, decision, at, body, prev, hash) VALUES (?, ?, 'analytics', 'given', 1, '{}', x'00', x'01')`,
		"c-"+tag, string(canonical))
	eraseExec(t, db, `INSERT INTO guardian_requests (id, subject_id, request, status, created_at, expires_at) VALUES (?, ?, '{}', 'pending', 1, 2)`, "gp-"+tag, string(canonical))
	eraseExec(t, db, `INSERT INTO guardian_requests (id, subject_id, request, status, created_at, expires_at) VALUES (?, ?, '{}', 'given', 1, 2)`, "gg-"+tag, string(canonical))
	return canonical, member
}

func TestEraseSubjects(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	es := store.NewErase(db)
	canonical, member := seedPerson(t, db, "erased")
	other, otherMember := seedPerson(t, db, "kept")

	got, err := es.FindMembers(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]garde.SubjectID{canonical, member}, got); diff != "" {
		t.Fatalf("FindMembers (-want +got):\n%s", diff)
	}

	var events, traits []string
	var markers [][]byte
	now := time.UnixMilli(1_750_000_000_000).UTC()
	done, err := es.EraseSubjects(ctx, &rights.ErasePlan{
		Subject: canonical, Members: got, Time: now, Suppress: true,
		Event: func(typ, name string, props, _, sealed []byte) {
			events = append(events, typ+":"+name+":"+string(props)+":"+string(sealed))
		},
		Trait: func(name, category string) { traits = append(traits, name+":"+category) },
		Marker: func(kind string, hash []byte) []byte {
			m := rights.SuppressionMarker(kind, hash)
			markers = append(markers, m)
			return m
		},
		Message: func(e *rights.Erased) (string, []byte, error) {
			return rights.TopicSubjectErased, []byte(`{"rows":` + strconv.Itoa(e.Rows.Events) + `}`), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &rights.Erased{
		Members:      []garde.SubjectID{canonical, member},
		Rows:         rights.Rows{Subjects: 2, Identities: 2, Events: 2, Traits: 1, GuardianRequests: 1},
		Suppressions: 2, Outbox: done.Outbox,
	}
	if diff := cmp.Diff(want, done); diff != "" {
		t.Fatalf("Erased (-want +got):\n%s", diff)
	}
	if len(events) != 2 || len(traits) != 1 || traits[0] != "email:user.contact.email" {
		t.Fatalf("rows seen before deletion: events %q, traits %q", events, traits)
	}
	for _, tc := range []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM subjects WHERE id IN (?, ?)`, 0},
		{`SELECT count(*) FROM identities WHERE subject_id IN (?, ?)`, 0},
		{`SELECT count(*) FROM events WHERE subject_id IN (?, ?)`, 0},
		{`SELECT count(*) FROM traits WHERE subject_id IN (?, ?)`, 0},
		{`SELECT count(*) FROM guardian_requests WHERE subject_id IN (?, ?)`, 1}, // the decided one: proof of parental consent
		{`SELECT count(*) FROM consent_records WHERE subject_id IN (?, ?)`, 1},   // the ledger is kept
		{`SELECT count(*) FROM outbox WHERE subject_id IN (?, ?) AND topic = 'subject.erased' AND payload = '{"rows":2}'`, 1},
	} {
		if n := eraseCount(t, db, tc.q, string(canonical), string(member)); n != tc.want {
			t.Errorf("%s: got %d, want %d", tc.q, n, tc.want)
		}
	}
	// the other person is untouched
	for _, q := range []string{
		`SELECT count(*) FROM subjects WHERE id IN (?, ?)`,
		`SELECT count(*) FROM identities WHERE subject_id IN (?, ?)`,
		`SELECT count(*) FROM events WHERE subject_id IN (?, ?)`,
	} {
		if n := eraseCount(t, db, q, string(other), string(otherMember)); n != 2 {
			t.Errorf("other subject: %s: got %d, want 2", q, n)
		}
	}
	for _, m := range markers {
		if ok, err := es.FindSuppression(ctx, m); err != nil || !ok {
			t.Errorf("FindSuppression(%q) = %v, %v; want true", m, ok, err)
		}
	}
	if ok, err := es.FindSuppression(ctx, rights.SuppressionMarker("email", []byte("blind-email-kept"))); err != nil || ok {
		t.Errorf("FindSuppression of a kept person = %v, %v; want false", ok, err)
	}
	// checkpointed: the log is empty, and the file holds none of the values
	if fi, err := os.Stat(db.Path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("write-ahead log holds %d bytes after erasure", fi.Size())
	}
	b, err := os.ReadFile(db.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"blind-email-erased", "blind-anon-erased", "ORDER-erased", "sealed-trait-erased"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the database file still holds %q", s)
		}
	}
	if !bytes.Contains(b, []byte("ORDER-kept")) {
		t.Errorf("the database file lost the other person's data (or the scan is wrong)")
	}
}

func TestEraseSubjectsUnknown(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	es := store.NewErase(db)
	canonical, member := seedPerson(t, db, "x")
	if _, err := es.FindMembers(ctx, garde.NewSubjectID()); garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("FindMembers(unknown): got %v, want %s", err, garde.ENotFound)
	}
	plan := func(s garde.SubjectID) *rights.ErasePlan {
		return &rights.ErasePlan{Subject: s, Members: []garde.SubjectID{s}, Time: time.Now(),
			Message: func(*rights.Erased) (string, []byte, error) { return rights.TopicSubjectErased, []byte("{}"), nil }}
	}
	// a member is not a canonical subject: the plan must name the canonical one
	if done, err := es.EraseSubjects(ctx, plan(member)); done != nil || garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("EraseSubjects(member) = %v, %v; want ENotFound", done, err)
	}
	if _, err := es.EraseSubjects(ctx, plan(canonical)); err != nil {
		t.Fatal(err)
	}
	if done, err := es.EraseSubjects(ctx, plan(canonical)); done != nil || garde.ErrorCode(err) != garde.ENotFound {
		t.Fatalf("erasing twice = %v, %v; want ENotFound", done, err)
	}
	if n := eraseCount(t, db, `SELECT count(*) FROM outbox`); n != 1 {
		t.Fatalf("outbox messages: got %d, want 1 (failed erasures queue nothing)", n)
	}
}
