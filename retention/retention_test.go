package retention_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/retention"
	"github.com/garde-privacy/garde/store"
)

var t0 = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// TestRun: analytics events (13 months, then anonymise) become counts,
// marketing traits (3 years from last contact) outlive them when the person
// came back, orders (5 years / 10 years) stay; a dry run changes nothing;
// the plan sees what comes.
func TestRun(t *testing.T) {
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inv := inventory.MustExample()
	tx, err := store.NewCollect(db).BeginCollect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b := garde.NewSubjectID(), garde.NewSubjectID()
	tx.CreateSubject(ctx, a, true, t0)
	tx.CreateSubject(ctx, b, true, t0)
	tx.TouchSubject(ctx, b, t0.AddDate(2, 0, 0)) // b came back two years later
	ev := func(s garde.SubjectID, name, purposes string, at time.Time) collect.EventRow {
		return collect.EventRow{Subject: s, Source: "web", Type: "track", Name: name, MessageID: "m", Time: at, Received: at,
			Purposes: purposes, Properties: "{}", Context: "{}"}
	}
	if err := tx.CreateEvents(ctx, []collect.EventRow{
		ev(a, "Product Viewed", "analytics", t0),
		ev(a, "Product Viewed", "analytics", t0),
		ev(b, "Product Viewed", "analytics,personalisation", t0),
		ev(a, "Order Completed", "service,legal_accounting", t0),
		ev(a, "Old Thing", "astrology", t0), // a purpose no longer declared
	}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []garde.SubjectID{a, b} {
		tr := &collect.Trait{Name: "email", Category: "user.contact.email", Purposes: "email_marketing"}
		if err := tx.UpsertTrait(ctx, s, tr, []byte(`"x"`), t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	now := t0.AddDate(3, 1, 0) // 3 years and a month later
	c := &retention.Clock{Inventory: inv, Store: store.NewRetention(db), Clock: garde.ClockFunc(func() time.Time { return now })}

	plan, err := c.Plan(ctx, 0)
	if err != nil || len(plan) == 0 {
		t.Fatalf("plan: %v %v", plan, err)
	}
	dry, err := c.Run(ctx, true)
	if err != nil || dry.Deleted != 2 || dry.Anonymised != 3 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	count := func(q string) (n int) {
		db.Reader().QueryRow(q).Scan(&n)
		return n
	}
	if n := count(`SELECT count(*) FROM events`); n != 5 {
		t.Fatalf("a dry run deleted: %d events left", n)
	}
	rep, err := c.Run(ctx, false)
	if err != nil || rep != (retention.Report{Scanned: 7, Deleted: 2, Anonymised: 3}) {
		t.Fatalf("run: %+v %v", rep, err)
	}
	if n := count(`SELECT count(*) FROM events WHERE name = 'Order Completed'`); n != 1 {
		t.Fatal("the order was deleted before its 5 years")
	}
	if n := count(`SELECT count(*) FROM events`); n != 1 {
		t.Fatalf("%d events left, want the order only", n)
	}
	if n := count(`SELECT sum(count) FROM aggregates WHERE name = 'Product Viewed'`); n != 3 {
		t.Fatalf("aggregates: %d, want 3", n)
	}
	// a's e-mail (no contact since t0) is gone; b came back: kept until 3 years after
	if n := count(`SELECT count(*) FROM traits`); n != 1 {
		t.Fatalf("%d traits left, want b's", n)
	}
	if again, _ := c.Run(ctx, false); again.Deleted+again.Anonymised != 0 {
		t.Fatalf("second run: %+v", again)
	}
}

// TestExpiryOf: the longest retention among an item's purposes wins.
func TestExpiryOf(t *testing.T) {
	inv := inventory.MustExample()
	it := retention.Item{Kind: retention.KindEvent, Purposes: "analytics,personalisation", At: t0}
	if e := retention.ExpiryOf(inv, &it); !e.At.Equal(t0.AddDate(0, 13, 0)) {
		t.Fatalf("got %+v", e)
	}
	it.Purposes = "service,legal_accounting"
	if e := retention.ExpiryOf(inv, &it); !e.At.Equal(t0.AddDate(10, 0, 0)) || e.Purpose != "legal_accounting" {
		t.Fatalf("got %+v", e)
	}
}
