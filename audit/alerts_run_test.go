package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// appender appends to an in-memory log, as store.Audit.Append does.
func appender(m *memLog, l *audit.Log) func(context.Context, audit.Entry) error {
	return func(ctx context.Context, e audit.Entry) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		e.Role = "dpo"
		return l.Append(ctx, m, e)
	}
}

func TestAlertAcknowledge(t *testing.T) {
	ctx := context.Background()
	store := &memAlerts{}
	d := newDetector(store)
	if _, err := d.Observe(ctx, (&stream{}).read("op_1", "email_marketing", 600, at(2, 10, 0)).es...); err != nil {
		t.Fatal(err)
	}
	log := &memLog{}
	appendAudit := appender(log, &audit.Log{Clock: &stepClock{now: t0, step: time.Second}})

	const comment = "Checked with op_1's manager: campaign preparation."
	if err := d.Acknowledge(ctx, 1, "op_dpo", "  "+comment+"\n", appendAudit); err != nil {
		t.Fatal(err)
	}
	got, err := store.FindAlertByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Acknowledged || got.AckBy != "op_dpo" || got.AckComment != comment || !got.AckAt.Equal(alertNow) {
		t.Errorf("acknowledged alert: %+v", got)
	}
	acks := findEntries(t, log, audit.Filter{Action: audit.ActionAlertAck})
	if len(acks) != 1 {
		t.Fatalf("%d ack entries, want 1", len(acks))
	}
	sum := sha256.Sum256([]byte(comment))
	wantDetail := map[string]string{"alert": "1", "rule": audit.RuleBulkRead, "alert_actor": "op_1",
		"comment_sha256": hex.EncodeToString(sum[:])}
	if diff := cmp.Diff(wantDetail, acks[0].Detail); diff != "" {
		t.Errorf("ack entry detail (-want +got):\n%s", diff)
	}
	if a := acks[0]; a.Actor != "op_dpo" || a.Role != "dpo" || a.Outcome != audit.OutcomeOK {
		t.Errorf("ack entry: %+v", a)
	}
	if strings.Contains(fmt.Sprint(acks[0]), "manager") {
		t.Error("the ack entry copies the comment")
	}

	tests := []struct {
		name, comment string
		id            int64
		code          string
	}{
		{"twice", "again", 1, garde.EConflict},
		{"no such alert", "why", 99, garde.ENotFound},
		{"no comment", "  ", 1, garde.EInvalid},
		{"comment too long", strings.Repeat("é", 1001), 1, garde.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Acknowledge(ctx, tt.id, "op_dpo", tt.comment, appendAudit)
			if got := garde.ErrorCode(err); got != tt.code {
				t.Errorf("got %v, want %s", err, tt.code)
			}
		})
	}
	if n := len(findEntries(t, log, audit.Filter{Action: audit.ActionAlertAck})); n != 1 {
		t.Errorf("refused acknowledgements were audited: %d entries", n)
	}

	// An ack whose audit entry cannot be written is not done.
	if _, err := d.Observe(ctx, (&stream{seq: 1}).read("op_1", "email_marketing", 600, at(2, 11, 0)).es...); err != nil {
		t.Fatal(err)
	}
	failing := func(context.Context, audit.Entry) error { return errors.New("database locked") }
	if err := d.Acknowledge(ctx, 2, "op_dpo", "ok", failing); err == nil {
		t.Error("ack without its audit entry succeeded")
	}
	if a, _ := store.FindAlertByID(ctx, 2); a.Acknowledged {
		t.Error("an unaudited ack was stored")
	}
}

func findEntries(t *testing.T, r audit.Reader, f audit.Filter) []audit.Entry {
	t.Helper()
	var es []audit.Entry
	if err := r.FindAudit(context.Background(), f, func(e *audit.Entry) error { es = append(es, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	return es
}

// appendAt appends es to m as if written at t.
func appendAt(t *testing.T, m *memLog, when time.Time, es ...audit.Entry) {
	t.Helper()
	l := &audit.Log{Clock: garde.ClockFunc(func() time.Time { return when })}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range es {
		if es[i].Outcome == "" {
			es[i].Outcome = audit.OutcomeOK
		}
	}
	if err := l.Append(context.Background(), m, es...); err != nil {
		t.Fatal(err)
	}
}

// lockedLog serialises reads of a memLog with appends (Run reads it from
// another goroutine).
type lockedLog struct{ *memLog }

func (l lockedLog) FindAudit(ctx context.Context, f audit.Filter, fn func(*audit.Entry) error) error {
	l.mu.Lock()
	var es []audit.Entry
	err := l.memLog.FindAudit(ctx, f, func(e *audit.Entry) error { es = append(es, *e); return nil })
	l.mu.Unlock()
	for i := range es {
		if err := fn(&es[i]); err != nil {
			return err
		}
	}
	return err
}

func TestDetectorPoll(t *testing.T) {
	ctx := context.Background()
	log, store := &memLog{}, &memAlerts{}
	read := audit.Entry{Actor: "op_1", Role: "marketer", Action: audit.ActionSubjectRead, Purpose: "email_marketing",
		Subjects: subjectIDs(2)}
	appendAt(t, log, at(3, 10, 0), read, read)
	appendAt(t, log, at(3, 3, 0), read)
	d := newDetector(store)
	if n, err := d.Poll(ctx, lockedLog{log}); err != nil || n != 3 {
		t.Fatalf("Poll = %d, %v; want 3", n, err)
	}
	if diff := cmp.Diff([]fired{{audit.RuleOddHours, "op_1", []int64{3}}}, summary(store.alerts)); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
	if n, err := d.Poll(ctx, lockedLog{log}); err != nil || n != 0 {
		t.Fatalf("second Poll = %d, %v; want 0", n, err)
	}
	// A restarted detector reads on from the stored seq.
	if n, err := newDetector(store).Poll(ctx, lockedLog{log}); err != nil || n != 0 {
		t.Fatalf("Poll after restart = %d, %v; want 0", n, err)
	}
}

func TestDetectorPollBatches(t *testing.T) {
	log, store := &memLog{}, &memAlerts{}
	read := audit.Entry{Actor: "op_1", Action: audit.ActionSubjectRead, Purpose: "email_marketing"}
	es := make([]audit.Entry, 2500)
	for i := range es {
		es[i] = read
	}
	appendAt(t, log, at(3, 10, 0), es...)
	if n, err := newDetector(store).Poll(context.Background(), lockedLog{log}); err != nil || n != 2500 {
		t.Fatalf("Poll = %d, %v; want 2500", n, err)
	}
	if store.lastSeq != 2500 {
		t.Errorf("LastSeq = %d, want 2500", store.lastSeq)
	}
}

func TestDetectorRun(t *testing.T) {
	log, store := &memLog{}, &memAlerts{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	d := newDetector(store)
	go func() { defer close(done); d.Run(ctx, lockedLog{log}, 5*time.Millisecond) }()
	appendAt(t, log, at(7, 10, 0), audit.Entry{Actor: "op_1", Action: audit.ActionSubjectRead, Purpose: "email_marketing"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		as, _ := store.FindAlerts(ctx, audit.AlertFilter{})
		if len(as) == 1 && as[0].Rule == audit.RuleOddHours {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Run raised %v", as)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// BenchmarkObserve feeds 20 days of 200 actors' reads (4 purposes, some
// refusals and weekend reads), in batches of 1000 as Poll does; ns/entry is
// the figure to quote.
func BenchmarkObserve(b *testing.B) {
	const n, batch = 100_000, 1000
	s := &stream{}
	purposes := []string{"email_marketing", "analytics", "support_request", "fraud_prevention"}
	for i := range n {
		day := 2 + i*20/n
		s.read(fmt.Sprintf("op_%d", i%200), purposes[i%len(purposes)], 1+i%90, at(day, 8+i%11, i%60))
		if i%50 == 0 {
			s.es[len(s.es)-1].Outcome = audit.OutcomeRefused
		}
	}
	ctx := context.Background()
	var d *audit.Detector
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := i * batch % n
		if off == 0 {
			d = newDetector(nil) // the stream's seqs start again
		}
		if _, err := d.Observe(ctx, s.es[off:off+batch]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/entry")
}
