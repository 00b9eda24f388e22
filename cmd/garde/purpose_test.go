package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

// TestPurposeBoundReads: every read names a purpose the role grants; the
// person's consent for it must hold now; only the fields that purpose uses
// come back; reads and refusals are audited.
func TestPurposeBoundReads(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(9)
	yes, no := g.Person(), g.Person()
	in.consent(g.Consent(yes, "analytics"))
	c := g.Consent(no)
	c["decisions"] = map[string]any{"analytics": "refused"}
	in.consent(c)
	for _, p := range []gardetest.Person{yes, no} {
		in.batch(gardetest.WebKey, append(g.Browse(p), g.Identify(p), g.Order(p))...)
	}
	key := func(role string, purposes ...string) string {
		secret, _, err := access.IssueAPIKey(context.Background(), store.NewAPIKeys(in.m.Data),
			access.APIKey{Name: "t-" + role, Role: role, Purposes: purposes}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	analyst, support, narrowDPO := key("analyst"), key("support"), key("dpo", "service")
	read := func(k, query string) answer {
		return in.do("GET", "/v1/subjects?"+query, "", nil, map[string]string{"Authorization": "Bearer " + k})
	}
	for _, tc := range []struct {
		name, key, query string
		status           int
		message          string
	}{
		{"no purpose", analyst, "userId=" + yes.UserID, 403, "must name its purpose"},
		{"unknown purpose", analyst, "userId=" + yes.UserID + "&purpose=astrology", 403, "unknown purpose"},
		{"purpose the role does not grant", analyst, "userId=" + yes.UserID + "&purpose=email_marketing", 403, "role analyst may not read personal data for purpose email_marketing"},
		{"purpose the key does not allow", narrowDPO, "userId=" + yes.UserID + "&purpose=analytics", 403, "limited to other purposes"},
		{"no consent for the purpose", analyst, "userId=" + no.UserID + "&purpose=analytics", 403, "does not hold now for purpose analytics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := read(tc.key, tc.query)
			if a.status != tc.status || !strings.Contains(string(a.body), tc.message) {
				t.Fatalf("got %d %s, want %d %q", a.status, a.body, tc.status, tc.message)
			}
		})
	}
	// the analyst reads browsing for analytics: no order, no e-mail, no name
	a := read(analyst, "userId="+yes.UserID+"&purpose=analytics")
	if a.status != 200 {
		t.Fatalf("analyst read: %d %s", a.status, a.body)
	}
	for _, leak := range []string{yes.Email, yes.FirstName, "Order Completed"} {
		if strings.Contains(string(a.body), leak) {
			t.Errorf("an analytics read returned %q: %s", leak, a.body)
		}
	}
	if !strings.Contains(string(a.body), "Product Viewed") {
		t.Errorf("an analytics read lost the browsing: %s", a.body)
	}
	// support reads the order for service, with the e-mail it needs
	s := read(support, "userId="+yes.UserID+"&purpose=service")
	if s.status != 200 || !strings.Contains(string(s.body), yes.Email) || strings.Contains(string(s.body), "Product Viewed") {
		t.Fatalf("support read: %d %s", s.status, s.body)
	}
	ok := in.count(`SELECT count(*) FROM audit WHERE action = 'subject.read' AND outcome = 'ok'`)
	refused := in.count(`SELECT count(*) FROM audit WHERE action = 'subject.read' AND outcome = 'refused'`)
	if ok != 2 || refused != 5 {
		t.Fatalf("audit: %d reads and %d refusals recorded, want 2 and 5", ok, refused)
	}
}
