package main

import (
	"testing"

	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
)

func eventCount(t *testing.T, p map[string]any) int {
	t.Helper()
	return len(p["events"].([]any))
}

// TestIdentityMerging: an anonymous history joins the person on identify and
// on alias; two identified people are never merged by a shared device.
func TestIdentityMerging(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(7)
	ann, bob := g.Person(), g.Person()

	// Ann accepts audience measurement and personalisation in the banner,
	// browses anonymously, then signs in: identify merges the history
	in.consent(g.Consent(ann, "analytics", "personalisation"))
	in.consent(map[string]any{"anonymousId": "bob-tablet", "decisions": map[string]any{"analytics": "given"}})
	in.batch(gardetest.WebKey, g.Browse(ann)...)
	anon, a := in.subject("anonymousId=" + ann.AnonymousID)
	if a.status != 200 || eventCount(t, anon) != 2 || anon["identified"] != false {
		t.Fatalf("anonymous subject: %d %v", a.status, anon)
	}
	in.batch(gardetest.WebKey, g.Identify(ann), g.Order(ann))
	known, _ := in.subject("userId=" + ann.UserID)
	if known["id"] != anon["id"] || eventCount(t, known) != 3 || known["identified"] != true {
		t.Fatalf("after identify: got %v events on %v, want the anonymous subject %v identified with 3 events", eventCount(t, known), known["id"], anon["id"])
	}

	// Bob browses anonymously on his own device, then an alias ties it to his
	// account, which already exists
	in.batch(gardetest.WebKey, g.Identify(bob))
	bobBefore, _ := in.subject("userId=" + bob.UserID)
	in.batch(gardetest.WebKey, map[string]any{"type": "track", "anonymousId": "bob-tablet", "event": "Product Viewed", "properties": map[string]any{"product_id": "X"}})
	tablet, _ := in.subject("anonymousId=bob-tablet")
	if tablet["id"] == bobBefore["id"] {
		t.Fatal("tablet already merged")
	}
	if a := in.do("POST", "/v1/alias", gardetest.WebKey, []byte(`{"userId":"`+bob.UserID+`","previousId":"bob-tablet"}`), nil); a.status != 200 {
		t.Fatalf("alias: %d %s", a.status, a.body)
	}
	merged, _ := in.subject("anonymousId=bob-tablet")
	if merged["id"] != bobBefore["id"] || eventCount(t, merged) != 1 {
		t.Fatalf("after alias: %v, want Bob's subject %v with the tablet's event", merged["id"], bobBefore["id"])
	}
	// the old id still reads the merged subject
	if byOld := in.do("GET", "/v1/subjects/"+tablet["id"].(string)+"?purpose=analytics", "", nil, map[string]string{"Authorization": "Bearer " + in.admin}); byOld.status != 200 {
		t.Fatalf("merged id: %d", byOld.status)
	}

	// Ann's device is used by Bob: identify as Bob with Ann's anonymous id
	// must not merge two identified people
	shared := g.Identify(bob)
	shared["anonymousId"] = ann.AnonymousID
	in.batch(gardetest.WebKey, shared)
	annAfter, _ := in.subject("userId=" + ann.UserID)
	bobAfter, _ := in.subject("userId=" + bob.UserID)
	if annAfter["id"] == bobAfter["id"] {
		t.Fatal("two identified people were merged through a shared anonymous id")
	}
}
