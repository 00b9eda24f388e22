package store_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// rawEntry is one stored entry as a forger with write access to the
// database sees it: its segment, canonical encoding and hash.
type rawEntry struct {
	seg             int64
	canonical, hash []byte
}

// readRaw returns every stored entry, in storage order.
func readRaw(t *testing.T, db *store.DB) []rawEntry {
	t.Helper()
	rows, err := db.Writer().Query(`SELECT first_seq, body FROM audit_segments ORDER BY first_seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var es []rawEntry
	for rows.Next() {
		var seg int64
		var body []byte
		if err := rows.Scan(&seg, &body); err != nil {
			t.Fatal(err)
		}
		for len(body) > 0 {
			n := int(binary.BigEndian.Uint32(body))
			es = append(es, rawEntry{seg, body[4 : 4+n], body[4+n : 4+n+32]})
			body = body[4+n+32:]
		}
	}
	return es
}

// rewrite lets tamper change the stored entries, then writes each segment's
// body back (columns and keys untouched), deleting the emptied ones.
func rewrite(t *testing.T, db *store.DB, tamper func([]rawEntry) []rawEntry) {
	t.Helper()
	es := readRaw(t, db)
	segs := map[int64]bool{}
	for _, e := range es {
		segs[e.seg] = true
	}
	bodies := map[int64][]byte{}
	for _, e := range tamper(es) {
		b := binary.BigEndian.AppendUint32(bodies[e.seg], uint32(len(e.canonical)))
		bodies[e.seg] = append(append(b, e.canonical...), e.hash...)
	}
	for seg := range segs {
		q, args := `UPDATE audit_segments SET body = ? WHERE first_seq = ?`, []any{bodies[seg], seg}
		if bodies[seg] == nil {
			q, args = `DELETE FROM audit_segments WHERE first_seq = ?`, []any{seg}
		}
		if _, err := db.Writer().Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// a forger who knows the layout keeps the indexes in step, so that
	// only the chain can give the tampering away
	for _, r := range readRaw(t, db) {
		e, err := audit.DecodeEntry(r.canonical, r.hash)
		if err != nil {
			continue
		}
		at := e.Time.UnixMicro()
		if _, err := db.Writer().Exec(`UPDATE audit_segments SET min_at = min(min_at, ?), max_at = max(max_at, ?) WHERE first_seq = ?`, at, at, r.seg); err != nil {
			t.Fatal(err)
		}
		keys := []string{"a=" + e.Actor, "v=" + e.Action, "p=" + e.Purpose}
		for _, s := range e.Subjects {
			keys = append(keys, "s="+string(s))
		}
		for _, k := range keys {
			editPosting(t, db, r.seg, k, true)
		}
	}
}

// editPosting adds segment seg to (or drops it from) the segments key's
// row names in the complete run that covers seg, if one does, as someone
// with write access to the database would.
func editPosting(t *testing.T, db *store.DB, seg int64, key string, add bool) {
	t.Helper()
	var run int64
	if err := db.Writer().QueryRow(`SELECT COALESCE(min(run), 0) FROM audit_key_run_list WHERE complete AND run >= ?`, seg).Scan(&run); err != nil {
		t.Fatal(err)
	}
	if run == 0 {
		return // the tail: every look-up reads it
	}
	var list string
	err := db.Writer().QueryRow(`SELECT seqs FROM audit_key_runs WHERE run = ? AND key = ?`, run, key).Scan(&list)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	var seqs []int64
	if list != "" {
		if err := json.Unmarshal([]byte(list), &seqs); err != nil {
			t.Fatal(err)
		}
	}
	seqs = slices.DeleteFunc(seqs, func(s int64) bool { return s == seg })
	if add {
		seqs = append(seqs, seg)
		slices.Sort(seqs)
	}
	b, _ := json.Marshal(seqs)
	if _, err := db.Writer().Exec(`INSERT INTO audit_key_runs (run, key, seqs) VALUES (?, ?, ?)
		ON CONFLICT (run, key) DO UPDATE SET seqs = excluded.seqs`, run, key, string(b)); err != nil {
		t.Fatal(err)
	}
}

// inSegment returns the entries of entry seq's segment.
func inSegment(t *testing.T, db *store.DB, seq int64) []*audit.Entry {
	seg := segmentOf(t, db, seq)
	var es []*audit.Entry
	for _, r := range readRaw(t, db) {
		if e, _ := audit.DecodeEntry(r.canonical, r.hash); r.seg == seg {
			es = append(es, e)
		}
	}
	return es
}

// edit re-encodes entry seq after change (keeping its stored hash unless
// rehash), as a forger editing a field would.
func edit(seq int64, rehash bool, change func(*audit.Entry)) func([]rawEntry) []rawEntry {
	return func(es []rawEntry) []rawEntry {
		for i := range es {
			e, err := audit.DecodeEntry(es[i].canonical, es[i].hash)
			if err != nil || e.Seq != seq {
				continue
			}
			change(e)
			es[i].canonical = e.Canonical()
			if rehash {
				es[i].hash = e.ComputeHash()
			}
		}
		return es
	}
}

// renumber adds d to the seq of the entries from index i on, keeping their
// hashes.
func renumber(es []rawEntry, i int, d int64) {
	for ; i < len(es); i++ {
		e, _ := audit.DecodeEntry(es[i].canonical, es[i].hash)
		e.Seq += d
		es[i].canonical = e.Canonical()
	}
}

// segmentOf returns the first_seq of the segment that holds entry seq.
func segmentOf(t *testing.T, db *store.DB, seq int64) int64 {
	t.Helper()
	var seg int64
	if err := db.Writer().QueryRow(`SELECT max(first_seq) FROM audit_segments WHERE first_seq <= ?`, seq).Scan(&seg); err != nil {
		t.Fatal(err)
	}
	return seg
}

// TestAuditTamper tampers with a real SQLite file, as someone with write
// access to the database would — entries inside the segments' bodies,
// segment rows, their index columns and keys, checkpoints — and checks
// that Verify names the first bad entry.
func TestAuditTamper(t *testing.T) {
	ctx := context.Background()
	forge := func(seq int64, goodHash bool) func([]rawEntry) []rawEntry {
		return func(es []rawEntry) []rawEntry {
			i := int(seq - 1)
			prev := es[i-1].hash
			e := audit.Entry{Seq: seq, Time: auditT0, Actor: "op_0", Action: "subject.read", Outcome: "ok", Prev: prev}
			f := rawEntry{seg: es[i-1].seg, canonical: e.Canonical(), hash: e.ComputeHash()}
			if !goodHash {
				rand.Read(f.hash)
			}
			if i < len(es) {
				renumber(es, i, 1)
			}
			return slices.Insert(es, i, f)
		}
	}
	exec := func(q string, args ...any) func(*testing.T, *store.DB) {
		return func(t *testing.T, db *store.DB) {
			if _, err := db.Writer().Exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	// dropKey deletes, from the index of entry seq's segment, the key
	// key(entry seq); the first entry of the segment that has that key
	// is the one it hides first.
	dropKey := func(seq int64, key func(*audit.Entry) []string) (func(*testing.T, *store.DB), func(*testing.T, *store.DB) int64) {
		keyOf := func(t *testing.T, db *store.DB) string {
			for _, e := range inSegment(t, db, seq) {
				if e.Seq == seq {
					return key(e)[0]
				}
			}
			t.Fatalf("no entry %d", seq)
			return ""
		}
		drop := func(t *testing.T, db *store.DB) {
			editPosting(t, db, segmentOf(t, db, seq), keyOf(t, db), false)
		}
		first := func(t *testing.T, db *store.DB) int64 {
			k := keyOf(t, db)
			for _, e := range inSegment(t, db, seq) {
				if slices.Contains(key(e), k) {
					return e.Seq
				}
			}
			return 0
		}
		return drop, first
	}
	subjectKeys := func(e *audit.Entry) []string {
		var ks []string
		for _, s := range e.Subjects {
			ks = append(ks, "s="+string(s))
		}
		return ks
	}
	hideSubject, hiddenSubject := dropKey(45, subjectKeys)
	hideActor, hiddenActor := dropKey(42, func(e *audit.Entry) []string { return []string{"a=" + e.Actor} })
	hideAction, hiddenAction := dropKey(43, func(e *audit.Entry) []string { return []string{"v=" + e.Action} })
	hidePurpose, hiddenPurpose := dropKey(41, func(e *audit.Entry) []string { return []string{"p=" + e.Purpose} })
	firstOf := func(seq int64) func(*testing.T, *store.DB) int64 {
		return func(t *testing.T, db *store.DB) int64 { return segmentOf(t, db, seq) }
	}
	cases := []struct {
		name   string
		tamper func([]rawEntry) []rawEntry
		sql    func(*testing.T, *store.DB)
		// firstBad is the entry Verify must name; firstIn, when set, is
		// the segment in which the first entry with a given property is
		// the one named (the index is per segment)
		firstBad int64
		firstIn  func(*testing.T, *store.DB) int64
	}{
		{name: "edit purpose", tamper: edit(41, false, func(e *audit.Entry) { e.Purpose = "analytics" }), firstBad: 41},
		{name: "edit time", tamper: edit(42, false, func(e *audit.Entry) { e.Time = e.Time.Add(time.Microsecond) }), firstBad: 42},
		{name: "edit outcome", tamper: edit(42, false, func(e *audit.Entry) { e.Outcome = audit.OutcomeOK }), firstBad: 42},
		{name: "edit detail", tamper: edit(42, false, func(e *audit.Entry) { e.Detail = map[string]string{"rule": "none"} }), firstBad: 42},
		{name: "edit categories", tamper: edit(41, false, func(e *audit.Entry) { e.Categories = nil }), firstBad: 41},
		{name: "edit digest", tamper: edit(44, false, func(e *audit.Entry) { e.SubjectDigest = flipFirst(e.SubjectDigest) }), firstBad: 44},
		{name: "edit prev", tamper: edit(41, false, func(e *audit.Entry) { e.Prev = make([]byte, 32) }), firstBad: 41},
		{name: "edit hash", tamper: func(es []rawEntry) []rawEntry { es[40].hash = make([]byte, 32); return es }, firstBad: 41},
		{name: "swap a subject", tamper: edit(41, false, func(e *audit.Entry) { e.Subjects[0] = "s_aaaaaaaaaaaaaaaaaaaaaaaaaa" }), firstBad: 41},
		{name: "hide a subject", tamper: edit(45, false, func(e *audit.Entry) { e.Subjects = e.Subjects[1:]; e.SubjectCount-- }), firstBad: 45},
		{name: "rehash an edit", tamper: edit(41, true, func(e *audit.Entry) { e.Actor = "op_x" }), firstBad: 42},
		{name: "delete entry", tamper: func(es []rawEntry) []rawEntry { return slices.Delete(es, 40, 41) }, firstBad: 41},
		{name: "delete first", tamper: func(es []rawEntry) []rawEntry { return es[1:] }, firstBad: 1},
		{name: "delete and renumber", tamper: func(es []rawEntry) []rawEntry {
			es = slices.Delete(es, 40, 41)
			renumber(es, 40, -1)
			return es
		}, firstBad: 41},
		{name: "insert forged in the middle", tamper: forge(41, true), firstBad: 42},
		{name: "insert forged at the end", tamper: forge(121, false), firstBad: 121},
		{name: "swap two entries", tamper: func(es []rawEntry) []rawEntry {
			es[40].canonical, es[41].canonical, es[40].hash, es[41].hash = es[41].canonical, es[40].canonical, es[41].hash, es[40].hash
			return es
		}, firstBad: 41},
		{name: "truncate past a checkpoint", tamper: func(es []rawEntry) []rawEntry { return es[:95] }, firstBad: 96},
		{name: "garble a body", sql: func(t *testing.T, db *store.DB) {
			exec(`UPDATE audit_segments SET body = substr(body, 1, length(body) - 40) WHERE first_seq = ?`, segmentOf(t, db, 41))(t, db)
		}, firstIn: func(t *testing.T, db *store.DB) int64 {
			var next int64 // the last entry of the segment
			db.Writer().QueryRow(`SELECT min(first_seq) - 1 FROM audit_segments WHERE first_seq > ?`, segmentOf(t, db, 41)).Scan(&next)
			return next
		}},
		{name: "delete a segment", sql: func(t *testing.T, db *store.DB) {
			exec(`DELETE FROM audit_segments WHERE first_seq = ?`, segmentOf(t, db, 41))(t, db)
		}, firstIn: firstOf(41)},
		// copies outside the hashed bytes, edited on their own
		{name: "hide from the subject index", sql: hideSubject, firstIn: hiddenSubject},
		{name: "hide from the actor index", sql: hideActor, firstIn: hiddenActor},
		{name: "hide from the action index", sql: hideAction, firstIn: hiddenAction},
		{name: "hide from the purpose index", sql: hidePurpose, firstIn: hiddenPurpose},
		{name: "narrow the time columns", sql: func(t *testing.T, db *store.DB) {
			exec(`UPDATE audit_segments SET min_at = max_at WHERE first_seq = ?`, segmentOf(t, db, 41))(t, db)
		}, firstIn: firstOf(41)},
		{name: "edit first_seq", sql: func(t *testing.T, db *store.DB) {
			exec(`UPDATE audit_segments SET first_seq = first_seq - 1 WHERE first_seq = ?`, segmentOf(t, db, 41))(t, db)
		}, firstIn: firstOf(41)},
		{name: "forge checkpoint signature", sql: exec(`UPDATE audit_checkpoints SET signature = randomblob(64) WHERE seq = 51`), firstBad: 51},
		{name: "move checkpoint", sql: exec(`UPDATE audit_checkpoints SET seq = 50 WHERE seq = 51`), firstBad: 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, a := auditFixture(t, 120, subjectsN(5))
			store.IndexAudit(t, db) // the closed segments, entries 1–110 or so
			if rep, err := audit.Verify(ctx, a, newAuditSigner()); err != nil || !rep.OK || rep.Checkpoints != 3 {
				t.Fatalf("before tampering: %+v, %v; want OK with 3 checkpoints", rep, err)
			}
			want := c.firstBad
			if c.firstIn != nil {
				want = c.firstIn(t, db)
			}
			if c.tamper != nil {
				rewrite(t, db, c.tamper)
			}
			if c.sql != nil {
				c.sql(t, db)
			}
			rep, err := audit.Verify(ctx, a, newAuditSigner())
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad != want || want == 0 {
				t.Errorf("report %+v, want first bad %d", rep, want)
			}
			t.Logf("%d: %s", rep.FirstBad, rep.Reason)
		})
	}
}

// TestAuditExtraKeysAreHarmless: a key added to the index makes its
// segment a candidate, but a query returns only what the entries hold.
func TestAuditExtraKeysAreHarmless(t *testing.T) {
	ctx := context.Background()
	people := subjectsN(5)
	db, a := auditFixture(t, 40, people)
	stranger := garde.NewSubjectID()
	store.IndexAudit(t, db)
	for _, k := range []string{"s=" + string(stranger), "a=op_9", "v=erasure", "p=analytics"} {
		if _, err := db.Writer().Exec(`INSERT INTO audit_key_runs SELECT run, ?, (SELECT json_group_array(first_seq) FROM audit_segments)
			FROM audit_key_run_list`, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []audit.Filter{{Subject: stranger}, {Actor: "op_9"}, {Action: audit.ActionErasure}, {Purpose: "analytics"}} {
		if es := findAudit(t, a, f); len(es) != 0 {
			t.Errorf("%+v found %v, want nothing", f, seqs(es))
		}
	}
	if rep, err := audit.Verify(ctx, a, newAuditSigner()); err != nil || !rep.OK {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}

// TestAuditSegments checks the packing: one-entry appends fill the last
// segment up to a page, batches open as many segments as they need, an
// entry larger than a segment gets one of its own, and queries, the
// per-subject lookup and Verify read them all the same.
func TestAuditSegments(t *testing.T) {
	ctx := context.Background()
	db, a := auditFixture(t, 0, nil)
	log := newAuditLog()
	people := subjectsN(3)
	for i := range 30 {
		if err := a.Append(ctx, log, auditEntry(4*i, people[i%3])); err != nil {
			t.Fatal(err)
		}
	}
	batch := make([]audit.Entry, 200)
	for i := range batch {
		batch[i] = auditEntry(4*i, people[i%3])
	}
	big := auditEntry(0, subjectsN(audit.MaxListed)...)
	big.Detail = map[string]string{}
	for i := range 30 {
		big.Detail[fmt.Sprintf("k%02d", i)] = strings.Repeat("x", 1000)
	}
	if err := a.Append(ctx, log, append(batch, big, auditEntry(0, people[0]))...); err != nil {
		t.Fatal(err)
	}
	var segs, maxBody, bigBody int
	if err := db.Reader().QueryRow(`SELECT count(*), max(length(body)) FILTER (WHERE length(body) < 20000), max(length(body))
		FROM audit_segments`).Scan(&segs, &maxBody, &bigBody); err != nil {
		t.Fatal(err)
	}
	if segs < 4 || segs > 8 || maxBody > 16000 || maxBody < 15000 || bigBody < 30000 {
		t.Errorf("%d segments, largest %d bytes, the big entry's %d; want about 55 entries in each of at most 16000 bytes", segs, maxBody, bigBody)
	}
	if got := findAudit(t, a, audit.Filter{Subject: people[1]}); len(got) != 10+67 {
		t.Errorf("%d entries for one subject, want 77", len(got))
	}
	var n int
	if err := store.NewBundle(db).FindAccesses(ctx, people[:2], func(*audit.Entry) error { n++; return nil }); err != nil || n != 20+134+1 {
		t.Errorf("accesses of two subjects: %d, %v; want 155", n, err)
	}
	if rep, err := audit.Verify(ctx, a, newAuditSigner()); err != nil || !rep.OK || rep.Entries != 232 {
		t.Errorf("verify: %+v, %v", rep, err)
	}
	// the view decodes the segments into the former rows
	var rows, listed int
	if err := db.Reader().QueryRow(`SELECT count(*), sum(json_array_length(subjects)) FROM audit`).Scan(&rows, &listed); err != nil || rows != 232 || listed != 231+audit.MaxListed {
		t.Errorf("view: %d rows listing %d subjects, %v; want 232 and %d", rows, listed, err, 231+audit.MaxListed)
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
	db.Reader().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM audit_segments) + (SELECT count(*) FROM audit_key_runs) +
		(SELECT count(*) FROM audit_checkpoints)`).Scan(&n)
	if n != 0 {
		t.Errorf("%d segment, key or checkpoint rows after rollback, want none", n)
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
// entry per transaction (an act's own), 100 and 1,000 per transaction (a
// batch, each entry durable at commit), and one entry inside an open
// transaction (what an act's transaction pays).
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		name   string
		perTx  int
		commit bool
	}{{"1-per-tx", 1, true}, {"100-per-tx", 100, true}, {"1000-per-tx", 1000, true}, {"in-open-tx", 1, false}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			db, a := auditFixture(b, 0, nil)
			log := &audit.Log{Signer: newAuditSigner()}
			// one entry built once and copied: the benchmark times the
			// appends, not the formatting of test strings
			tmpl := auditEntry(0, subjectsN(1)...)
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
					es[i] = tmpl
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

// BenchmarkVerify measures audit.Verify over the SQLite store, on logs of
// 100,000 and 1,000,000 entries (run the latter with -benchtime 1x).
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			_, a := auditFixture(b, 0, nil)
			log := &audit.Log{Signer: newAuditSigner()}
			s := subjectsN(1)
			es := make([]audit.Entry, 1000)
			for range n / len(es) {
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
				if err != nil || !rep.OK || rep.Entries != n {
					b.Fatal(rep, err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// TestAuditTailCache: an Audit appends after the last segment it cached
// without reading it back, yet never after a stale one: appends by another
// handle on the file (the CLI beside the server), growing the last segment
// or starting new ones, and the rollback of an append through it, are all
// noticed; the chain stays whole.
func TestAuditTailCache(t *testing.T) {
	ctx := context.Background()
	db, a := auditFixture(t, 3, nil) // a's cache now holds the tail
	other, err := store.OpenSQLite(ctx, db.Path, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b, log := store.NewAudit(other), newAuditLog()
	seq := 3
	appendOne := func(by *store.Audit, subjects ...garde.SubjectID) {
		t.Helper()
		e := []audit.Entry{auditEntry(seq, subjects...)}
		if err := by.Append(ctx, log, e...); err != nil {
			t.Fatal(err)
		}
		if seq++; e[0].Seq != int64(seq) {
			t.Fatalf("appended as seq %d, want %d", e[0].Seq, seq)
		}
	}
	appendOne(b) // the segment a cached grows
	appendOne(a)
	for range 40 { // b fills the segment and starts new ones
		appendOne(b, subjectsN(60)...)
	}
	appendOne(a)
	appendOne(a)

	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Append(ctx, a.Tx(tx), auditEntry(seq)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	appendOne(a) // after the tail a cached in the rolled-back transaction
	appendOne(b)
	appendOne(a)

	rep, err := audit.Verify(ctx, a, newAuditSigner())
	if err != nil || !rep.OK || rep.Entries != seq {
		t.Fatalf("verify: %+v, %v; want %d entries, whole", rep, err, seq)
	}
}

// TestAuditCheckpointCache: the last checkpoint an Audit remembers is used
// only while it is still the last one stored. A checkpoint signed in a
// transaction that rolls back, the tail untouched, must not be taken for
// stored: the next append that is due signs one (CheckpointEvery 3 here).
// And one signed meanwhile through another handle is seen.
func TestAuditCheckpointCache(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, t.TempDir()+"/garde.db", "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, log := store.NewAudit(db), newAuditLog()
	log.CheckpointEvery = 3
	seq := 0
	lastSigned := func() int {
		t.Helper()
		var n int
		if err := db.Writer().QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM audit_checkpoints`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	appendOne := func(by *store.Audit) {
		t.Helper()
		if err := by.Append(ctx, log, auditEntry(seq)); err != nil {
			t.Fatal(err)
		}
		seq++
		if cp := lastSigned(); seq-cp >= log.CheckpointEvery {
			t.Fatalf("head %d, last checkpoint %d: one was due", seq, cp)
		}
	}
	for range 3 { // signs 1; 2 and 3 are not due yet
		appendOne(a)
	}
	if cp := lastSigned(); cp != 1 {
		t.Fatalf("last checkpoint %d, want 1", cp)
	}
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := log.Checkpoint(ctx, a.Tx(tx)); err != nil || !ok {
		t.Fatalf("checkpoint: %v %v", ok, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	appendOne(a) // 4: due after the rolled-back checkpoint of 3
	if cp := lastSigned(); cp != 4 {
		t.Fatalf("last checkpoint %d, want 4", cp)
	}

	other, err := store.OpenSQLite(ctx, db.Path, "data")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b := store.NewAudit(other)
	appendOne(a)                                         // 5
	if _, _, err := b.Checkpoint(ctx, log); err != nil { // signs 5, the tail unchanged
		t.Fatal(err)
	}
	appendOne(a) // 6
	appendOne(a) // 7: 7-5 < 3, not due
	if cp := lastSigned(); cp != 5 {
		t.Fatalf("last checkpoint %d, want 5 (signed through the other handle)", cp)
	}
	appendOne(a) // 8: due
	rep, err := audit.Verify(ctx, a, newAuditSigner())
	if err != nil || !rep.OK || rep.Entries != seq {
		t.Fatalf("verify: %+v, %v; want %d entries, whole", rep, err, seq)
	}
}

// flipFirst changes the first hex digit of a digest: always a change,
// where writing "0" there left one digest in sixteen as it was (and the
// tamper test passed nothing to Verify to find).
func flipFirst(digest string) string {
	if digest[0] == '0' {
		return "1" + digest[1:]
	}
	return "0" + digest[1:]
}
