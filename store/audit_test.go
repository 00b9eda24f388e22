package store_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/store"
)

// auditSigner is a small Ed25519 audit.Signer, as vault.Signer is.
type auditSigner struct{ priv ed25519.PrivateKey }

func newAuditSigner() auditSigner {
	return auditSigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))}
}

func (s auditSigner) Sign(msg []byte) (string, []byte, error) {
	return "k1", ed25519.Sign(s.priv, msg), nil
}

func (s auditSigner) Verify(kid string, msg, sig []byte) error {
	if kid != "k1" || !ed25519.Verify(s.priv.Public().(ed25519.PublicKey), msg, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// auditClock steps a second on every reading.
type auditClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *auditClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

var auditT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newAuditLog() *audit.Log {
	return &audit.Log{Signer: newAuditSigner(), Clock: &auditClock{now: auditT0}, CheckpointEvery: 50}
}

// auditEntry is entry i of the test logs: reads with 0 to 2 subjects, a
// refusal, an administrative act, a bulk export.
func auditEntry(i int, subjects ...garde.SubjectID) audit.Entry {
	e := audit.Entry{
		Actor: fmt.Sprintf("op_%d", i%3), Role: "marketer", Action: audit.ActionSubjectRead, Purpose: "email_marketing",
		Subjects: subjects, Categories: []string{"user.contact.email"}, RequestID: fmt.Sprintf("req-%d", i),
		Source: "198.51.100.7:5000", Outcome: audit.OutcomeOK,
	}
	switch i % 4 {
	case 1:
		e.Outcome, e.Detail = audit.OutcomeRefused, map[string]string{"rule": "training expired"}
	case 2:
		e.Action, e.Purpose, e.Detail = audit.ActionRoleUpdate, "", map[string]string{"operator": "op_9", "role": "dpo"}
	case 3:
		e.Action, e.Subjects = audit.ActionExport, subjectsN(audit.MaxListed+1)
	}
	return e
}

func subjectsN(n int) []garde.SubjectID {
	ids := make([]garde.SubjectID, n)
	for i := range ids {
		ids[i] = garde.NewSubjectID()
	}
	return ids
}

// auditFixture is a data database holding n entries appended one per
// transaction (checkpoints at 1, 51, 101 …), entry i listing subjects[i%len].
func auditFixture(t testing.TB, n int, subjects []garde.SubjectID) (*store.DB, *store.Audit) {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), t.TempDir()+"/garde.db", "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a, log := store.NewAudit(db), newAuditLog()
	for i := range n {
		var ids []garde.SubjectID
		if len(subjects) > 0 && i%4 == 0 {
			ids = []garde.SubjectID{subjects[i%len(subjects)], subjects[(i+1)%len(subjects)]}
		}
		if err := a.Append(context.Background(), log, auditEntry(i, ids...)); err != nil {
			t.Fatal(err)
		}
	}
	return db, a
}

func findAudit(t *testing.T, r audit.Reader, f audit.Filter) []audit.Entry {
	t.Helper()
	var es []audit.Entry
	if err := r.FindAudit(context.Background(), f, func(e *audit.Entry) error { es = append(es, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	return es
}

func seqs(es []audit.Entry) []int64 {
	s := []int64{}
	for _, e := range es {
		s = append(s, e.Seq)
	}
	return s
}

func TestAuditAppendFind(t *testing.T) {
	people := subjectsN(3)
	_, a := auditFixture(t, 12, people)
	all := findAudit(t, a, audit.Filter{})
	if len(all) != 12 {
		t.Fatalf("%d entries, want 12", len(all))
	}
	if e := all[0]; len(e.Subjects) != 2 || e.SubjectCount != 2 || e.Time != auditT0.Add(time.Second) {
		t.Errorf("entry 1 = %+v, want 2 subjects at %v", e, auditT0.Add(time.Second))
	}
	if e := all[3]; e.Subjects != nil || e.SubjectCount != audit.MaxListed+1 || len(e.SubjectDigest) != 64 {
		t.Errorf("bulk entry 4 lists %d, counts %d, digest %q", len(e.Subjects), e.SubjectCount, e.SubjectDigest)
	}
	if e := all[2]; e.Detail["role"] != "dpo" || e.Purpose != "" {
		t.Errorf("entry 3 detail %v, purpose %q", e.Detail, e.Purpose)
	}
	cases := []struct {
		name string
		f    audit.Filter
		want []int64
	}{
		{"actor", audit.Filter{Actor: "op_1"}, []int64{2, 5, 8, 11}},
		{"action", audit.Filter{Action: audit.ActionExport}, []int64{4, 8, 12}},
		{"purpose", audit.Filter{Purpose: "email_marketing", After: 6}, []int64{8, 9, 10, 12}},
		{"subject", audit.Filter{Subject: people[1]}, []int64{1, 5}},
		{"since until", audit.Filter{Since: auditT0.Add(3 * time.Second), Until: auditT0.Add(6 * time.Second)}, []int64{3, 4, 5}},
		{"limit", audit.Filter{After: 2, Limit: 2}, []int64{3, 4}},
		{"actor and action", audit.Filter{Actor: "op_0", Action: audit.ActionRoleUpdate}, []int64{7}},
		{"injection in actor", audit.Filter{Actor: "op_1' OR '1'='1"}, []int64{}},
		{"injection in subject", audit.Filter{Subject: "x') OR 1=1 --"}, []int64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, seqs(findAudit(t, a, c.f))); diff != "" {
				t.Errorf("seqs (-want +got):\n%s", diff)
			}
		})
	}
	cps, err := a.FindCheckpoints(context.Background())
	if err != nil || len(cps) != 1 || cps[0].Seq != 1 {
		t.Errorf("checkpoints %+v, %v; want the first append's", cps, err)
	}
}

// shiftFrom renumbers entries from seq on by +1, as a forger making room.
func shiftFrom(seq int64) []string {
	return []string{
		fmt.Sprintf(`UPDATE audit SET seq = -(seq + 1) WHERE seq >= %d`, seq),
		`UPDATE audit SET seq = -seq WHERE seq < 0`,
		fmt.Sprintf(`UPDATE audit_subjects SET seq = -(seq + 1) WHERE seq >= %d`, seq),
		`UPDATE audit_subjects SET seq = -seq WHERE seq < 0`,
	}
}

// TestAuditTamper tampers with a real SQLite file through raw SQL, as
// someone with write access to the database would, and checks that Verify
// names the first bad entry.
func TestAuditTamper(t *testing.T) {
	ctx := context.Background()
	forged := func(t *testing.T, db *store.DB, seq int64, goodHash bool) {
		var prev []byte
		if err := db.Writer().QueryRowContext(ctx, `SELECT hash FROM audit WHERE seq = ?`, seq-1).Scan(&prev); err != nil {
			t.Fatal(err)
		}
		e := audit.Entry{Seq: seq, Time: auditT0, Actor: "op_0", Action: "subject.read", Outcome: "ok", Prev: prev}
		e.Hash = e.ComputeHash()
		if !goodHash {
			rand.Read(e.Hash)
		}
		if _, err := db.Writer().ExecContext(ctx, `INSERT INTO audit VALUES (?, ?, ?, '', ?, '', 0, '', '', '', '', ?, '', ?, ?)`,
			e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Outcome, e.Prev, e.Hash); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		sql      []string
		forge    func(*testing.T, *store.DB)
		firstBad int64
	}{
		{name: "edit purpose", sql: []string{`UPDATE audit SET purpose = 'analytics' WHERE seq = 41`}, firstBad: 41},
		{name: "edit time", sql: []string{`UPDATE audit SET at = at + 1 WHERE seq = 42`}, firstBad: 42},
		{name: "edit outcome", sql: []string{`UPDATE audit SET outcome = 'ok' WHERE seq = 42`}, firstBad: 42},
		{name: "edit detail", sql: []string{`UPDATE audit SET detail = '{"rule":"none"}' WHERE seq = 42`}, firstBad: 42},
		{name: "edit categories", sql: []string{`UPDATE audit SET categories = '' WHERE seq = 41`}, firstBad: 41},
		{name: "edit digest", sql: []string{`UPDATE audit SET subject_digest = 'x' || substr(subject_digest, 2) WHERE seq = 44`}, firstBad: 44},
		{name: "edit prev", sql: []string{`UPDATE audit SET prev = zeroblob(32) WHERE seq = 41`}, firstBad: 41},
		{name: "edit hash", sql: []string{`UPDATE audit SET hash = zeroblob(32) WHERE seq = 41`}, firstBad: 41},
		{name: "swap a subject", sql: []string{`UPDATE audit_subjects SET subject_id = 's_aaaaaaaaaaaaaaaaaaaaaaaaaa' WHERE seq = 41 AND subject_id = (SELECT min(subject_id) FROM audit_subjects WHERE seq = 41)`}, firstBad: 41},
		{name: "hide a subject", sql: []string{`DELETE FROM audit_subjects WHERE seq = 45`}, firstBad: 45},
		{name: "add a subject", sql: []string{`INSERT INTO audit_subjects VALUES (43, 's_aaaaaaaaaaaaaaaaaaaaaaaaaa')`}, firstBad: 43},
		{name: "delete entry", sql: []string{`DELETE FROM audit WHERE seq = 41`}, firstBad: 41},
		{name: "delete first", sql: []string{`DELETE FROM audit WHERE seq = 1`}, firstBad: 1},
		{name: "delete and renumber", sql: []string{`DELETE FROM audit WHERE seq = 41`, `UPDATE audit SET seq = seq - 1 WHERE seq > 41`}, firstBad: 41},
		{name: "insert forged in the middle", sql: shiftFrom(41), forge: func(t *testing.T, db *store.DB) { forged(t, db, 41, true) }, firstBad: 42},
		{name: "insert forged at the end", forge: func(t *testing.T, db *store.DB) { forged(t, db, 121, false) }, firstBad: 121},
		{name: "swap two entries", sql: []string{
			`UPDATE audit SET seq = -1 WHERE seq = 41`, `UPDATE audit SET seq = 41 WHERE seq = 42`, `UPDATE audit SET seq = 42 WHERE seq = -1`,
		}, firstBad: 41},
		{name: "truncate past a checkpoint", sql: []string{`DELETE FROM audit WHERE seq > 95`}, firstBad: 96},
		{name: "forge checkpoint signature", sql: []string{`UPDATE audit_checkpoints SET signature = randomblob(64) WHERE seq = 51`}, firstBad: 51},
		{name: "move checkpoint", sql: []string{`UPDATE audit_checkpoints SET seq = 50 WHERE seq = 51`}, firstBad: 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, a := auditFixture(t, 120, subjectsN(5))
			if rep, err := audit.Verify(ctx, a, newAuditSigner()); err != nil || !rep.OK || rep.Checkpoints != 3 {
				t.Fatalf("before tampering: %+v, %v; want OK with 3 checkpoints", rep, err)
			}
			for _, q := range c.sql {
				if _, err := db.Writer().ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if c.forge != nil {
				c.forge(t, db)
			}
			rep, err := audit.Verify(ctx, a, newAuditSigner())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad != c.firstBad {
				t.Errorf("report %+v, want first bad %d", rep, c.firstBad)
			}
			t.Logf("%d: %s", rep.FirstBad, rep.Reason)
		})
	}
}

func TestAuditRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db, a := auditFixture(t, 0, nil)
	log := newAuditLog()
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Append(ctx, store.AuditTx(tx), auditEntry(0, subjectsN(2)...), auditEntry(1)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if es := findAudit(t, a, audit.Filter{}); len(es) != 0 {
		t.Fatalf("%d entries after rollback, want none", len(es))
	}
	var n int
	db.Reader().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM audit_subjects) + (SELECT count(*) FROM audit_checkpoints)`).Scan(&n)
	if n != 0 {
		t.Errorf("%d subject or checkpoint rows after rollback, want none", n)
	}
	// The log kept nothing in memory: the next append starts the chain.
	e := []audit.Entry{auditEntry(0)}
	if err := a.Append(ctx, log, e...); err != nil || e[0].Seq != 1 {
		t.Fatalf("append after rollback: seq %d, %v; want 1", e[0].Seq, err)
	}
	if rep, err := audit.Verify(ctx, a, newAuditSigner()); err != nil || !rep.OK || rep.Entries != 1 {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}

// TestAuditWithTheAct appends in the transaction of a write and in a
// collection group commit: entry and act commit together.
func TestAuditWithTheAct(t *testing.T) {
	ctx := context.Background()
	db, a := auditFixture(t, 0, nil)
	log := newAuditLog()
	s := garde.NewSubjectID()
	c := store.NewCollect(db)
	tx, err := c.BeginCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateSubject(ctx, s, true, auditT0); err != nil {
		t.Fatal(err)
	}
	e := audit.Entry{Actor: "source:web", Action: audit.ActionEventsWrite, Subjects: []garde.SubjectID{s}, Outcome: audit.OutcomeOK}
	if err := log.Append(ctx, a.CollectTx(tx), e); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := findAudit(t, a, audit.Filter{Subject: s}); len(got) != 1 || got[0].Action != audit.ActionEventsWrite {
		t.Errorf("entries for the subject: %+v, want the events.write", got)
	}
}

func TestAuditConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	_, a := auditFixture(t, 0, nil)
	log := newAuditLog()
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := 1 + (w+i)%3
				es := make([]audit.Entry, n)
				for j := range es {
					es[j] = auditEntry(w*each+i, subjectsN(j)...)
				}
				if err := a.Append(ctx, log, es...); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, a, newAuditSigner())
	if err != nil || !rep.OK {
		t.Fatalf("verify after concurrent appends: %+v, %v", rep, err)
	}
	if want := len(findAudit(t, a, audit.Filter{})); rep.Entries != want || want < workers*each {
		t.Errorf("verified %d of %d entries", rep.Entries, want)
	}
}

func TestAuditExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, a := auditFixture(t, 120, subjectsN(5))
	var b bytes.Buffer
	if err := audit.Export(ctx, a, &b, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var got []audit.Entry
	if err := audit.ParseExport(bytes.NewReader(b.Bytes()), func(l audit.Line) error {
		if l.Entry != nil {
			got = append(got, *l.Entry)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(findAudit(t, a, audit.Filter{}), got); diff != "" {
		t.Errorf("exported entries (-want +got):\n%s", diff)
	}
	rep, err := audit.VerifyExport(bytes.NewReader(b.Bytes()), newAuditSigner())
	if err != nil || !rep.OK || rep.Entries != 120 || rep.Checkpoints != 3 {
		t.Errorf("VerifyExport = %+v, %v", rep, err)
	}
}

// BenchmarkAppend measures appends over SQLite with synchronous=FULL: one
// entry per transaction (an act's own), 100 per transaction (a batch), and
// one entry inside an open transaction (what an act's transaction pays).
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name   string
		perTx  int
		commit bool
	}{{"1-per-tx", 1, true}, {"100-per-tx", 100, true}, {"in-open-tx", 1, false}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			db, a := auditFixture(b, 0, nil)
			log := &audit.Log{Signer: newAuditSigner()}
			s := subjectsN(1)
			es := make([]audit.Entry, bc.perTx)
			var tx *sql.Tx
			if !bc.commit {
				var err error
				if tx, err = db.Writer().BeginTx(ctx, nil); err != nil {
					b.Fatal(err)
				}
				defer tx.Rollback()
			}
			b.ResetTimer()
			for b.Loop() {
				for i := range es {
					es[i] = auditEntry(0, s...)
				}
				var err error
				if bc.commit {
					err = a.Append(ctx, log, es...)
				} else {
					err = log.Append(ctx, a.Tx(tx), es...)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bc.perTx)/b.Elapsed().Seconds(), "entries/s")
			if !bc.commit {
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures Verify over a log of 100,000 entries.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	_, a := auditFixture(b, 0, nil)
	log := &audit.Log{Signer: newAuditSigner()}
	s := subjectsN(1)
	for range 1000 {
		es := make([]audit.Entry, 100)
		for i := range es {
			es[i] = auditEntry(0, s...)
		}
		if err := a.Append(ctx, log, es...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := audit.Verify(ctx, a, newAuditSigner())
		if err != nil || !rep.OK {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(b.N*100_000)/b.Elapsed().Seconds(), "entries/s")
}
