package inventory_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/inventory"
)

func TestPurposeSet(t *testing.T) {
	var s inventory.PurposeSet
	if !s.Empty() || s.Len() != 0 || s.Has(0) {
		t.Fatalf("zero set: empty %v, len %d, has(0) %v", s.Empty(), s.Len(), s.Has(0))
	}
	s = s.With(0).With(5).With(63).With(5)
	for _, tc := range []struct {
		i    int
		want bool
	}{{0, true}, {1, false}, {5, true}, {62, false}, {63, true}, {64, false}, {-1, false}, {1000, false}} {
		if got := s.Has(tc.i); got != tc.want {
			t.Errorf("Has(%d) = %v, want %v", tc.i, got, tc.want)
		}
	}
	if s.Len() != 3 || s.Empty() {
		t.Errorf("Len = %d, Empty = %v; want 3, false", s.Len(), s.Empty())
	}
	if got := s.With(64).With(-1); got != s {
		t.Errorf("With out of range changed the set: %b", got)
	}
}

func TestPurposeLookups(t *testing.T) {
	inv := inventory.MustExample()
	s, err := inv.PurposeSetOf("legal_accounting", "service", "service")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"service", "legal_accounting"}, inv.PurposeKeys(s)); diff != "" {
		t.Errorf("PurposeKeys in inventory order (-want +got):\n%s", diff)
	}
	if got := inv.PurposeKeys(0); len(got) != 0 {
		t.Errorf("PurposeKeys(empty) = %v", got)
	}
	if got := inv.PurposeKeys(inventory.PurposeSet(1 << 63)); len(got) != 0 {
		t.Errorf("PurposeKeys of a bit with no purpose = %v", got)
	}
	if _, err := inv.PurposeSetOf("service", "world_domination"); err == nil {
		t.Error("PurposeSetOf an unknown key: no error")
	}
	if s, err := inv.PurposeSetOf(); err != nil || !s.Empty() {
		t.Errorf("PurposeSetOf() = %b, %v", s, err)
	}
	if p := inv.Purpose("email_marketing"); p == nil || inv.Purposes[p.Index] != p {
		t.Errorf("Purpose(email_marketing) = %+v", p)
	}
	if inv.Purpose("nope") != nil || inv.Category("nope") != nil || inv.SourceByWriteKey("nope") != nil || inv.SourceByWriteKey("") != nil {
		t.Error("a lookup of an unknown key found something")
	}
	if c := inv.Category("user.health_and_medical"); c == nil || c.Sensitivity != inventory.SensitivitySpecial || !c.Personal {
		t.Errorf("Category(user.health_and_medical) = %+v", c)
	}
	if s := inv.SourceByWriteKey("demo-pos-key"); s == nil || s.Channel != inventory.ChannelPOS {
		t.Errorf("SourceByWriteKey(demo-pos-key) = %+v", s)
	}
}
