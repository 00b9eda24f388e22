package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestConsolePeople: an operator reads one customer in the console for a
// purpose of their role — refused without data-protection training (403
// naming it), refused for a purpose their role lacks, then, trained, shown
// only what the purpose may use, escaped, and recorded in the audit log
// under their own id.
func TestConsolePeople(t *testing.T) {
	clock := gardetest.NewClock(time.Now().UTC())
	in := start(t, t.TempDir(), collect.WriterOptions{}, func(m *Main) { m.Clock = clock })
	g := gardetest.NewGenerator(31)
	p, q := g.Person(), g.Person()
	q.FirstName = `<script>alert("x")</script>`
	if a := in.batch(gardetest.WebKey, g.Identify(p), g.Order(p), g.Identify(q)); a.status != 200 {
		t.Fatalf("seed: %d %s", a.status, a.body)
	}
	ctx := context.Background()
	op, pw, err := in.m.srv.Auth.CreateOperator(ctx, "sue@maison-lumiere.example", "Sue", "support")
	if err != nil {
		t.Fatal(err)
	}
	code := func(secret string) string {
		c, err := access.TOTPCode(secret, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(30 * time.Second) // one code per step
		return c
	}
	enr, err := in.m.srv.Auth.EnrolTOTP(ctx, op.ID)
	if err == nil {
		_, err = in.m.srv.Auth.ConfirmTOTP(ctx, op.ID, code(enr.Secret))
	}
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + in.m.Addr()
	get := func(path string) (int, string) {
		t.Helper()
		res, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, _ := get("/console/people?purpose=service&by=email&find=" + url.QueryEscape(p.Email)); st != http.StatusSeeOther {
		t.Fatalf("without a session: %d, want 303 to the sign-in", st)
	}
	_, page := get("/console/login")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	res, err := c.PostForm(base+"/console/login", url.Values{"csrf": {html.UnescapeString(m[1])}, "email": {op.Email}, "password": {pw}, "code": {code(enr.Secret)}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %v %v", res.StatusCode, err)
	}
	res.Body.Close()

	read := func(purpose, by, find string) (int, string) {
		return get("/console/people?" + url.Values{"purpose": {purpose}, "by": {by}, "find": {find}}.Encode())
	}
	if st, body := read("service", "email", p.Email); st != http.StatusForbidden || !strings.Contains(body, "training") || strings.Contains(body, p.Email) {
		t.Fatalf("without training: %d, want 403 naming the training", st)
	}
	if err := in.m.srv.Auth.RecordTraining(ctx, access.Training{OperatorID: op.ID, Course: "data_protection", CompletedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if st, body := get("/console/people"); st != 200 || !strings.Contains(body, `name="find"`) || !strings.Contains(body, `value="service"`) || strings.Contains(body, `value="analytics"`) {
		t.Fatalf("the form (the support role's purposes only): %d", st)
	}
	if st, body := read("email_marketing", "email", p.Email); st != http.StatusForbidden || !strings.Contains(body, "may not read personal data for purpose email_marketing") {
		t.Errorf("a purpose the role lacks: %d", st)
	}
	st, body := read("service", "email", strings.ToUpper(p.Email))
	if st != 200 || !strings.Contains(body, html.EscapeString(p.FirstName)) || !strings.Contains(body, "Order Completed") {
		t.Fatalf("trained read: %d\n%s", st, body)
	}
	st, body = read("service", "email", q.Email)
	if st != 200 || strings.Contains(body, q.FirstName) || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("a trait holding a script is not escaped: %d", st)
	}
	if st, body := read("service", "email", "nobody@example.org"); st != http.StatusNotFound || !strings.Contains(body, "No customer matches") {
		t.Errorf("an unknown address: %d", st)
	}
	if st, _ := read("service", "phone", "not a phone"); st != http.StatusBadRequest {
		t.Errorf("a malformed phone: %d", st)
	}

	// the reads and the refusals are in the audit log under the operator
	var reads, refusals int
	var subjects []garde.SubjectID
	err = store.NewAudit(in.m.Data).FindAudit(ctx, audit.Filter{Actor: op.ID, Action: audit.ActionSubjectRead}, func(e *audit.Entry) error {
		if e.Role != "support" {
			t.Errorf("entry role %q", e.Role)
		}
		if e.Outcome == audit.OutcomeOK {
			reads++
			subjects = append(subjects, e.Subjects...)
		} else {
			refusals++
		}
		return nil
	})
	if err != nil || reads != 2 || refusals != 1 || len(subjects) != 2 {
		t.Fatalf("audit: %d reads of %v, %d refusals, %v", reads, subjects, refusals, err)
	}
}
