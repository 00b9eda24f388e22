package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

// bulkReads is a Garde holding customers who gave or refused consent to
// analytics, and API keys to read them.
type bulkReads struct {
	in *instance
	// ids of the canonical subjects, by person
	yes1, yes2, no garde.SubjectID
	// member is the anonymous subject merged into yes1
	member  garde.SubjectID
	people  map[garde.SubjectID]gardetest.Person
	analyst string
}

func newBulkReads(t *testing.T) *bulkReads {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(11)
	yes1, yes2, no := g.Person(), g.Person(), g.Person()
	in.consent(g.Consent(yes1, "analytics"))
	in.consent(g.Consent(yes2, "analytics"))
	c := g.Consent(no)
	c["decisions"] = map[string]any{"analytics": "refused"}
	in.consent(c)
	for _, p := range []gardetest.Person{yes1, yes2, no} {
		in.batch(gardetest.WebKey, append(g.Browse(p), g.Identify(p), g.Order(p))...)
	}
	// yes1 browses again on another device, then signs in: that anonymous
	// history is merged into yes1's profile
	other := yes1
	other.AnonymousID = "anon-other-device"
	in.batch(gardetest.WebKey, append(g.Browse(other), g.Identify(other))...)
	b := &bulkReads{in: in, people: map[garde.SubjectID]gardetest.Person{}}
	for _, x := range []struct {
		p  gardetest.Person
		id *garde.SubjectID
	}{{yes1, &b.yes1}, {yes2, &b.yes2}, {no, &b.no}} {
		prof, a := in.subject("userId=" + x.p.UserID)
		if a.status != 200 {
			t.Fatalf("read %s: %d %s", x.p.UserID, a.status, a.body)
		}
		*x.id = garde.SubjectID(prof["id"].(string))
		b.people[*x.id] = x.p
	}
	if err := in.m.Data.Reader().QueryRow(`SELECT id FROM subjects WHERE merged_into = ?`, string(b.yes1)).Scan((*string)(&b.member)); err != nil {
		t.Fatalf("the anonymous history was not merged: %v", err)
	}
	b.analyst = b.key(t, "analyst")
	return b
}

func (b *bulkReads) key(t *testing.T, role string, purposes ...string) string {
	t.Helper()
	secret, _, err := access.IssueAPIKey(context.Background(), store.NewAPIKeys(b.in.m.Data),
		access.APIKey{Name: "bulk-" + role + strings.Join(purposes, "-"), Role: role, Purposes: purposes}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// read posts a bulk read of ids.
func (b *bulkReads) read(key, query string, ids ...garde.SubjectID) answer {
	body, _ := json.Marshal(map[string]any{"ids": ids})
	return b.in.do("POST", "/v1/subjects/read?"+query, "", body, map[string]string{"Authorization": "Bearer " + key})
}

// refusals counts the refused reads in the audit log.
func (b *bulkReads) refusals(t *testing.T) int {
	t.Helper()
	n := 0
	err := store.NewAudit(b.in.m.Data).FindAudit(context.Background(), audit.Filter{Action: audit.ActionSubjectRead},
		func(e *audit.Entry) error {
			if e.Outcome == audit.OutcomeRefused {
				n++
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type bulkResult struct {
	Profiles []map[string]any `json:"profiles"`
	Withheld int              `json:"withheld"`
	NotFound int              `json:"notFound"`
}

// TestBulkRead: a bulk read returns, of the ids given, the profiles of the
// people whose consent holds now — each exactly as the single read returns
// it — in the order given and once each, and counts the others.
func TestBulkRead(t *testing.T) {
	b := newBulkReads(t)
	unknown := garde.NewSubjectID()
	a := b.read(b.analyst, "purpose=analytics&events=100", b.member, b.no, b.yes2, unknown, b.yes1, b.yes2)
	if a.status != 200 {
		t.Fatalf("bulk read: %d %s", a.status, a.body)
	}
	var got bulkResult
	a.decode(t, &got)
	if got.Withheld != 1 || got.NotFound != 1 || len(got.Profiles) != 2 {
		t.Fatalf("got %d profiles, %d withheld, %d not found; want 2, 1, 1: %s", len(got.Profiles), got.Withheld, got.NotFound, a.body)
	}
	// the member names yes1's profile, which comes first
	for i, want := range []garde.SubjectID{b.yes1, b.yes2} {
		if id := got.Profiles[i]["id"]; id != string(want) {
			t.Errorf("profile %d is %v, want %s", i, id, want)
		}
		single := b.in.do("GET", "/v1/subjects/"+string(want)+"?purpose=analytics&events=100", "", nil, map[string]string{"Authorization": "Bearer " + b.analyst})
		var one map[string]any
		single.decode(t, &one)
		if diff := cmp.Diff(one, got.Profiles[i]); diff != "" {
			t.Errorf("profile %d differs from the single read (-single +bulk):\n%s", i, diff)
		}
	}
	p := b.people[b.yes1]
	for _, leak := range []string{p.Email, p.FirstName, p.Phone, "Order Completed", b.people[b.no].Email, string(b.no), string(unknown)} {
		if strings.Contains(string(a.body), leak) {
			t.Errorf("an analytics bulk read returned %q: %s", leak, a.body)
		}
	}
	if !strings.Contains(string(a.body), "Product Viewed") {
		t.Errorf("an analytics bulk read lost the browsing: %s", a.body)
	}
	// support reads the orders for service, with the e-mail address they need,
	// and the person who refused analytics is read for service
	s := b.read(b.key(t, "support"), "purpose=service", b.yes1, b.no)
	var sup bulkResult
	s.decode(t, &sup)
	if s.status != 200 || len(sup.Profiles) != 2 || sup.Withheld != 0 {
		t.Fatalf("support bulk read: %d %s", s.status, s.body)
	}
	for _, want := range []string{p.Email, b.people[b.no].Email, "Order Completed"} {
		if !strings.Contains(string(s.body), want) {
			t.Errorf("a service bulk read lost %q: %s", want, s.body)
		}
	}
	if strings.Contains(string(s.body), "Product Viewed") {
		t.Errorf("a service bulk read returned the browsing: %s", s.body)
	}
	// events: of each profile's newest ?events= events, those the purpose
	// may see — as the single read does
	for _, n := range []int{0, 1, 3} {
		q := fmt.Sprintf("purpose=analytics&events=%d", n)
		e := b.read(b.analyst, q, b.yes1, b.yes2)
		var many bulkResult
		e.decode(t, &many)
		for _, p := range many.Profiles {
			if evs := p["events"].([]any); len(evs) > n {
				t.Errorf("events=%d: got %d events", n, len(evs))
			}
			var one map[string]any
			b.in.do("GET", "/v1/subjects/"+p["id"].(string)+"?"+q, "", nil, map[string]string{"Authorization": "Bearer " + b.analyst}).decode(t, &one)
			if diff := cmp.Diff(one, p); diff != "" {
				t.Errorf("events=%d: the profile differs from the single read (-single +bulk):\n%s", n, diff)
			}
		}
	}
}

// TestBulkReadAudit: one audit entry per bulk read, listing the people
// read (not those left out) up to audit.MaxListed, and beyond it their
// count and digest; durable when the answer comes.
func TestBulkReadAudit(t *testing.T) {
	b := newBulkReads(t)
	entries := func() []audit.Entry {
		t.Helper()
		var es []audit.Entry
		err := store.NewAudit(b.in.m.Data).FindAudit(context.Background(), audit.Filter{Action: audit.ActionSubjectRead},
			func(e *audit.Entry) error { es = append(es, *e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	before := len(entries())
	if a := b.read(b.analyst, "purpose=analytics", b.yes1, b.no, b.yes2, garde.NewSubjectID()); a.status != 200 {
		t.Fatalf("bulk read: %d %s", a.status, a.body)
	}
	es := entries()
	if len(es) != before+1 {
		t.Fatalf("got %d new audit entries, want 1", len(es)-before)
	}
	e := es[len(es)-1]
	want := []garde.SubjectID{b.yes1, b.yes2}
	slices.Sort(want)
	if diff := cmp.Diff(want, e.Subjects); diff != "" || e.SubjectCount != 2 || e.Outcome != audit.OutcomeOK || e.Purpose != "analytics" {
		t.Errorf("entry %+v: subjects (-want +got):\n%s", e, diff)
	}
	if diff := cmp.Diff(map[string]string{"ids": "4", "withheld": "1", "not_found": "1"}, e.Detail); diff != "" {
		t.Errorf("detail (-want +got):\n%s", diff)
	}
	if !slices.Contains(e.Categories, "business.product") {
		t.Errorf("categories %v do not name the products viewed", e.Categories)
	}

	// beyond audit.MaxListed people: their count and digest
	g := gardetest.NewGenerator(12)
	var msgs []map[string]any
	for range audit.MaxListed + 20 {
		msgs = append(msgs, g.Identify(g.Person()))
	}
	for i := 0; i < len(msgs); i += 50 {
		if a := b.in.batch(gardetest.WebKey, msgs[i:min(i+50, len(msgs))]...); a.status != 200 {
			t.Fatalf("seed: %d %s", a.status, a.body)
		}
	}
	var ids []garde.SubjectID
	rows, err := b.in.m.Data.Reader().Query(`SELECT id FROM subjects WHERE merged_into IS NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, garde.SubjectID(id))
	}
	rows.Close()
	a := b.read(b.key(t, "support"), "purpose=service", ids...)
	var got bulkResult
	a.decode(t, &got)
	if a.status != 200 || len(got.Profiles) != len(ids) {
		t.Fatalf("bulk read of %d: %d, %d profiles", len(ids), a.status, len(got.Profiles))
	}
	es = entries()
	e = es[len(es)-1]
	sorted := slices.Sorted(slices.Values(ids))
	if e.Subjects != nil || e.SubjectCount != len(ids) || e.SubjectDigest != audit.SubjectDigest(sorted) {
		t.Errorf("entry lists %d, counts %d (want %d), digest %q (want %q)", len(e.Subjects), e.SubjectCount, len(ids), e.SubjectDigest, audit.SubjectDigest(sorted))
	}
}

// TestBulkReadRefusals: the single read's refusals (403 naming the rule,
// audited) and bad bodies (400 or 413 with a code, not audited).
func TestBulkReadRefusals(t *testing.T) {
	b := newBulkReads(t)
	narrowDPO := b.key(t, "dpo", "service")
	ids := `{"ids":["` + string(b.yes1) + `"]}`
	var many []string
	for range 1001 {
		many = append(many, `"`+string(garde.NewSubjectID())+`"`)
	}
	for _, tc := range []struct {
		name, key, query, body string
		status                 int
		code, message          string
	}{
		{"no purpose", b.analyst, "", ids, 403, "forbidden", "must name its purpose"},
		{"unknown purpose", b.analyst, "purpose=astrology", ids, 403, "forbidden", "unknown purpose"},
		{"purpose the role does not grant", b.analyst, "purpose=email_marketing", ids, 403, "forbidden", "role analyst may not read personal data for purpose email_marketing"},
		{"purpose the key does not allow", narrowDPO, "purpose=analytics", ids, 403, "forbidden", "limited to other purposes"},
		{"too many ids", b.analyst, "purpose=analytics", `{"ids":[` + strings.Join(many, ",") + `]}`, 400, "invalid", "at most 1000"},
		{"no ids", b.analyst, "purpose=analytics", `{"ids":[]}`, 400, "invalid", "give 1 to 1000"},
		{"no body", b.analyst, "purpose=analytics", ``, 400, "invalid", "body is not"},
		{"malformed id", b.analyst, "purpose=analytics", `{"ids":["` + string(b.yes1) + `","cust-1"]}`, 400, "invalid", "ids[1] is not a subject id"},
		{"null id", b.analyst, "purpose=analytics", `{"ids":[null]}`, 400, "invalid", "ids[0] is not a subject id"},
		{"ids not a list", b.analyst, "purpose=analytics", `{"ids":"` + string(b.yes1) + `"}`, 400, "invalid", "body is not"},
		{"unknown field", b.analyst, "purpose=analytics", `{"ids":[],"emails":["a@example.com"]}`, 400, "invalid", "body is not"},
		{"trailing data", b.analyst, "purpose=analytics", ids + `{}`, 400, "invalid", "trailing data"},
		{"too many events", b.analyst, "purpose=analytics&events=101", ids, 400, "invalid", "events must be a number from 0 to 100"},
		{"body too large", b.analyst, "purpose=analytics", `{"ids":["` + strings.Repeat(" ", 70_000) + `"]}`, 413, "too_large", "over 64 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.refusals(t)
			a := b.in.do("POST", "/v1/subjects/read?"+tc.query, "", []byte(tc.body), map[string]string{"Authorization": "Bearer " + tc.key})
			if a.status != tc.status || a.errorCode(t) != tc.code || !strings.Contains(string(a.body), tc.message) {
				t.Fatalf("got %d %s, want %d %s %q", a.status, a.body, tc.status, tc.code, tc.message)
			}
			refused := b.refusals(t) - before
			if want := map[bool]int{true: 1, false: 0}[tc.status == 403]; refused != want {
				t.Errorf("%d refusals audited, want %d", refused, want)
			}
			if strings.Contains(string(a.body), string(b.yes1)) {
				t.Errorf("the error names a subject: %s", a.body)
			}
		})
	}
	// a read where nobody's consent holds is not an error: nobody is returned
	listed := func() int {
		n := 0
		err := store.NewAudit(b.in.m.Data).FindAudit(context.Background(), audit.Filter{Subject: b.no},
			func(*audit.Entry) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := listed()
	a := b.read(b.analyst, "purpose=analytics", b.no)
	var got bulkResult
	a.decode(t, &got)
	if a.status != 200 || len(got.Profiles) != 0 || got.Withheld != 1 || !strings.Contains(string(a.body), `"profiles":[]`) {
		t.Errorf("got %d %s, want 200, no profile, 1 withheld", a.status, a.body)
	}
	if n := listed() - before; n != 0 {
		t.Errorf("the person left out is listed in %d new audit entries", n)
	}
}
