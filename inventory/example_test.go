package inventory_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/inventory"
)

func TestExampleIsValid(t *testing.T) {
	inv, problems, err := inventory.Parse("garde.yaml", inventory.Example())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("example: %s", p) // not even a warning
	}
	if inv == nil {
		t.Fatal("example inventory is nil")
	}
	checkConsistent(t, inv)
}

func TestExampleIsACopy(t *testing.T) {
	a := inventory.Example()
	a[0] = '!'
	if inventory.Example()[0] == '!' {
		t.Error("Example returned the embedded bytes")
	}
	if a, b := inventory.MustExample(), inventory.MustExample(); a == b {
		t.Error("MustExample shares one inventory between callers")
	}
}

func TestRenderExample(t *testing.T) {
	keys := map[inventory.Channel]string{}
	for i, c := range inventory.Channels() {
		keys[c] = string(c) + `_k3y"\#` + string(rune('a'+i)) // quotes and YAML comment marks survive
	}
	out := inventory.RenderExample(func(c inventory.Channel) string { return keys[c] })
	inv, problems, err := inventory.Parse("garde.yaml", out)
	if err != nil || inv == nil {
		t.Fatalf("rendered example: %v\n%s", err, problems.Error())
	}
	if bytes.Contains(out, []byte("demo-")) {
		t.Error("a demo key is left in the rendered example")
	}
	got := map[inventory.Channel]string{}
	for _, s := range inv.Sources {
		got[s.Channel] = s.WriteKey
		if inv.SourceByWriteKey(keys[s.Channel]) != s {
			t.Errorf("SourceByWriteKey does not find %s", s.Key)
		}
	}
	if diff := cmp.Diff(keys, got); diff != "" {
		t.Errorf("write keys (-want +got):\n%s", diff)
	}
	if !bytes.Equal(inventory.RenderExample(nil), inventory.Example()) {
		t.Error("RenderExample(nil) differs from Example()")
	}
}

// TestExampleContract pins down what the collection pipeline, the demo and
// the load generator rely on in the example.
func TestExampleContract(t *testing.T) {
	inv := inventory.MustExample()

	type purpose struct {
		Basis                                      inventory.LegalBasis
		Explicit, DirectMarketing, TargetedAdverts bool
		Period, From, Then                         string
	}
	gotPurposes := map[string]purpose{}
	for _, p := range inv.Purposes {
		gotPurposes[p.Key] = purpose{p.LegalBasis, p.ExplicitConsent, p.DirectMarketing, p.TargetedAdvertising,
			p.Retention.Period.String(), p.Retention.From, p.Retention.Then}
	}
	wantPurposes := map[string]purpose{
		"service":              {inventory.Contract, false, false, false, "5 years", "contract_end", "delete"},
		"analytics":            {inventory.Consent, false, false, false, "13 months", "collection", "anonymise"},
		"personalisation":      {inventory.Consent, false, false, false, "13 months", "collection", "delete"},
		"email_marketing":      {inventory.Consent, false, true, false, "3 years", "last_contact", "delete"},
		"targeted_advertising": {inventory.Consent, false, true, true, "13 months", "collection", "delete"},
		"fraud_prevention":     {inventory.LegitimateInterests, false, false, false, "1 year", "collection", "delete"},
		"loyalty_programme":    {inventory.Contract, false, false, false, "3 years", "contract_end", "delete"},
		"support_request":      {inventory.LegitimateInterests, false, false, false, "2 years", "collection", "delete"},
		"health_wellness":      {inventory.Consent, true, false, false, "1 year", "collection", "delete"},
		"legal_accounting":     {inventory.LegalObligation, false, false, false, "10 years", "collection", "delete"},
	}
	if diff := cmp.Diff(wantPurposes, gotPurposes); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}

	channels := map[inventory.Channel]string{}
	for _, s := range inv.Sources {
		channels[s.Channel] = s.WriteKey
	}
	for _, c := range inventory.Channels() {
		if channels[c] != inventory.DemoWriteKey(c) {
			t.Errorf("channel %s: write key %q, want %q", c, channels[c], inventory.DemoWriteKey(c))
		}
	}
	if inv.Sources[0].Channel != inventory.ChannelWeb {
		t.Errorf("first source is %s, want web", inv.Sources[0].Key)
	}

	// field describes a declared field as "category purposes type".
	field := func(f *inventory.Field) string {
		if f == nil {
			return "undeclared"
		}
		s := f.Category.Key
		for _, k := range inv.PurposeKeys(f.Purposes) {
			s += " " + k
		}
		return s + " " + string(f.Type)
	}
	event := func(name string) (purposes []string, props map[string]string) {
		e := inv.Plan.Events[name]
		if e == nil {
			t.Errorf("event %q missing", name)
			return nil, nil
		}
		props = map[string]string{}
		for n, f := range e.Properties {
			props[n] = field(f)
		}
		return inv.PurposeKeys(e.Purposes), props
	}
	for _, tc := range []struct {
		event    string
		purposes []string
		props    map[string]string
	}{
		{"Order Completed", []string{"service", "legal_accounting"}, map[string]string{
			"order_id":         "business.order service legal_accounting string",
			"total":            "user.behavior.purchase_history service legal_accounting number",
			"currency":         "business.order service legal_accounting string",
			"products":         "business.product service legal_accounting array",
			"coupon":           "business.order service legal_accounting string",
			"email":            "user.contact.email service string",
			"phone":            "user.contact.phone_number service string",
			"shipping_address": "user.contact.address service any",
		}},
		{"Product Viewed", []string{"analytics", "personalisation"}, map[string]string{
			"product_id": "business.product analytics personalisation string",
			"name":       "business.product analytics personalisation string",
			"price":      "business.product analytics personalisation number",
			"category":   "business.product analytics personalisation string",
			"currency":   "business.order analytics personalisation string",
		}},
		{"Signed Up", []string{"service", "email_marketing"}, map[string]string{
			"email":      "user.contact.email service email_marketing string",
			"first_name": "user.name service email_marketing string",
			"plan":       "business.marketing service email_marketing string",
			"referrer":   "business.content service email_marketing string",
		}},
		{"Newsletter Subscribed", []string{"email_marketing"}, map[string]string{
			"email":  "user.contact.email email_marketing string",
			"topics": "business.marketing email_marketing array",
		}},
		{"Store Visited", []string{"analytics"}, map[string]string{
			"store_id": "business.store analytics string",
			"location": "user.location.precise analytics object",
		}},
		{"Loyalty Points Earned", []string{"loyalty_programme"}, map[string]string{
			"points":    "business.store loyalty_programme integer",
			"member_id": "user.unique_id loyalty_programme string",
			"reason":    "business.store loyalty_programme string",
		}},
		{"Support Ticket Opened", []string{"support_request"}, map[string]string{
			"topic":   "business.support_ticket_text support_request string",
			"message": "business.support_ticket_text support_request string",
		}},
		{"Heart Rate Synced", []string{"health_wellness"}, map[string]string{
			"bpm":       "user.health_and_medical health_wellness integer",
			"device_id": "user.device.device_id health_wellness string",
		}},
	} {
		purposes, props := event(tc.event)
		if diff := cmp.Diff(tc.purposes, purposes); diff != "" {
			t.Errorf("%s purposes (-want +got):\n%s", tc.event, diff)
		}
		if diff := cmp.Diff(tc.props, props); diff != "" {
			t.Errorf("%s properties (-want +got):\n%s", tc.event, diff)
		}
	}

	personal := func(m map[string]*inventory.Field) map[string]bool {
		out := map[string]bool{}
		for n, f := range m {
			out[n] = f.Personal()
		}
		return out
	}
	if diff := cmp.Diff(map[string]bool{
		"email": true, "phone": true, "name": true, "first_name": true, "last_name": true, "birthday": true,
		"gender": true, "address": true, "plan": false, "loyalty_tier": false, "member_id": true,
		"store_credit": true, "preferred_category": true,
	}, personal(inv.Plan.Traits)); diff != "" {
		t.Errorf("traits, personal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{"name": false, "industry": false, "employees": false}, personal(inv.Plan.GroupTraits)); diff != "" {
		t.Errorf("group traits, personal (-want +got):\n%s", diff)
	}
	ctx := personal(inv.Plan.Context)
	wantCtx := map[string]bool{"ip": true, "userAgent": true}
	for _, k := range []string{"locale", "timezone", "page.url", "page.path", "page.referrer", "page.title", "library.name",
		"library.version", "app.version", "os.name", "device.type", "campaign.source", "campaign.medium", "campaign.name"} {
		wantCtx[k] = false
	}
	if diff := cmp.Diff(wantCtx, ctx); diff != "" {
		t.Errorf("context, personal (-want +got):\n%s", diff)
	}
	if inv.PurposeKeys(inv.Plan.Context["ip"].Purposes)[0] != "fraud_prevention" {
		t.Error("context.ip does not serve fraud_prevention")
	}
	if p := inv.Plan.Page; p == nil || cmp.Diff([]string{"analytics"}, inv.PurposeKeys(p.Purposes)) != "" ||
		cmp.Diff(map[string]bool{"url": false, "path": false, "title": false, "referrer": false, "search": false}, personal(p.Properties)) != "" {
		t.Errorf("page spec: %+v", p)
	}
}

func BenchmarkParseExample(b *testing.B) {
	data := inventory.Example()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if inv, _, err := inventory.Parse("garde.yaml", data); err != nil || inv == nil {
			b.Fatal("example does not parse")
		}
	}
}
