package inventory_test

import (
	"slices"
	"testing"

	"github.com/garde-privacy/garde/inventory"
)

// checkConsistent asserts what an inventory returned by Parse promises.
func checkConsistent(t *testing.T, inv *inventory.Inventory) {
	t.Helper()
	if inv.Version != 1 {
		t.Errorf("version %d", inv.Version)
	}
	if len(inv.Purposes) > inventory.MaxPurposes {
		t.Errorf("%d purposes", len(inv.Purposes))
	}
	all := inventory.PurposeSet(0)
	for i, p := range inv.Purposes {
		if p.Index != i {
			t.Errorf("purpose %s: index %d, want %d", p.Key, p.Index, i)
		}
		if inv.Purpose(p.Key) != p {
			t.Errorf("Purpose(%q) is not the listed purpose", p.Key)
		}
		if r := p.Retention; r.Period.IsZero() || (r.From != inventory.FromCollection && r.From != inventory.FromLastContact && r.From != inventory.FromContractEnd) ||
			(r.Then != inventory.ThenDelete && r.Then != inventory.ThenAnonymise) {
			t.Errorf("purpose %s: retention %+v", p.Key, r)
		}
		if p.Name.EN == "" || p.Name.FR == "" || p.Description.EN == "" || p.Description.FR == "" {
			t.Errorf("purpose %s: missing texts", p.Key)
		}
		all = all.With(i)
	}
	for _, c := range inv.Categories {
		if inv.Category(c.Key) != c {
			t.Errorf("Category(%q) is not the listed category", c.Key)
		}
	}
	for _, s := range inv.Sources {
		if inv.SourceByWriteKey(s.WriteKey) != s || len(s.WriteKey) < 8 {
			t.Errorf("source %s: write key not found or too short", s.Key)
		}
		if !slices.Contains(inventory.Channels(), s.Channel) {
			t.Errorf("source %s: channel %q", s.Key, s.Channel)
		}
	}
	checkField := func(where string, f *inventory.Field) {
		t.Helper()
		if f == nil || f.Category == nil || inv.Category(f.Category.Key) != f.Category {
			t.Errorf("%s: category not in the inventory", where)
			return
		}
		if f.Purposes.Empty() || f.Purposes&^all != 0 {
			t.Errorf("%s: purposes %b outside %b", where, f.Purposes, all)
		}
	}
	fields := func(where string, m map[string]*inventory.Field) {
		for name, f := range m {
			if f != nil && f.Name != name {
				t.Errorf("%s.%s: Name %q", where, name, f.Name)
			}
			checkField(where+"."+name, f)
		}
	}
	p := inv.Plan
	fields("context", p.Context)
	fields("traits", p.Traits)
	fields("group_traits", p.GroupTraits)
	for name, e := range p.Events {
		if e.Name != name {
			t.Errorf("event %q: Name %q", name, e.Name)
		}
		if e.Purposes&^all != 0 {
			t.Errorf("event %q: purposes outside the inventory", name)
		}
		fields("events."+name, e.Properties)
	}
	if p.Page != nil {
		if p.Page.Name != "page" {
			t.Errorf("page spec named %q", p.Page.Name)
		}
		fields("page", p.Page.Properties)
	}
}
