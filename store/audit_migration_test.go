package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pressly/goose/v3"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

type edSigner struct{ priv ed25519.PrivateKey }

func (s edSigner) Sign(msg []byte) (string, []byte, error) {
	return "k1", ed25519.Sign(s.priv, msg), nil
}

func (s edSigner) Verify(kid string, msg, sig []byte) error {
	if kid != "k1" || !ed25519.Verify(s.priv.Public().(ed25519.PublicKey), msg, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// v13Tx appends to the audit log as it was laid out up to migration 13:
// one row per entry, the listed subjects in audit_subjects.
type v13Tx struct{ tx *sql.Tx }

func (t v13Tx) LastAudit(ctx context.Context) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := t.tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	return seq, hash, err
}

func (t v13Tx) CreateAudit(ctx context.Context, es []audit.Entry, _ [][]byte) error {
	for _, e := range es {
		detail := ""
		if len(e.Detail) > 0 {
			b, _ := json.Marshal(e.Detail)
			detail = string(b)
		}
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.Time.UnixMicro(), e.Actor, e.Role, e.Action, e.Purpose, e.SubjectCount, e.SubjectDigest,
			strings.Join(e.Categories, " "), e.RequestID, e.Source, e.Outcome, detail, e.Prev, e.Hash); err != nil {
			return err
		}
		for _, s := range e.Subjects {
			if _, err := t.tx.ExecContext(ctx, `INSERT INTO audit_subjects VALUES (?, ?)`, e.Seq, string(s)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t v13Tx) CreateCheckpoint(ctx context.Context, cp audit.Checkpoint) error {
	_, err := t.tx.ExecContext(ctx, qCreateCheckpoint, cp.Seq, cp.Hash, cp.Time.UnixMicro(), cp.KeyID, cp.Signature)
	return err
}

func (t v13Tx) LastCheckpoint(ctx context.Context) (audit.Checkpoint, bool, error) {
	cp, err := scanCheckpoint(t.tx.QueryRowContext(ctx, qLastCheckpoint))
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Checkpoint{}, false, nil
	}
	return cp, err == nil, err
}

// readV13 reads the entries back from the layout of migration 13.
func readV13(t *testing.T, db *sql.DB) []audit.Entry {
	t.Helper()
	rows, err := db.Query(`SELECT seq, at, actor, role, action, purpose, subject_count, subject_digest, categories,
		request_id, source, outcome, detail, prev, hash,
		coalesce((SELECT group_concat(subject_id, ' ' ORDER BY subject_id) FROM audit_subjects s WHERE s.seq = a.seq), '')
		FROM audit a ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var es []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var at int64
		var categories, detail, subjects string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.Purpose, &e.SubjectCount, &e.SubjectDigest,
			&categories, &e.RequestID, &e.Source, &e.Outcome, &detail, &e.Prev, &e.Hash, &subjects); err != nil {
			t.Fatal(err)
		}
		e.Time = time.UnixMicro(at).UTC()
		if categories != "" {
			e.Categories = strings.Split(categories, " ")
		}
		if detail != "" {
			if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
				t.Fatalf("entry %d: detail %q: %v", e.Seq, detail, err)
			}
		}
		for s := range strings.FieldsSeq(subjects) {
			e.Subjects = append(e.Subjects, garde.SubjectID(s))
		}
		es = append(es, e)
	}
	return es
}

// TestAuditMigration14 writes a log in the former layout, migrates it to
// segments and back, and checks that every entry, hash and checkpoint
// survives both ways: the SQL re-encoding matches package audit's
// canonical encoding byte for byte.
func TestAuditMigration14(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/garde.db"
	w, p := migrateDataTo(t, path, 13)
	defer w.Close()

	signer := edSigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))}
	now := time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC)
	log := &audit.Log{Signer: signer, CheckpointEvery: 7,
		Clock: garde.ClockFunc(func() time.Time { now = now.Add(1500 * time.Millisecond); return now })}
	people := make([]garde.SubjectID, 4)
	for i := range people {
		people[i] = garde.NewSubjectID()
	}
	entry := func(i int) audit.Entry {
		e := audit.Entry{Actor: fmt.Sprintf("op_%d", i%3), Role: "dpo", Action: audit.ActionSubjectRead,
			Purpose: "support_request", Categories: []string{"user.contact.email", "user.behavior"},
			RequestID: fmt.Sprintf("req-%d", i), Source: "192.0.2.1:443", Outcome: audit.OutcomeOK}
		switch i % 6 {
		case 0:
			e.Subjects = people[:1+i%len(people)]
		case 1:
			e.Role, e.Purpose, e.Categories, e.Action = "", "", nil, audit.ActionRoleUpdate
			e.Detail = map[string]string{"role": "analyst", "note": `<b>"ça" & \ ☃</b>`, "a": ""}
		case 2:
			e.Action, e.Subjects = audit.ActionExport, make([]garde.SubjectID, audit.MaxListed+3)
			for j := range e.Subjects {
				e.Subjects[j] = garde.NewSubjectID()
			}
		case 3:
			e.Outcome, e.Detail = audit.OutcomeRefused, map[string]string{"rule": strings.Repeat("é", 300)}
		case 4:
			e.Subjects, e.Source = people, ""
		}
		return e
	}
	var want []audit.Entry
	for i := 0; i < 60; {
		n := 1 + i%4
		es := make([]audit.Entry, n)
		for j := range es {
			es[j] = entry(i + j)
		}
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := log.Append(ctx, v13Tx{tx}, es...); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		want = append(want, es...)
		i += n
	}
	if diff := cmp.Diff(want, readV13(t, w)); diff != "" {
		t.Fatalf("the former layout does not read back (-want +got):\n%s", diff)
	}

	if _, err := p.Up(ctx); err != nil { // 14, and the key runs of 17
		t.Fatal(err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, connReader))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a := NewAudit(&DB{Path: path, writer: w, reader: r})
	rep, err := audit.Verify(ctx, a, signer)
	if err != nil || !rep.OK || rep.Entries != len(want) || rep.Checkpoints < 8 {
		t.Fatalf("verify after the migration: %+v, %v", rep, err)
	}
	var got []audit.Entry
	if err := a.FindAudit(ctx, audit.Filter{}, func(e *audit.Entry) error { got = append(got, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("entries after the migration (-want +got):\n%s", diff)
	}
	var bySubject []int64
	if err := a.FindAudit(ctx, audit.Filter{Subject: people[3], Actor: "op_1"}, func(e *audit.Entry) error {
		bySubject = append(bySubject, e.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wantSeqs []int64
	for _, e := range want {
		if e.Actor == "op_1" && slices.Contains(e.Subjects, people[3]) {
			wantSeqs = append(wantSeqs, e.Seq)
		}
	}
	if len(wantSeqs) == 0 || !slices.Equal(bySubject, wantSeqs) {
		t.Errorf("one subject's entries by op_1: %v, want %v", bySubject, wantSeqs)
	}
	// the log goes on after the migrated segments
	more := []audit.Entry{entry(60), entry(61)}
	if err := a.Append(ctx, log, more...); err != nil {
		t.Fatal(err)
	}
	want = append(want, more...)
	if rep, err := audit.Verify(ctx, a, signer); err != nil || !rep.OK || rep.Entries != len(want) {
		t.Fatalf("verify after appending: %+v, %v", rep, err)
	}

	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatal(err)
	}
	back := readV13(t, w)
	if diff := cmp.Diff(want, back); diff != "" {
		t.Fatalf("entries after Down (-want +got):\n%s", diff)
	}
	for _, e := range back {
		if !bytes.Equal(e.ComputeHash(), e.Hash) {
			t.Fatalf("entry %d does not match its hash after Down", e.Seq)
		}
	}
}

// migrateDataTo opens a new data database at path on one writer connection
// and brings it to version of the data migrations, with the provider that
// can take it further (or back).
func migrateDataTo(t *testing.T, path string, version int64) (*sql.DB, *goose.Provider) {
	t.Helper()
	w, err := sql.Open("sqlite", sqliteDSN(path, connWriter))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	sub, err := fs.Sub(migrations, "migrations/sqlite/data")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, w, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return w, p
}
