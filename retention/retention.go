// Package retention is Garde's retention clock: every stored event and
// trait lives only as long as the longest retention among the purposes it
// is kept for (inventory: purposes[].retention), counted from its
// collection, or from the person's last own contact. When it runs out the
// item is deleted — or, for events whose purpose says `then: anonymise`,
// folded into per-day counts that name no one, then deleted. Each run is
// audited and counted; Plan shows what will expire next.
//
// "From contract end" needs a contract end date Garde does not hold yet: it
// is counted from the last contact, the latest date Garde knows, so the
// clock never deletes early.
package retention

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/inventory"
)

// Item is one stored thing with a retention.
type Item struct {
	Kind     string // KindEvent or KindTrait
	ID       int64  // events: the row id
	Subject  garde.SubjectID
	Name     string    // event or trait name
	Source   string    // events
	Purposes string    // the stored purpose keys, comma-separated
	At       time.Time // collected (events: received; traits: last updated)
	LastSeen time.Time // the subject's last contact (zero when no purpose of the item counts from it: see Store)
}

// Kinds of items.
const (
	KindEvent = "event"
	KindTrait = "trait"
)

// Aggregate is an anonymised count: events of one name from one source on
// one day, with no subject.
type Aggregate struct {
	Day    string // YYYY-MM-DD, UTC
	Source string
	Name   string
	Count  int
}

// Store scans and expires items.
type Store interface {
	// ScanItems returns up to limit items of kind after cursor (""
	// first) and the cursor of the last one. It fills in the LastSeen of
	// every item whose stored purposes make needSeen true (of every item
	// when needSeen is nil), and may fill in that of others.
	ScanItems(ctx context.Context, kind, cursor string, limit int, needSeen func(purposes string) bool) ([]Item, string, error)
	// Expire deletes items and adds aggregates, in one transaction.
	Expire(ctx context.Context, items []Item, aggs []Aggregate) error
}

// Expiry is when an item's retention ends and what happens then.
type Expiry struct {
	At        time.Time
	Anonymise bool
	Purpose   string // the purpose whose retention ends last
}

// ExpiryOf returns the end of an item's retention: the latest end among
// its purposes. An item kept for no purpose the inventory still declares
// expires at once.
func ExpiryOf(inv *inventory.Inventory, it *Item) Expiry {
	var e Expiry
	for k := range strings.SplitSeq(it.Purposes, ",") {
		p := inv.Purpose(k)
		if p == nil || p.Retention.Period.IsZero() {
			continue
		}
		from := it.At
		if p.Retention.From != inventory.FromCollection && it.LastSeen.After(from) {
			from = it.LastSeen
		}
		if end := p.Retention.Period.AddTo(from); end.After(e.At) {
			e = Expiry{At: end, Anonymise: p.Retention.Then == inventory.ThenAnonymise && it.Kind == KindEvent, Purpose: p.Key}
		}
	}
	return e
}

// Clock runs the retention.
type Clock struct {
	Inventory *inventory.Inventory
	Store     Store
	Clock     garde.Clock
	// Audit appends the audit entry of a run (nil: none).
	Audit func(ctx context.Context, e audit.Entry) error
}

// Report counts what a run did (or, dry, would do).
type Report struct {
	Scanned    int  `json:"scanned"`
	Deleted    int  `json:"deleted"`
	Anonymised int  `json:"anonymised"`
	DryRun     bool `json:"dryRun"`
}

// batch is how many items a scan step reads and an Expire call removes.
// A run is bound by what it writes: each deleted event rewrote a page of
// the index of events by subject, whose entries are in subject, not time,
// order, once in the write-ahead log and once more at the checkpoint; a
// larger batch shared more of those pages among its deletes (1,000,000
// events: 3.3 GB written with 5,000 items a batch, 2.8 GB with 10,000,
// 2.1 GB with 20,000; measured before that index became runs, which
// deleted events leave as they are). A smaller one keeps each Expire transaction, during which
// collection waits for the writer, short (about 0.15 s at 10,000).
const batch = 10000

// Run expires every item whose retention has ended.
//
// The scan of the next batch (a reader) runs while the current one expires
// (the writer): the two take about the same time, and run on two cores.
// Batches are disjoint ranges of keys, so an Expire never touches what the
// scan beside it reads.
func (c *Clock) Run(ctx context.Context, dryRun bool) (Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops a scan under way when Run fails
	now := c.Clock.Now()
	rep := Report{DryRun: dryRun}
	for _, kind := range []string{KindEvent, KindTrait} {
		next := c.scan(ctx, kind, "")
		for {
			s := <-next
			if s.err != nil {
				return rep, s.err
			}
			if len(s.items) == batch {
				next = c.scan(ctx, kind, s.next)
			}
			var expired []Item
			aggs := map[Aggregate]int{}
			for i := range s.items {
				e := ExpiryOf(c.Inventory, &s.items[i])
				if now.Before(e.At) {
					continue
				}
				expired = append(expired, s.items[i])
				if e.Anonymise {
					aggs[Aggregate{Day: s.items[i].At.UTC().Format(time.DateOnly), Source: s.items[i].Source, Name: s.items[i].Name}]++
					rep.Anonymised++
				} else {
					rep.Deleted++
				}
			}
			rep.Scanned += len(s.items)
			if len(expired) > 0 && !dryRun {
				list := make([]Aggregate, 0, len(aggs))
				for a, n := range aggs {
					a.Count = n
					list = append(list, a)
				}
				if err := c.Store.Expire(ctx, expired, list); err != nil {
					return rep, err
				}
			}
			if len(s.items) < batch {
				break
			}
		}
	}
	if c.Audit != nil && !dryRun && rep.Deleted+rep.Anonymised > 0 {
		err := c.Audit(ctx, audit.Entry{Actor: audit.ActorSystem, Action: "retention.run", Outcome: audit.OutcomeOK,
			Detail: map[string]string{"deleted": strconv.Itoa(rep.Deleted), "anonymised": strconv.Itoa(rep.Anonymised), "scanned": strconv.Itoa(rep.Scanned)}})
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// needSeen returns whether items kept for the given purposes need their
// subject's last contact: whether one of them counts its retention from it
// (as ExpiryOf reads it). Looking up a subject's last contact for every
// event, when most purposes count from collection, was over half of a
// scan's time.
// The answers are memoised: a batch holds few distinct purpose lists.
func (c *Clock) needSeen() func(purposes string) bool {
	memo := map[string]bool{}
	return func(purposes string) bool {
		need, ok := memo[purposes]
		if !ok {
			for k := range strings.SplitSeq(purposes, ",") {
				if p := c.Inventory.Purpose(k); p != nil && !p.Retention.Period.IsZero() && p.Retention.From != inventory.FromCollection {
					need = true
					break
				}
			}
			memo[purposes] = need
		}
		return need
	}
}

// scanned is one scan step's outcome.
type scanned struct {
	items []Item
	next  string
	err   error
}

// scan reads the batch of kind after cursor on its own goroutine.
func (c *Clock) scan(ctx context.Context, kind, cursor string) <-chan scanned {
	out := make(chan scanned, 1)
	go func() {
		var s scanned
		s.items, s.next, s.err = c.Store.ScanItems(ctx, kind, cursor, batch, c.needSeen())
		out <- s
	}()
	return out
}

// PlanLine is what will expire for one purpose within the horizon.
type PlanLine struct {
	Kind      string    `json:"kind"`
	Purpose   string    `json:"purpose"`
	Anonymise bool      `json:"anonymise"`
	Count     int       `json:"count"`
	First     time.Time `json:"first"`
}

// Plan lists what will expire between now and now + days, by kind and
// purpose (items already expired count as expiring now).
func (c *Clock) Plan(ctx context.Context, days int) ([]PlanLine, error) {
	until := c.Clock.Now().AddDate(0, 0, days)
	lines := map[[3]string]*PlanLine{}
	var order [][3]string
	for _, kind := range []string{KindEvent, KindTrait} {
		cursor := ""
		for {
			items, next, err := c.Store.ScanItems(ctx, kind, cursor, batch, c.needSeen())
			if err != nil {
				return nil, err
			}
			for i := range items {
				e := ExpiryOf(c.Inventory, &items[i])
				if e.At.After(until) {
					continue
				}
				key := [3]string{kind, e.Purpose, map[bool]string{true: "anonymise"}[e.Anonymise]}
				l := lines[key]
				if l == nil {
					l = &PlanLine{Kind: kind, Purpose: e.Purpose, Anonymise: e.Anonymise, First: e.At}
					lines[key] = l
					order = append(order, key)
				}
				l.Count++
				if e.At.Before(l.First) {
					l.First = e.At
				}
			}
			if len(items) < batch {
				break
			}
			cursor = next
		}
	}
	out := make([]PlanLine, 0, len(order))
	for _, k := range order {
		out = append(out, *lines[k])
	}
	return out, nil
}
