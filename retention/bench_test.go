package retention_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/retention"
	"github.com/garde-privacy/garde/store"
)

// The retention target (rights issue): a run over 1,000,000 events in
// ≤ 30 s on SQLite.
//
//	go test -run '^$' -bench BenchmarkRetentionRun -benchtime 1x -timeout 30m ./retention/
var (
	benchEvents   = flag.Int("retention.events", 1_000_000, "events BenchmarkRetentionRun seeds")
	benchSubjects = flag.Int("retention.subjects", 50_000, "subjects BenchmarkRetentionRun seeds")
)

// benchNow is the benchmark's clock: events were received over the 26
// months before it.
var benchNow = time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC)

// benchPurposes are the stored purposes of the seeded events, by weight,
// with their retention in the example inventory.
var benchPurposes = []struct {
	purposes string
	weight   int
}{
	{"analytics", 40},                 // 13 months from collection, then anonymise
	{"analytics,personalisation", 20}, // 13 months, anonymise (analytics ends no earlier)
	{"personalisation", 20},           // 13 months, then delete
	{"fraud_prevention", 10},          // 1 year, then delete
	{"service,legal_accounting", 10},  // 10 years: kept
}

var benchNames = []string{"Product Viewed", "Page Viewed", "Store Visited", "Order Completed", "Signed Up"}

// seedRetention writes subjects (last contact within the last 4 years), two
// traits each (e-mail: 3 years from last contact; preferred category: 13
// months) and events of random subjects spread over the last 26 months, in
// the order of their reception, with multi-row INSERTs in one transaction.
func seedRetention(tb testing.TB, db *store.DB, subjects, events int) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	const rows = 400 // per INSERT: 400 × 11 parameters, well under SQLite's limit
	insert := func(head, tuple string, n int, args []any) {
		q := head + strings.Repeat(tuple+",", n-1) + tuple
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			tb.Fatal(err)
		}
	}
	ids := make([]string, subjects)
	for i := range ids {
		ids[i] = string(garde.NewSubjectID())
	}
	ms := func(t time.Time) int64 { return t.UnixMilli() }
	span := func(months int) time.Time {
		return benchNow.Add(-time.Duration(rng.Int64N(int64(time.Duration(months) * 30 * 24 * time.Hour))))
	}
	var args []any
	for start := 0; start < subjects; start += rows {
		n := min(rows, subjects-start)
		args = args[:0]
		for _, id := range ids[start : start+n] {
			seen := ms(span(48))
			args = append(args, id, seen, seen)
		}
		insert(`INSERT INTO subjects (id, identified, created_at, last_seen_at) VALUES `, `(?, 1, ?, ?)`, n, args)
		args = args[:0]
		for _, id := range ids[start : start+n] {
			args = append(args, id, "email", "user.contact.email", "email_marketing", ms(span(48)),
				id, "preferred_category", "user.behavior.browsing_history", "personalisation", ms(span(26)))
		}
		insert(`INSERT INTO traits (subject_id, name, category, purposes, sealed, value, updated_at) VALUES `, `(?, ?, ?, ?, 1, x'00112233445566778899', ?)`, 2*n, args)
	}
	total := 0
	for _, p := range benchPurposes {
		total += p.weight
	}
	// events arrive over time: ids follow the reception time, as in a
	// running instance (the expired events are the older ids)
	times := make([]int64, events)
	for i := range times {
		times[i] = ms(span(26))
	}
	slices.Sort(times)
	for start := 0; start < events; start += rows {
		n := min(rows, events-start)
		args = args[:0]
		for i := range n {
			w := rng.IntN(total)
			purposes := benchPurposes[0].purposes
			for _, p := range benchPurposes {
				if w < p.weight {
					purposes = p.purposes
					break
				}
				w -= p.weight
			}
			at := times[start+i]
			args = append(args, ids[rng.IntN(subjects)], benchNames[rng.IntN(len(benchNames))], fmt.Sprintf("m-%d", start+i), at, at, purposes,
				`{"product_id":"sku-`+fmt.Sprint(rng.IntN(5000))+`","price":19.9,"currency":"EUR"}`)
		}
		insert(`INSERT INTO events (subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed) VALUES `,
			`(?, 'web', 'track', ?, ?, ?, ?, ?, ?, '{"locale":"fr-FR","timezone":"Europe/Paris"}', NULL)`, n, args)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkRetentionRun times one Clock.Run over -retention.events events
// (1,000,000 by default) of -retention.subjects subjects; about half the
// events, and a third of the traits, have expired. run-s is the time of a
// run; seeding is outside the timer.
func BenchmarkRetentionRun(b *testing.B) {
	ctx := context.Background()
	inv := inventory.MustExample()
	var total time.Duration
	var rep retention.Report
	for range b.N {
		b.StopTimer()
		db, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "garde.db"), "data")
		if err != nil {
			b.Fatal(err)
		}
		seedRetention(b, db, *benchSubjects, *benchEvents)
		c := &retention.Clock{Inventory: inv, Store: store.NewRetention(db), Clock: garde.ClockFunc(func() time.Time { return benchNow })}
		b.StartTimer()
		start := time.Now()
		rep, err = c.Run(ctx, false)
		total += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if rep.Scanned != *benchEvents+2**benchSubjects || rep.Deleted == 0 || rep.Anonymised == 0 {
			b.Fatalf("report %+v", rep)
		}
		db.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "run-s")
	b.ReportMetric(float64(rep.Deleted), "deleted")
	b.ReportMetric(float64(rep.Anonymised), "anonymised")
}

// TestRunSeeded checks the benchmark's data and a run over a small copy of
// it: what expired is gone, the rest stays, the aggregates count what was
// anonymised, and a second run finds nothing.
func TestRunSeeded(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seedRetention(t, db, 500, 10_000)
	inv := inventory.MustExample()
	c := &retention.Clock{Inventory: inv, Store: store.NewRetention(db), Clock: garde.ClockFunc(func() time.Time { return benchNow })}
	dry, err := c.Run(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := c.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scanned != 11_000 || rep.Deleted != dry.Deleted || rep.Anonymised != dry.Anonymised {
		t.Fatalf("run %+v, dry run %+v", rep, dry)
	}
	// about half the events expire (26 months of events, 12 or 13 months kept)
	if expired := rep.Deleted + rep.Anonymised; expired < 4000 || expired > 7000 {
		t.Errorf("%d items expired, want about half of the events and a third of the traits", expired)
	}
	count := func(q string) (n int) {
		if err := db.Reader().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if left := count(`SELECT count(*) FROM events`) + count(`SELECT count(*) FROM traits`); left != 11_000-rep.Deleted-rep.Anonymised {
		t.Errorf("%d items left, want %d", left, 11_000-rep.Deleted-rep.Anonymised)
	}
	if n := count(`SELECT coalesce(sum(count), 0) FROM aggregates`); n != rep.Anonymised {
		t.Errorf("aggregates count %d events, want %d", n, rep.Anonymised)
	}
	if n := count(`SELECT count(*) FROM events WHERE purposes = 'service,legal_accounting'`); n == 0 {
		t.Error("events kept 10 years were deleted")
	}
	again, err := c.Run(ctx, false)
	if err != nil || again.Deleted+again.Anonymised != 0 {
		t.Fatalf("second run: %+v, %v", again, err)
	}
}
