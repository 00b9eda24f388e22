package consent_test

import (
	"strings"
	"testing"

	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
)

// saleInventory is the example inventory with a purpose that sells or
// shares data without targeting ads (CCPA), for the California rules.
func saleInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	y := strings.Replace(string(inventory.Example()), "\npurposes:\n", `
purposes:
  - key: data_sale
    name: {en: "Partner offers", fr: "Offres partenaires"}
    description: {en: "To share your data with our partners.", fr: "Pour partager vos données avec nos partenaires."}
    legal_basis: consent
    sale_or_sharing: true
    retention: {period: "1 year", from: collection, then: delete}
`, 1)
	inv, problems, err := inventory.Parse("sale.yaml", []byte(y))
	if err != nil || inv == nil {
		t.Fatalf("inventory: %v\n%v", err, problems)
	}
	return inv
}

// TestNeedsGuardian: who cannot consent alone, at each threshold.
func TestNeedsGuardian(t *testing.T) {
	l := &consent.Ledger{Inventory: saleInventory(t)}
	for _, tc := range []struct {
		name            string
		country, region string
		age             consent.Age
		decisions       map[string]consent.Decision
		source          string
		want            bool
	}{
		{"BE 12 (age 13)", "BE", "", minorOf(12), given("analytics"), "", true},
		{"BE 13", "BE", "", minorOf(13), given("analytics"), "", false},
		{"AT 13 (age 14)", "AT", "", minorOf(13), given("analytics"), "", true},
		{"AT 14", "AT", "", minorOf(14), given("analytics"), "", false},
		{"FR 14 (joint consent under 15)", "FR", "", minorOf(14), given("analytics"), "", true},
		{"FR 15", "FR", "", minorOf(15), given("analytics"), "", false},
		{"DE 15 (age 16)", "DE", "", minorOf(15), given("analytics"), "", true},
		{"DE 16", "DE", "", minorOf(16), given("analytics"), "", false},
		{"unlisted country 15 (default 16)", "JP", "", minorOf(15), given("analytics"), "", true},
		{"unlisted country 16", "JP", "", minorOf(16), given("analytics"), "", false},
		{"country in lower case", "be", "", minorOf(12), given("analytics"), "", true},
		{"US 12 (COPPA under 13)", "US", "", minorOf(12), given("analytics"), "", true},
		{"US 13", "US", "", minorOf(13), given("analytics"), "", false},
		{"US 15, sale outside California", "US", "TX", minorOf(15), given("data_sale"), "", false},
		{"California 14, sale: the teen opts in alone", "US", "CA", minorOf(14), given("data_sale"), "", false},
		{"California 13, sale: the teen opts in alone", "US", "CA", minorOf(13), given("data_sale"), "", false},
		{"California 12, sale: a parent opts in", "US", "CA", minorOf(12), given("data_sale"), "", true},
		{"California 16, sale", "US", "CA", minorOf(16), given("data_sale"), "", false},
		{"California 12, no sale: COPPA", "US", "CA", minorOf(12), given("analytics"), "", true},
		{"minor of unknown age", "FR", "", consent.Age{Status: "minor"}, given("analytics"), "", true},
		{"a minor's refusal needs nobody", "FR", "", minorOf(10), map[string]consent.Decision{"analytics": consent.Refused}, "", false},
		{"a minor's withdrawal needs nobody", "FR", "", minorOf(10), map[string]consent.Decision{"analytics": consent.Withdrawn}, "", false},
		{"adult", "FR", "", adult, given("analytics"), "", false},
		{"unknown age", "FR", "", consent.Age{Status: "unknown"}, given("analytics"), "", false},
		{"the guardian's own decision", "FR", "", minorOf(10), given("analytics"), consent.SourceGuardian, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &consent.Request{Country: tc.country, Region: tc.region, Age: tc.age, Decisions: tc.decisions, Source: tc.source}
			if got := l.NeedsGuardian(req); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func minorOf(years int) consent.Age {
	return consent.Age{Status: "minor", Years: years, Method: "self_declared"}
}
