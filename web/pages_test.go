package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/web"
)

const xss = `<script>alert(1)</script>`

// TestEscaping puts script into every value a page shows and checks that
// each page shows it as text.
func TestEscaping(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin := e.signIn(e.operator("admin", xss))
	dpo := e.signIn(e.operator("dpo", xss))
	raised := e.raise(
		audit.Alert{Time: start, Actor: "operator:" + xss, Rule: xss, Severity: xss, Message: xss, Entries: []int64{1}},
		audit.Alert{Time: start, Actor: "operator:x", Rule: "bulk_read", Severity: "high", Message: "m"})
	ack := dpo.submit("/console/alerts", fmt.Sprintf("/console/alerts/%d/ack", raised[1].ID), url.Values{"comment": {xss}})
	if ack.status != http.StatusSeeOther {
		t.Fatalf("acknowledge: got %d\n%s", ack.status, ack.body)
	}
	if _, _, err := access.IssueAPIKey(ctx, e.keys, access.APIKey{Name: xss, Role: "analyst"}, start); err != nil {
		t.Fatal(err)
	}
	created := admin.submit("/console/operators", "/console/operators", url.Values{
		"email": {"victim@garde.example"}, "name": {xss}, "role": {"support"}})
	if created.status != http.StatusOK {
		t.Fatalf("create operator: got %d\n%s", created.status, created.body)
	}
	key := admin.submit("/console/keys", "/console/keys", url.Values{"name": {xss}, "role": {"analyst"}})
	if key.status != http.StatusOK {
		t.Fatalf("create key: got %d\n%s", key.status, key.body)
	}
	pages := map[string]response{
		"home":             admin.get("/console/"),
		"operators":        admin.get("/console/operators"),
		"operator created": created,
		"keys":             admin.get("/console/keys"),
		"key created":      key,
		"training":         admin.get("/console/training"),
		"audit":            dpo.get("/console/audit?actor=" + url.QueryEscape(xss) + "&subject=" + url.QueryEscape(xss)),
		"alerts":           dpo.get("/console/alerts?status=all"),
		"login":            e.client().get("/console/login?next=" + url.QueryEscape("/console/"+xss)),
		"lang":             e.client().get("/console/lang?to=" + url.QueryEscape(xss)),
	}
	for name, res := range pages {
		if strings.Contains(res.body, xss) || strings.Contains(res.body, "<script>alert") {
			t.Errorf("%s: the script is in the page unescaped", name)
		}
	}
	for _, name := range []string{"home", "operators", "operator created", "keys", "key created", "training", "audit", "alerts"} {
		if !strings.Contains(pages[name].body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped text is not shown", name)
		}
	}
}

func TestAdminActsAreAudited(t *testing.T) {
	e := newEnv(t)
	a := e.operator("admin", "Ada")
	admin := e.signIn(a)
	dpo := e.signIn(e.operator("dpo", "Dora"))
	alert := e.raise(audit.Alert{Time: start, Actor: "operator:x", Rule: "bulk_read", Severity: "high", Message: "500 subjects"})[0]

	res := admin.submit("/console/operators", "/console/operators", url.Values{
		"email": {"new.person@garde.example"}, "name": {"New Person"}, "role": {"support"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Initial password") {
		t.Fatalf("create operator: got %d", res.status)
	}
	pw := regexp.MustCompile(`<code class="secret">([^<]+)</code>`).FindStringSubmatch(res.body)
	if pw == nil {
		t.Fatal("no initial password shown")
	}
	o, err := e.ops.FindOperatorByEmail(context.Background(), "new.person@garde.example")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := access.VerifyPassword(o.PasswordHash, pw[1], fastArgon2); !ok {
		t.Errorf("the password shown is not the operator's")
	}
	steps := []struct {
		from, path string
		form       url.Values
		by         *client
		want       int
	}{
		{"/console/operators", "/console/operators/" + o.ID + "/role", url.Values{"role": {"analyst"}}, admin, 303},
		{"/console/operators", "/console/operators/" + o.ID + "/disabled", url.Values{"disabled": {"true"}}, admin, 303},
		{"/console/operators", "/console/operators/" + o.ID + "/disabled", url.Values{"disabled": {"false"}}, admin, 303},
		{"/console/operators", "/console/operators/" + o.ID + "/unlock", nil, admin, 303},
		{"/console/training", "/console/training", url.Values{"operator": {o.ID}, "course": {"data_protection"}, "completed": {"2026-03-01"}}, admin, 303},
		{"/console/keys", "/console/keys", url.Values{"name": {"crm sync"}, "role": {"marketer"}, "purpose": {"email_marketing"}, "expires": {"2026-06-01"}}, admin, 200},
		{"/console/alerts", fmt.Sprintf("/console/alerts/%d/ack", alert.ID), url.Values{"comment": {"checked with the team: a planned campaign"}}, dpo, 303},
		{"/console/audit", "/console/audit/verify", nil, dpo, 200},
	}
	for _, s := range steps {
		if res := s.by.submit(s.from, s.path, s.form); res.status != s.want {
			t.Errorf("POST %s: got %d, want %d\n%s", s.path, res.status, s.want, res.body)
		}
	}
	keys, _ := e.keys.FindAPIKeys(context.Background())
	if len(keys) != 1 || keys[0].Role != "marketer" || strings.Join(keys[0].Purposes, ",") != "email_marketing" {
		t.Fatalf("keys: got %v", keys)
	}
	if res := admin.submit("/console/keys", "/console/keys/"+keys[0].ID+"/delete", nil); res.status != http.StatusSeeOther {
		t.Errorf("delete key: got %d", res.status)
	}
	actor := "operator:" + a.ID
	for _, action := range []string{"operator.create", "role.update", "operator.disable", "operator.enable", "operator.unlock",
		"training.record", "apikey.create", "apikey.delete"} {
		es := e.entries(action)
		if len(es) != 1 {
			t.Errorf("%s: got %d entries, want 1", action, len(es))
			continue
		}
		en := es[0]
		if en.Actor != actor || en.Role != "admin" || en.Outcome != audit.OutcomeOK || en.Source != "127.0.0.1" {
			t.Errorf("%s: got actor %q role %q outcome %q source %q", action, en.Actor, en.Role, en.Outcome, en.Source)
		}
		for _, v := range en.Detail {
			if strings.Contains(v, "@") || strings.Contains(v, "New Person") {
				t.Errorf("%s: the entry holds personal data: %v", action, en.Detail)
			}
		}
	}
	es := e.entries("alert.ack")
	if len(es) != 1 || es[0].Detail["alert"] != fmt.Sprint(alert.ID) || len(es[0].Detail["comment_sha256"]) != 64 ||
		es[0].Role != "dpo" || !strings.HasPrefix(es[0].Actor, "operator:") || es[0].Source != "127.0.0.1" {
		t.Errorf("alert.ack: got %+v", es)
	}
	if got, err := e.alerts.FindAlertByID(context.Background(), alert.ID); err != nil || !got.Acknowledged {
		t.Errorf("the alert was not acknowledged (%v)", err)
	}
	// Twice: refused, and the comment is required.
	if res := dpo.submit("/console/alerts", fmt.Sprintf("/console/alerts/%d/ack", alert.ID), url.Values{"comment": {"again"}}); res.status != http.StatusConflict {
		t.Errorf("second acknowledgement: got %d, want 409", res.status)
	}
	other := e.raise(audit.Alert{Time: start, Actor: "operator:y", Rule: "odd_hours", Severity: "medium", Message: "read at 03:00"})[0]
	if res := dpo.submit("/console/alerts", fmt.Sprintf("/console/alerts/%d/ack", other.ID), url.Values{"comment": {"  "}}); res.status != http.StatusBadRequest {
		t.Errorf("acknowledgement without a comment: got %d, want 400", res.status)
	}
	if len(e.entries("audit.verify")) != 1 {
		t.Errorf("want one audit.verify entry")
	}
	// An administrator cannot lock themselves out.
	if res := admin.submit("/console/operators", "/console/operators/"+a.ID+"/role", url.Values{"role": {"marketer"}}); res.status != http.StatusConflict {
		t.Errorf("own role change: got %d, want 409", res.status)
	}
	// Refused input changes nothing.
	for _, f := range []url.Values{
		{"name": {"k"}, "role": {"marketer"}, "purpose": {"analytics"}}, // not a marketer's purpose
		{"name": {"k"}, "role": {"nope"}},
		{"name": {"k"}, "role": {"marketer"}, "expires": {"2020-01-01"}},
		{"name": {"k"}, "role": {"marketer"}, "purpose": {"' OR 1=1 --"}},
	} {
		if res := admin.submit("/console/keys", "/console/keys", f); res.status != http.StatusBadRequest {
			t.Errorf("key %v: got %d, want 400", f, res.status)
		}
	}
}

func TestAuditTrail(t *testing.T) {
	e := newEnv(t)
	a := e.operator("admin", "Ada")
	admin := e.signIn(a)
	dpo := e.signIn(e.operator("dpo", "Dora"))
	admin.submit("/console/training", "/console/training", url.Values{"operator": {a.ID}, "course": {"data_protection"}, "completed": {"2026-03-01"}})
	subject := garde.NewSubjectID()
	if err := e.console.Record(context.Background(), audit.Entry{Actor: "apikey:k1", Role: "marketer", Action: "subject.read",
		Purpose: "email_marketing", Subjects: []garde.SubjectID{subject}}); err != nil {
		t.Fatal(err)
	}

	count := regexp.MustCompile(`Showing the latest (\d+) of (\d+) matching entries`)
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", ""},
		{"actor=" + url.QueryEscape("operator:"+a.ID) + "&action=training.record", "1"},
		{"purpose=email_marketing", "1"},
		{"subject=" + string(subject), "1"},
		{"actor=" + url.QueryEscape("' OR 1=1 --"), "0"},
		{"action=" + url.QueryEscape("x' UNION SELECT * FROM operators --"), "0"},
		{"since=2026-03-03", "0"},
		{"until=2026-03-01", "0"},
		{"since=2026-03-02&until=2026-03-02", ""},
	} {
		res := dpo.get("/console/audit?" + tc.query)
		m := count.FindStringSubmatch(res.body)
		if res.status != http.StatusOK || m == nil {
			t.Errorf("%s: got %d", tc.query, res.status)
			continue
		}
		if tc.want != "" && m[2] != tc.want {
			t.Errorf("%s: %s entries match, want %s", tc.query, m[2], tc.want)
		}
		if tc.want == "" && m[2] == "0" {
			t.Errorf("%s: nothing matches", tc.query)
		}
	}
	if res := dpo.get("/console/audit?since=yesterday"); res.status != http.StatusBadRequest {
		t.Errorf("bad date: got %d, want 400", res.status)
	}

	res := dpo.submit("/console/audit", "/console/audit/verify", nil)
	if !strings.Contains(res.body, "The chain is sound") {
		t.Fatalf("verify: want a sound chain\n%s", res.body)
	}
	// Tamper with entry 2 (a byte of its time, in its segment: see
	// store/audit.go) and verify names it.
	if _, err := e.db.Writer().Exec(`UPDATE audit_segments SET body = unhex(hex(substr(body, 1, p + 31)) || 'FF' || hex(substr(body, p + 33)))
		FROM (SELECT first_seq AS f, instr(body, unhex('00000014' || hex('garde-audit-entry/v1') || printf('%016X', 2))) AS p
			FROM audit_segments) WHERE first_seq = f AND p > 0`); err != nil {
		t.Fatal(err)
	}
	res = dpo.submit("/console/audit", "/console/audit/verify", nil)
	if !strings.Contains(res.body, "the first bad entry is number 2") {
		t.Errorf("verify after tampering: want entry 2 named\n%s", res.body)
	}
}

func TestLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	res := c.get("/console/login", "Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8")
	if !strings.Contains(res.body, `<html lang="fr">`) || !strings.Contains(res.body, "Mot de passe") {
		t.Errorf("Accept-Language fr: the page is not in French")
	}
	if res := c.get("/console/login", "Accept-Language", "de, en;q=0.5, fr;q=0.4"); !strings.Contains(res.body, "Password") {
		t.Errorf("Accept-Language en before fr: the page is not in English")
	}
	res = c.get("/console/lang?to=en&next=%2Fconsole%2Flogin", "Accept-Language", "fr")
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/console/login" {
		t.Fatalf("switch: got %d → %q", res.status, res.header.Get("Location"))
	}
	res = c.get("/console/login", "Accept-Language", "fr")
	if !strings.Contains(res.body, `<html lang="en">`) || !strings.Contains(res.body, ">Français<") {
		t.Errorf("the lang cookie does not override Accept-Language")
	}
	if res := c.get("/console/lang?to=fr&next=https%3A%2F%2Fevil.example%2F"); res.header.Get("Location") != "/console/" {
		t.Errorf("open redirect: sent to %q", res.header.Get("Location"))
	}
	// Signed-in pages, in French, with French role names and errors.
	a := e.operator("admin", "Ada")
	admin := e.signIn(a)
	admin.get("/console/lang?to=fr&next=%2Fconsole%2F")
	res = admin.get("/console/operators")
	for _, want := range []string{"Opérateurs", "Administrateur", "Nouvel opérateur", "Se déconnecter"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("French operators page lacks %q", want)
		}
	}
	res = admin.submit("/console/operators", "/console/operators", url.Values{"email": {"not an email"}, "role": {"admin"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "Une adresse e-mail valide est requise.") {
		t.Errorf("French error: got %d", res.status)
	}
}

func TestTrainingStatus(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.operator("marketer", "Mara")
	c := e.signIn(m)
	if res := c.get("/console/"); !strings.Contains(res.body, "Your data-protection training is missing") {
		t.Errorf("no warning for a missing training")
	}
	// Valid for 20 more days: warned.
	if err := e.auth.RecordTraining(ctx, access.Training{OperatorID: m.ID, Course: "data_protection",
		CompletedAt: start.AddDate(-1, 0, 20), ValidUntil: start.AddDate(0, 0, 20)}); err != nil {
		t.Fatal(err)
	}
	if res := c.get("/console/"); !strings.Contains(res.body, "Your data-protection training expires on 2026-03-22: renew it.") {
		t.Errorf("no warning 20 days before expiry")
	}
	if err := e.auth.RecordTraining(ctx, access.Training{OperatorID: m.ID, Course: "data_protection", CompletedAt: start}); err != nil {
		t.Fatal(err)
	}
	res := c.get("/console/")
	if strings.Contains(res.body, `role="alert"`) || !strings.Contains(res.body, "Valid until 2027-03-02") {
		t.Errorf("a valid training still warns, or its status is not shown")
	}
}

// TestAddPage adds a capability's page after Register: it shows in the
// navigation of the roles it names, renders in the layout, and, marked
// personal, is refused without valid training.
func TestAddPage(t *testing.T) {
	e := newEnv(t)
	if err := e.console.AddTemplates(testTemplates, "testdata/*.html"); err != nil {
		t.Fatal(err)
	}
	e.console.AddMessages("en", web.Messages{"people.hello": "Hello from people"})
	e.console.AddMessages("fr", web.Messages{"people.hello": "Bonjour des personnes"})
	e.console.AddPage(web.Page{Path: "/console/people", Title: inventory.Text{EN: "People", FR: "Personnes"},
		Roles: []string{"support", web.GroupOversight}, Personal: true},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.console.Render(w, r, "people.html", "some data")
		}))
	routes := e.console.Routes()
	if last := routes[len(routes)-1]; last.Pattern != "GET /console/people" || !last.Personal || last.Access != web.SignedIn {
		t.Errorf("Routes: got %+v last", last)
	}
	s := e.operator("support", "Sue")
	c := e.signIn(s)
	if res := c.get("/console/"); !strings.Contains(res.body, `href="/console/people"`) {
		t.Errorf("the page is not in the support navigation")
	}
	if res := c.get("/console/people"); res.status != http.StatusForbidden || !strings.Contains(res.body, "training is missing or has expired") {
		t.Errorf("without training: got %d, want 403 naming the reason", res.status)
	}
	if err := e.auth.RecordTraining(context.Background(), access.Training{OperatorID: s.ID, Course: "data_protection", CompletedAt: start}); err != nil {
		t.Fatal(err)
	}
	res := c.get("/console/people")
	if res.status != http.StatusOK || !strings.Contains(res.body, "Hello from people: some data") || !strings.Contains(res.body, "<title>People · Garde</title>") {
		t.Errorf("with training: got %d\n%s", res.status, res.body)
	}
	if res := e.signIn(e.operator("marketer", "Mara")).get("/console/people"); res.status != http.StatusForbidden {
		t.Errorf("marketer: got %d, want 403", res.status)
	}
	e.clock.Add(time.Second)
}
