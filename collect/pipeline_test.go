package collect_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
)

type testIndex struct{}

func (testIndex) BlindIndex(kind, value string) []byte {
	m := hmac.New(sha256.New, []byte("test"))
	m.Write([]byte(kind + "\x00" + value))
	return m.Sum(nil)[:16]
}

func message(t *testing.T, s string) *collect.Message {
	t.Helper()
	var m collect.Message
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func prepare(t *testing.T, s string) (collect.Record, bool, map[collect.ViolationKey]int) {
	t.Helper()
	inv := inventory.MustExample()
	var tally collect.Tally
	rec, ok := collect.NewPipeline(inv, testIndex{}).Prepare(inv.SourceByWriteKey("demo-web-key"), message(t, s), time.Unix(1_800_000_000, 0).UTC(), &tally)
	return rec, ok, tally.Drain()
}

func TestMinimise(t *testing.T) {
	rec, ok, v := prepare(t, `{"type":"track","userId":"u1","event":"Order Completed",
		"properties":{"order_id":"ORD-1","total":"not a number","email":"ann@example.com","pin":"1234"},
		"context":{"locale":"fr-FR","screen":{"width":1024},"page":{"url":"https://shop.example/x","secret":"s"}}}`)
	if !ok {
		t.Fatal("order dropped")
	}
	var props, ctx map[string]any
	json.Unmarshal([]byte(rec.Properties), &props)
	json.Unmarshal([]byte(rec.Context), &ctx)
	if diff := cmp.Diff(map[string]any{"order_id": "ORD-1"}, props); diff != "" {
		t.Errorf("clear properties (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"locale": "fr-FR", "page.url": "https://shop.example/x"}, ctx); diff != "" {
		t.Errorf("clear context (-want +got):\n%s", diff)
	}
	if len(rec.Personal) != 1 || rec.Personal[0].Path != "properties.email" || string(rec.Personal[0].JSON) != `"ann@example.com"` {
		t.Errorf("personal values: %+v", rec.Personal)
	}
	want := map[collect.ViolationKey]int{
		{"web", "Order Completed", "pin", collect.ViolationUndeclaredField}:                  1,
		{"web", "Order Completed", "properties.total", collect.ViolationType}:                1,
		{"web", "Order Completed", "context.screen.width", collect.ViolationUndeclaredField}: 1,
		{"web", "Order Completed", "context.page.secret", collect.ViolationUndeclaredField}:  1,
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
}

func TestUndeclaredEvent(t *testing.T) {
	_, ok, v := prepare(t, `{"type":"track","userId":"u1","event":"Password Typed jean@example.com","properties":{"x":1}}`)
	if ok {
		t.Fatal("an undeclared event was kept")
	}
	for k := range v {
		if k.Kind != collect.ViolationUndeclaredEvent || strings.Contains(k.Event, "jean@example.com") {
			t.Fatalf("violation %+v: want undeclared_event with the name redacted", k)
		}
	}
}

func TestRedactFreeText(t *testing.T) {
	rec, ok, v := prepare(t, `{"type":"track","userId":"u1","event":"Support Ticket Opened",
		"properties":{"message":"Call 06 12 34 56 78 or mail jean.dupont@example.com, card 4111 1111 1111 1111"}}`)
	if !ok {
		t.Fatal("dropped")
	}
	s := rec.Properties
	for _, leak := range []string{"06 12 34 56 78", "jean.dupont@example.com", "4111 1111 1111 1111"} {
		if strings.Contains(s, leak) {
			t.Errorf("%q left in %s", leak, s)
		}
	}
	got := map[string]int{}
	for k, n := range v {
		got[k.Kind] += n
	}
	if got["redacted_email"] != 1 || got["redacted_phone"] != 1 || got["redacted_card"] != 1 {
		t.Errorf("redaction counts: %v", got)
	}
}

func TestPurposes(t *testing.T) {
	inv := inventory.MustExample()
	rec, _, _ := prepare(t, `{"type":"track","userId":"u1","event":"Order Completed","properties":{"order_id":"A"},"context":{"ip":"203.0.113.1"}}`)
	got := inv.PurposeKeys(rec.Purposes)
	for _, want := range []string{"service", "legal_accounting", "fraud_prevention"} {
		if !strings.Contains(strings.Join(got, ","), want) {
			t.Errorf("purposes %v lack %s", got, want)
		}
	}
}

func TestIdentities(t *testing.T) {
	rec, ok, _ := prepare(t, `{"type":"identify","userId":"u1","anonymousId":"a1","traits":{"email":" Ann@Example.COM","phone":"06 12 34 56 78","plan":"gold"}}`)
	if !ok {
		t.Fatal("identify dropped")
	}
	idx := testIndex{}
	want := []collect.Identity{
		{Kind: "user", Hash: idx.BlindIndex("user", "u1")},
		{Kind: "email", Hash: idx.BlindIndex("email", "ann@example.com")},
		{Kind: "phone", Hash: idx.BlindIndex("phone", "+33612345678")},
		{Kind: "anon", Hash: idx.BlindIndex("anon", "a1")},
	}
	if diff := cmp.Diff(want, rec.IDs); diff != "" {
		t.Errorf("identities (-want +got):\n%s", diff)
	}
	personal := map[string]bool{}
	for _, tr := range rec.Traits {
		personal[tr.Name] = tr.Personal
	}
	if diff := cmp.Diff(map[string]bool{"email": true, "phone": true, "plan": false}, personal); diff != "" {
		t.Errorf("traits (-want +got):\n%s", diff)
	}
	if rec.StoreEvent {
		t.Error("identify stored as an event")
	}
}

func TestNormalise(t *testing.T) {
	for _, tc := range []struct{ kind, in, country, want string }{
		{"email", " Ann@Example.COM ", "FR", "ann@example.com"},
		{"email", "not-an-email", "FR", ""},
		{"phone", "06 12 34 56 78", "FR", "+33612345678"},
		{"phone", "+33 (0)6", "FR", ""},
		{"phone", "0033 6 12 34 56 78", "FR", "+33612345678"},
		{"phone", "+1 415-555-2671", "FR", "+14155552671"},
		{"phone", "(415) 555-2671", "US", "+14155552671"},
		{"phone", "0612345678", "", ""},
		{"phone", "call me", "FR", ""},
	} {
		if got := collect.Normalise(tc.kind, tc.in, tc.country); got != tc.want {
			t.Errorf("Normalise(%s, %q, %s) = %q, want %q", tc.kind, tc.in, tc.country, got, tc.want)
		}
	}
}
