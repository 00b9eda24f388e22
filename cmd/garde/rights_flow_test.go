package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/privacy"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/rights/verify"
)

// operator calls the operator API with the instance's DPO key.
func (in *instance) operator(method, path string, body any) answer {
	in.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	return in.do(method, path, "", b, map[string]string{"Authorization": "Bearer " + in.admin})
}

// awaitRequest polls a request until it reaches state (the durable job
// answers it) or fails the test after 15 s.
func (in *instance) awaitRequest(id, state string) map[string]any {
	in.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		a := in.operator("GET", "/v1/requests/"+id, nil)
		var r map[string]any
		a.decode(in.t, &r)
		if r["state"] == state {
			return r
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("request %s still %v after 15 s: %s", id, r["state"], a.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestErasureWhileCollecting: an operator records an erasure request,
// verifies the requester with evidence, and the durable job erases the
// person while the person's own events keep arriving. Afterwards no row
// names the erased subject (nothing resolved against the writer's caches
// landed under the old id), the events sent after the erasure made a new
// subject, and the request is completed with a certificate on record.
func TestErasureWhileCollecting(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	p := distinctive()
	old := seedDistinctive(t, in, p, "ERASE1")

	a := in.operator("POST", "/v1/requests", map[string]any{"type": "erasure", "jurisdiction": "GDPR"})
	if a.status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var req map[string]any
	a.decode(t, &req)
	id := req["id"].(string)

	// the person keeps browsing while the erasure runs
	var stop atomic.Bool
	var wg sync.WaitGroup
	var sent atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				msg := map[string]any{"type": "track", "userId": p.UserID, "event": "Product Viewed",
					"messageId": fmt.Sprintf("m-%d-%d", w, i), "properties": map[string]any{"product_id": "SKU-1"}}
				if a := in.batch(gardetest.WebKey, msg); a.status != http.StatusOK {
					t.Errorf("batch during erasure: %d %s", a.status, a.body)
					return
				}
				sent.Add(1)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	a = in.operator("POST", "/v1/requests/"+id+"/verify", map[string]any{"subject": old, "method": "id-document", "evidence": "identity card checked at the shop desk"})
	if a.status != http.StatusOK {
		t.Fatalf("verify: %d %s", a.status, a.body)
	}
	done := in.awaitRequest(id, "completed")
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if sent.Load() == 0 {
		t.Fatal("no event was sent during the erasure: the test proves nothing")
	}
	if h, _ := done["history"].([]any); len(h) < 4 {
		t.Errorf("history %v: want received, verified, in progress, completed", h)
	}

	for _, table := range []string{"events", "traits", "identities", "subjects"} {
		col := "subject_id"
		if table == "subjects" {
			col = "id"
		}
		var n int
		if err := in.m.Data.Reader().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table+" WHERE "+col+" = ?", string(old)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d rows of %s still name the erased subject", n, table)
		}
	}
	// events after the erasure belong to a new person, known by the same userId
	prof, a := in.subject("userId=" + p.UserID)
	if a.status != http.StatusOK {
		t.Fatalf("the person sending after the erasure is unknown: %d %s", a.status, a.body)
	}
	if prof["id"] == string(old) {
		t.Fatal("events after the erasure landed under the erased subject")
	}
	out, err := in.m.requestOutcome(id)
	if err != nil || out.Certificate == "" || !out.Known {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if _, err := in.m.Eraser.Verify(out.Certificate); err != nil {
		t.Fatalf("certificate: %v", err)
	}
}

// TestRequestAPIBadInput: unknown types and jurisdictions, unverifiable
// evidence and a second verification are 4xx and change nothing.
func TestRequestAPIBadInput(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	for _, body := range []string{`{"type":"teleport","jurisdiction":"GDPR"}`, `{"type":"erasure","jurisdiction":"XX"}`,
		`{"type":"restriction","jurisdiction":"CCPA"}`, `{"type":"erasure","jurisdiction":"GDPR","extra":1}`, `not json`} {
		a := in.do("POST", "/v1/requests", "", []byte(body), map[string]string{"Authorization": "Bearer " + in.admin})
		if a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", body, a.status, a.body)
		}
		a.errorCode(t)
	}
	a := in.operator("POST", "/v1/requests", map[string]any{"type": "access", "jurisdiction": "CCPA"})
	var req map[string]any
	a.decode(t, &req)
	id := req["id"].(string)
	for _, body := range []map[string]any{
		{"subject": "not-a-subject", "method": "id-document", "evidence": "x"},
		{"subject": "s_x", "method": "telepathy", "evidence": "x"},
		{"method": "id-document", "evidence": "x"},
	} {
		if a := in.operator("POST", "/v1/requests/"+id+"/verify", body); a.status != http.StatusBadRequest {
			t.Errorf("%v: %d %s", body, a.status, a.body)
		}
	}
	if a := in.operator("GET", "/v1/requests/r_nope", nil); a.status != http.StatusNotFound {
		t.Errorf("unknown request: %d", a.status)
	}
	if a := in.operator("GET", "/v1/requests?state=lost", nil); a.status != http.StatusBadRequest {
		t.Errorf("unknown state: %d", a.status)
	}
	a = in.operator("GET", "/v1/requests?state=received", nil)
	var list struct{ Requests []map[string]any }
	a.decode(t, &list)
	if len(list.Requests) != 1 || list.Requests[0]["id"] != id {
		t.Errorf("queue: %s", a.body)
	}
}

// requestOutcome is what answering request id produced.
func (m *Main) requestOutcome(id string) (rights.Outcome, error) {
	return m.fulfil.FindOutcome(context.Background(), id)
}

// TestRectificationAndObjection: an operator corrects a verified person's
// first name (the old value is gone from the files, the new one reads
// back) and an objection becomes ledger records the consent gate applies.
func TestRectificationAndObjection(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	p := distinctive()
	s := seedDistinctive(t, in, p, "RECT")
	ctx := context.Background()
	newRequest := func(typ rights.Type) string {
		r, err := in.m.Requests.Create(ctx, rights.Draft{Type: typ, Jurisdiction: rights.GDPR})
		if err == nil {
			_, err = in.m.Requests.Verify(ctx, r.ID, s)
		}
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}

	rect := newRequest(rights.Rectification)
	for _, bad := range []map[string]any{{"field": "shoe_size", "value": "42"}, {"field": "first_name"}, {"value": "x"}} {
		if a := in.operator("POST", "/v1/requests/"+rect+"/rectify", bad); a.status != 400 {
			t.Errorf("%v: %d %s", bad, a.status, a.body)
		}
	}
	a := in.operator("POST", "/v1/requests/"+rect+"/rectify", map[string]any{"field": "first_name", "value": "Philomène"})
	if a.status != 200 {
		t.Fatalf("rectify: %d %s", a.status, a.body)
	}
	in.awaitRequest(rect, "completed")
	prof, _ := in.subject("userId=" + p.UserID)
	if tr, _ := prof["traits"].(map[string]any); tr["first_name"] != "Philomène" {
		t.Errorf("first name after rectification: %v", tr["first_name"])
	}
	// the old value left the profile; events that carried it are history
	// the person may ask to erase, so only the traits table is checked
	var n int
	if err := in.m.Data.Reader().QueryRowContext(ctx, "SELECT count(*) FROM traits WHERE subject_id = ? AND name = 'first_name'", string(s)).Scan(&n); err != nil || n != 1 {
		t.Fatalf("traits rows: %d, %v", n, err)
	}

	obj := newRequest(rights.Objection)
	if err := in.m.fulfil.Run(ctx, obj, "test"); err != nil {
		t.Fatal(err)
	}
	in.awaitRequest(obj, "completed")
	st := in.m.Consent.State(s, time.Now())
	objected := 0
	for _, ps := range st.Purposes {
		if in.m.Inventory.Purpose(ps.Purpose).LegalBasis == "legitimate_interests" {
			if ps.Allowed || ps.Decision != "objected" {
				t.Errorf("%s after the objection: %+v", ps.Purpose, ps)
			}
			objected++
		}
	}
	if objected == 0 {
		t.Fatal("no purpose on legitimate interests: the objection test proves nothing")
	}
}

// TestRectifyEmail: correcting an email replaces the person's blind index:
// the old address finds no one, the new one finds the person, and one
// email identity is left; an address that belongs to another person is
// refused (409) and changes nothing.
func TestRectifyEmail(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	p := distinctive()
	s := seedDistinctive(t, in, p, "EMAIL")
	other := gardetest.NewGenerator(3).Person()
	if a := in.batch(gardetest.WebKey, gardetest.NewGenerator(3).Identify(other)); a.status != 200 {
		t.Fatalf("seed: %d %s", a.status, a.body)
	}
	ctx := context.Background()
	r, err := in.m.Requests.Create(ctx, rights.Draft{Type: rights.Rectification, Jurisdiction: rights.GDPR})
	if err == nil {
		_, err = in.m.Requests.Verify(ctx, r.ID, s)
	}
	if err != nil {
		t.Fatal(err)
	}
	if a := in.operator("POST", "/v1/requests/"+r.ID+"/rectify", map[string]any{"field": "email", "value": "not an address"}); a.status != 400 {
		t.Errorf("invalid email: %d %s", a.status, a.body)
	}
	if a := in.operator("POST", "/v1/requests/"+r.ID+"/rectify", map[string]any{"field": "email", "value": other.Email}); a.status != 409 {
		t.Errorf("another person's email: %d %s", a.status, a.body)
	}
	if prof, a := in.subject("email=" + url.QueryEscape(p.Email)); a.status != 200 || prof["id"] != string(s) {
		t.Fatalf("after the refusal, the old email: %d %v", a.status, prof["id"])
	}
	const fresh = "Zephyrine.Q+nouvelle@Example.org"
	if a := in.operator("POST", "/v1/requests/"+r.ID+"/rectify", map[string]any{"field": "email", "value": fresh}); a.status != 200 {
		t.Fatalf("rectify: %d %s", a.status, a.body)
	}
	if _, a := in.subject("email=" + url.QueryEscape(p.Email)); a.status != 404 {
		t.Errorf("the old email still finds someone: %d %s", a.status, a.body)
	}
	prof, a := in.subject("email=" + url.QueryEscape(strings.ToLower(fresh)))
	if a.status != 200 || prof["id"] != string(s) {
		t.Fatalf("the new email: %d %v", a.status, prof["id"])
	}
	if tr, _ := prof["traits"].(map[string]any); tr["email"] != fresh {
		t.Errorf("email trait: %v", tr["email"])
	}
	var n int
	if err := in.m.Data.Reader().QueryRowContext(ctx, "SELECT count(*) FROM identities WHERE subject_id = ? AND kind = 'email'", string(s)).Scan(&n); err != nil || n != 1 {
		t.Errorf("email identities: %d, %v", n, err)
	}
	// an event sent with the new address lands on the same person
	if a := in.batch(gardetest.WebKey, map[string]any{"type": "identify", "anonymousId": "fresh-device", "traits": map[string]any{"email": fresh}}); a.status != 200 {
		t.Fatalf("identify: %d %s", a.status, a.body)
	}
	if prof, _ := in.subject("anonymousId=fresh-device"); prof["id"] != string(s) {
		t.Errorf("the new address resolves to %v, want %s", prof["id"], s)
	}
}

// TestSignedLinkFromBrandSite: the brand's site sends a signed-in customer
// to the privacy centre with a token (HS256, its key configured in Garde):
// the request is verified without a code and answered; the same link
// used again opens nothing.
func TestSignedLinkFromBrandSite(t *testing.T) {
	secret := []byte("a shared secret of the brand's site, 32+ bytes long")
	keys := verify.SiteKeys{Issuer: "https://shop.maison-lumiere.example", HMAC: map[string][]byte{"shop-2026": secret}}
	in := start(t, t.TempDir(), collect.WriterOptions{}, func(m *Main) { m.SiteKeys = &keys })
	p := distinctive()
	seedDistinctive(t, in, p, "SIGNED")
	now := time.Now()
	token, err := verify.SignSiteToken(verify.SiteClaims{Issuer: keys.Issuer, Audience: verify.Audience, Subject: p.UserID,
		ID: "jti-" + garde.RandomID(), IssuedAt: now, Expires: now.Add(5 * time.Minute)}, "shop-2026", secret)
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	link := in.base + "/privacy/signed?kind=access&where=gdpr&lang=fr&token=" + url.QueryEscape(token)
	resp, err := client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Request.URL.Path, "/privacy/requests/r_") {
		t.Fatalf("signed link: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	id := strings.TrimPrefix(resp.Request.URL.Path, "/privacy/requests/")
	r := in.awaitRequest(id, "completed")
	if r["subject"] == nil || r["subject"] == "" {
		t.Errorf("the request names no one: %v", r)
	}
	again, err := (&http.Client{}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusBadRequest {
		t.Errorf("the link worked twice: %d", again.StatusCode)
	}
}

// TestUnknownPersonSameAnswer: the real privacy service answers an
// address Garde does not know exactly as a known one (a code is mailed);
// once the address is proven, the answer is that nothing is held — no
// copy, no one erased.
func TestUnknownPersonSameAnswer(t *testing.T) {
	mail := &consent.MemoryNotifier{}
	in := start(t, t.TempDir(), collect.WriterOptions{}, func(m *Main) { m.Notifier = mail })
	p := distinctive()
	seedDistinctive(t, in, p, "UNKNOWN")
	backend := in.m.srv.Privacy.Backend
	ctx := context.Background()
	code := regexp.MustCompile(`\b\d{6}\b`)
	ids := map[string]string{}
	for _, email := range []string{p.Email, "nobody.here@example.net"} {
		id, err := backend.Ask(ctx, privacy.Ask{Kind: privacy.KindAccess, Jurisdiction: "GDPR", Email: email, Lang: "en", IP: "192.0.2.7"})
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		msgs := mail.Messages()
		last := msgs[len(msgs)-1]
		if last.To != email {
			t.Fatalf("no code mailed to %s", email)
		}
		if err := backend.Confirm(ctx, id, code.FindString(last.Text), "192.0.2.7"); err != nil {
			t.Fatalf("%s: confirm: %v", email, err)
		}
		ids[email] = id
	}
	known := in.awaitRequest(ids[p.Email], "completed")
	unknown := in.awaitRequest(ids["nobody.here@example.net"], "completed")
	if known["subject"] == nil || unknown["subject"] != nil {
		t.Errorf("subjects: known %v, unknown %v", known["subject"], unknown["subject"])
	}
	st, err := backend.Status(ctx, ids["nobody.here@example.net"])
	if err != nil || st.Known || st.Download != "" {
		t.Errorf("unknown person's status %+v, %v", st, err)
	}
	if st, err := backend.Status(ctx, ids[p.Email]); err != nil || !st.Known || st.Download == "" {
		t.Errorf("known person's status %+v, %v", st, err)
	}
	// a wrong code, then an unknown request: the same refusal
	id, _ := backend.Ask(ctx, privacy.Ask{Kind: privacy.KindErasure, Jurisdiction: "GDPR", Email: p.Email, Lang: "fr", IP: "192.0.2.8"})
	e1 := backend.Confirm(ctx, id, "000000", "192.0.2.8")
	e2 := backend.Confirm(ctx, "r_"+garde.RandomID(), "000000", "192.0.2.8")
	if garde.ErrorCode(e1) != garde.EInvalid || garde.ErrorMessage(e1) != garde.ErrorMessage(e2) {
		t.Errorf("wrong code %v, unknown request %v: want one same EInvalid", e1, e2)
	}
	if _, a := in.subject("email=" + p.Email); a.status != http.StatusOK {
		t.Error("a wrong code erased someone")
	}
}
