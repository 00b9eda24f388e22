package audit_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

func TestAppendFillsTheChain(t *testing.T) {
	ctx := context.Background()
	m := &memLog{}
	l := &audit.Log{Clock: garde.ClockFunc(func() time.Time { return t0 })}
	es := []audit.Entry{sample(0), sample(1)}
	if err := l.Append(ctx, m, es...); err != nil {
		t.Fatal(err)
	}
	if es[0].Seq != 1 || es[1].Seq != 2 {
		t.Errorf("seqs %d, %d, want 1, 2", es[0].Seq, es[1].Seq)
	}
	if want := t0.Truncate(time.Microsecond); !es[0].Time.Equal(want) || es[0].Time.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", es[0].Time, want)
	}
	if got := hex.EncodeToString(es[0].Prev); got != strings.Repeat("00", 32) {
		t.Errorf("first prev %s, want 32 zero bytes", got)
	}
	if string(es[1].Prev) != string(es[0].Hash) {
		t.Error("second entry does not link to the first")
	}
	if got := es[0].ComputeHash(); string(got) != string(es[0].Hash) {
		t.Error("hash is not SHA-256 of the canonical encoding")
	}
	if len(m.cps) != 0 {
		t.Errorf("%d checkpoints without a signer, want 0", len(m.cps))
	}
}

// TestCanonicalVector pins the canonical encoding (version 1): a third
// party re-implementing Verify can check itself against it.
func TestCanonicalVector(t *testing.T) {
	e := audit.Entry{
		Seq: 7, Time: time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC),
		Actor: "apikey:k_1", Role: "dpo", Action: "subject.read", Purpose: "support_request",
		Subjects: []garde.SubjectID{"s_aaaaaaaaaaaaaaaaaaaaaaaaaa"}, SubjectCount: 1,
		Categories: []string{"user.contact.email"}, RequestID: "r1", Source: "192.0.2.1:80", Outcome: "ok",
		Detail: map[string]string{"b": "2", "a": "1"}, Prev: make([]byte, 32),
	}
	const wantHex = "00000014" + "67617264652d61756469742d656e7472792f7631" + // str("garde-audit-entry/v1")
		"0000000000000007" + "00064bf31d3fd840" + // seq, time µs
		"0000000a" + "6170696b65793a6b5f31" + "00000003" + "64706f" + // actor, role
		"0000000c" + "7375626a6563742e72656164" + "0000000f" + "737570706f72745f72657175657374" + // action, purpose
		"00000001" + "0000001c" + "735f6161616161616161616161616161616161616161616161616161" + // subjects
		"0000000000000001" + "00000000" + // count, digest
		"00000001" + "00000012" + "757365722e636f6e746163742e656d61696c" + // categories
		"00000002" + "7231" + "0000000c" + "3139322e302e322e313a3830" + "00000002" + "6f6b" + // request id, source, outcome
		"00000002" + "00000001" + "61" + "00000001" + "31" + "00000001" + "62" + "00000001" + "32" + // detail, sorted
		"00000020" + "0000000000000000000000000000000000000000000000000000000000000000" // prev
	if got := hex.EncodeToString(e.Canonical()); got != wantHex {
		t.Errorf("canonical encoding:\n got %s\nwant %s", got, wantHex)
	}
	const wantHash = "c86301281c779a45c11f1b2b160f5d29f4f082c3af8239fcd3f84c03ee2cc31f"
	if got := hex.EncodeToString(e.ComputeHash()); got != wantHash {
		t.Logf("hash %s (update wantHash if the encoding change is intended — it never should be)", got)
		t.Errorf("hash changed")
	}
	cp := audit.Checkpoint{Seq: 7, Hash: make([]byte, 32), Time: e.Time}
	wantMsg := "garde-audit-checkpoint/v1\n7\n" + strings.Repeat("00", 32) + "\n2026-03-01T09:30:00.123456Z"
	if got := string(cp.Message()); got != wantMsg {
		t.Errorf("checkpoint message %q, want %q", got, wantMsg)
	}
}

func TestSubjects(t *testing.T) {
	ids := []garde.SubjectID{"s_c", "s_a", "s_b", "s_a"}
	listed, n, digest := audit.Subjects(ids)
	if diff := cmp.Diff([]garde.SubjectID{"s_a", "s_b", "s_c"}, listed); diff != "" || n != 3 || digest != "" {
		t.Errorf("Subjects = %v, %d, %q (-want +got %s)", listed, n, digest, diff)
	}
	many := subjectIDs(audit.MaxListed + 5)
	listed, n, digest = audit.Subjects(append(many, many[0]))
	if listed != nil || n != audit.MaxListed+5 || len(digest) != 64 {
		t.Errorf("bulk Subjects = %d listed, %d, %q; want none, %d, a hex digest", len(listed), n, digest, audit.MaxListed+5)
	}
	if _, _, again := audit.Subjects(many[3:]); again == digest {
		t.Error("digest does not depend on the ids")
	}
}

func TestAppendRefusesBadEntries(t *testing.T) {
	const secret = "jane.doe@example.com"
	base := func() audit.Entry {
		return audit.Entry{Actor: "op_1", Action: "subject.read", Outcome: audit.OutcomeOK}
	}
	cases := []struct {
		name   string
		modify func(*audit.Entry)
	}{
		{"email as subject", func(e *audit.Entry) { e.Subjects = []garde.SubjectID{secret} }},
		{"actor with spaces", func(e *audit.Entry) { e.Actor = "Jane Doe" }},
		{"no actor", func(e *audit.Entry) { e.Actor = "" }},
		{"no action", func(e *audit.Entry) { e.Action = "" }},
		{"upper-case action", func(e *audit.Entry) { e.Action = "Subject.Read" }},
		{"no outcome", func(e *audit.Entry) { e.Outcome = "" }},
		{"odd outcome", func(e *audit.Entry) { e.Outcome = "maybe" }},
		{"bad category", func(e *audit.Entry) { e.Categories = []string{"user contact"} }},
		{"bad detail key", func(e *audit.Entry) { e.Detail = map[string]string{"Email": "x"} }},
		{"invalid UTF-8 detail", func(e *audit.Entry) { e.Detail = map[string]string{"note": "\xff"} }},
		{"NUL in detail", func(e *audit.Entry) { e.Detail = map[string]string{"note": "a\x00b"} }},
		{"count without digest", func(e *audit.Entry) { e.SubjectCount = 500 }},
		{"small count with digest", func(e *audit.Entry) { e.SubjectCount, e.SubjectDigest = 3, strings.Repeat("a", 64) }},
		{"source with spaces", func(e *audit.Entry) { e.Source = "1.2.3.4 " + secret }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &memLog{}
			e := base()
			c.modify(&e)
			err := (&audit.Log{}).Append(context.Background(), m, base(), e)
			if garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("got %v, want an invalid error", err)
			}
			if strings.Contains(garde.ErrorMessage(err), secret) || strings.Contains(garde.ErrorMessage(err), "Jane") {
				t.Errorf("message %q repeats the value", garde.ErrorMessage(err))
			}
			if len(m.entries) != 0 {
				t.Errorf("%d entries written, want none", len(m.entries))
			}
		})
	}
}

func TestAppendAcceptsBulkByDigest(t *testing.T) {
	m := &memLog{}
	_, n, digest := audit.Subjects(subjectIDs(1000))
	e := audit.Entry{Actor: "op_1", Action: audit.ActionExport, Outcome: audit.OutcomeOK, SubjectCount: n, SubjectDigest: digest}
	if err := (&audit.Log{}).Append(context.Background(), m, e); err != nil {
		t.Fatal(err)
	}
	if got := m.entries[0]; got.SubjectCount != 1000 || got.SubjectDigest != digest || got.Subjects != nil {
		t.Errorf("stored %d/%q/%v, want the count and digest only", got.SubjectCount, got.SubjectDigest, got.Subjects)
	}
}

func TestCheckpointPolicy(t *testing.T) {
	ctx := context.Background()
	clock := &stepClock{now: t0}
	m := &memLog{}
	l := &audit.Log{Signer: newSigner("k1"), Clock: clock, CheckpointEvery: 10, CheckpointInterval: time.Minute}
	seqs := func() []int64 {
		var s []int64
		for _, cp := range m.cps {
			s = append(s, cp.Seq)
		}
		return s
	}
	appendN := func(n int) {
		t.Helper()
		for range n {
			if err := l.Append(ctx, m, sample(0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(1) // the first append signs
	appendN(9) // seq 10: 9 since the last
	appendN(1) // seq 11: 10 since the last
	if diff := cmp.Diff([]int64{1, 11}, seqs()); diff != "" {
		t.Errorf("checkpoints by count (-want +got):\n%s", diff)
	}
	clock.now = clock.now.Add(time.Minute) // a quiet minute: the next append signs
	appendN(1)
	if diff := cmp.Diff([]int64{1, 11, 12}, seqs()); diff != "" {
		t.Errorf("checkpoints by time (-want +got):\n%s", diff)
	}
	if _, _, err := l.Checkpoint(ctx, m); err != nil || len(m.cps) != 3 {
		t.Errorf("Checkpoint of a signed head: %v, %d checkpoints; want no new one", err, len(m.cps))
	}
	appendN(2)
	cp, ok, err := l.Checkpoint(ctx, m)
	if err != nil || !ok || cp.Seq != 14 || len(m.cps) != 4 {
		t.Errorf("Checkpoint = %d, %v, %v; want a checkpoint of 14", cp.Seq, ok, err)
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	m, _ := build(250, 7, 50)
	rep, err := audit.Verify(ctx, m, newSigner("k1"))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Entries != 250 || rep.LastSeq != 250 || rep.FirstBad != 0 || rep.Checkpoints != len(m.cps) {
		t.Errorf("report %+v, want 250 sound entries and %d checkpoints", rep, len(m.cps))
	}
	if rep.LastCheckpoint == nil || rep.LastCheckpoint.Seq != m.cps[len(m.cps)-1].Seq {
		t.Errorf("last checkpoint %+v, want the last one", rep.LastCheckpoint)
	}
	if _, err := audit.Verify(ctx, m, nil); err != audit.ErrNoSigner {
		t.Errorf("Verify without signer: %v, want ErrNoSigner", err)
	}
	if rep, err := audit.Verify(ctx, m, newSigner("k2")); err != nil || rep.OK || rep.FirstBad != m.cps[0].Seq {
		t.Errorf("unknown signing key: report %+v, %v; want the first checkpoint named", rep, err)
	}
	empty, err := audit.Verify(ctx, &memLog{}, nil)
	if err != nil || !empty.OK || empty.Entries != 0 {
		t.Errorf("empty log: %+v, %v; want OK", empty, err)
	}
}

// TestVerifyTamper covers each kind of tampering on the in-memory log; the
// store's tests do the same through raw SQL on real SQLite files.
func TestVerifyTamper(t *testing.T) {
	cases := []struct {
		name     string
		tamper   func(m *memLog)
		firstBad int64
	}{
		{"edit actor", func(m *memLog) { m.entries[40].Actor = "op_x" }, 41},
		{"edit time", func(m *memLog) { m.entries[40].Time = m.entries[40].Time.Add(time.Microsecond) }, 41},
		{"drop a subject", func(m *memLog) { m.entries[2].Subjects = m.entries[2].Subjects[1:] }, 3},
		{"edit detail", func(m *memLog) { m.entries[2].Detail["role"] = "admin" }, 3},
		{"delete entry", func(m *memLog) { m.entries = append(m.entries[:40], m.entries[41:]...) }, 41},
		{"delete first", func(m *memLog) { m.entries = m.entries[1:] }, 1},
		{"rehash an edit", func(m *memLog) {
			e := &m.entries[40]
			e.Actor = "op_x"
			e.Hash = e.ComputeHash()
		}, 42},
		{"swap two", func(m *memLog) {
			m.entries[40], m.entries[41] = m.entries[41], m.entries[40]
		}, 41},
		{"renumber after delete", func(m *memLog) {
			m.entries = append(m.entries[:40], m.entries[41:]...)
			for i := 40; i < len(m.entries); i++ {
				m.entries[i].Seq--
			}
		}, 41},
		{"truncate after checkpoint", func(m *memLog) { m.entries = m.entries[:95] }, 96},
		{"forge signature", func(m *memLog) { m.cps[1].Signature[0] ^= 1 }, 51},
		{"move checkpoint", func(m *memLog) { m.cps[1].Seq = 49 }, 49},
		{"checkpoint past the end", func(m *memLog) { m.cps[2].Seq = 500 }, 121},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, _ := build(120, 1, 50) // checkpoints at 1, 51, 101 (first append, then every 50)
			if got := len(m.cps); got != 3 || m.cps[1].Seq != 51 || m.cps[2].Seq != 101 {
				t.Fatalf("checkpoints at %+v, want 1, 51, 101", m.cps)
			}
			c.tamper(m)
			rep, err := audit.Verify(context.Background(), m, newSigner("k1"))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad != c.firstBad {
				t.Errorf("report %+v, want first bad %d", rep, c.firstBad)
			}
		})
	}
}

// TestTruncationLimit documents the limit: removing entries after the last
// checkpoint is invisible to Verify; the report's last checkpoint is what
// an operator anchors outside Garde to catch it.
func TestTruncationLimit(t *testing.T) {
	m, _ := build(120, 1, 50)
	m.entries = m.entries[:110]
	rep, err := audit.Verify(context.Background(), m, newSigner("k1"))
	if err != nil || !rep.OK || rep.LastSeq != 110 || rep.LastCheckpoint.Seq != 101 {
		t.Errorf("report %+v, %v; want OK up to 110 with the checkpoint of 101 to anchor", rep, err)
	}
}

// BenchmarkLogAppend measures the log's own work (checks, canonical
// encoding, hashing, a checkpoint every 1000) over an in-memory store, 100
// entries per call.
func BenchmarkLogAppend(b *testing.B) {
	ctx := context.Background()
	l := &audit.Log{Signer: newSigner("k1")}
	s := subjectIDs(1)
	es := make([]audit.Entry, 100)
	m := &memLog{}
	for b.Loop() {
		for i := range es {
			es[i] = audit.Entry{Actor: "op_1", Role: "marketer", Action: audit.ActionSubjectRead, Purpose: "email_marketing",
				Subjects: s, Categories: []string{"user.contact.email"}, RequestID: "req-1", Outcome: audit.OutcomeOK}
		}
		if err := l.Append(ctx, m, es...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkVerifyChain measures Verify's own work over entries in memory.
func BenchmarkVerifyChain(b *testing.B) {
	m, _ := build(10_000, 100, 1000)
	s := newSigner("k1")
	for b.Loop() {
		if rep, err := audit.Verify(context.Background(), m, s); err != nil || !rep.OK {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(b.N*10_000)/b.Elapsed().Seconds(), "entries/s")
}
