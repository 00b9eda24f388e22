package consent_test

import (
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
)

// TestCheckText: a request whose recorded text is not UTF-8 (which JSON
// would read back changed, so that the record's hash no longer verifies)
// is refused before anything is recorded; a well-formed one passes.
func TestCheckText(t *testing.T) {
	l := &consent.Ledger{Inventory: inventory.MustExample()}
	req := func() *consent.Request {
		return &consent.Request{Decisions: map[string]consent.Decision{"analytics": consent.Given}, Source: consent.SourceAPI,
			Notice: consent.Notice{Version: 1, Language: "fr"}, Country: "FR", Collector: "source:web"}
	}
	if err := l.Check(req()); err != nil {
		t.Fatalf("a well-formed request: %v", err)
	}
	for name, spoil := range map[string]func(*consent.Request){
		"country":   func(r *consent.Request) { r.Country = "F\xffR" },
		"language":  func(r *consent.Request) { r.Notice.Language = "\xc3" },
		"tcString":  func(r *consent.Request) { r.Signals.TCString = "CP\xfe" },
		"collector": func(r *consent.Request) { r.Collector = "op_\xed\xa0\x80" }, // an encoded surrogate
	} {
		r := req()
		spoil(r)
		if err := l.Check(r); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("%s not UTF-8: %v, want %s", name, err, garde.EInvalid)
		}
	}
}
