package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

// routeCase is how the route-table test calls one operator route: a
// request that the right key gets through, and the role that must be
// refused (403) — "" when any operator's key may call the route.
type routeCase struct {
	method, path, body string
	wrongRole          string
	ok                 int
}

// routeCases must name every operator route (server.Routes): a new route
// without a case here fails the suite.
var routeCases = map[string]routeCase{
	"GET /v1/subjects/{id}":            {"GET", "/v1/subjects/SUBJECT?purpose=service", "", "analyst", 200},
	"GET /v1/subjects":                 {"GET", "/v1/subjects?userId=USER&purpose=service", "", "analyst", 200},
	"POST /v1/subjects/read":           {"POST", "/v1/subjects/read?purpose=service", `{"ids":["SUBJECT"]}`, "analyst", 200},
	"GET /v1/inventory/violations":     {"GET", "/v1/inventory/violations", "", "", 200},
	"GET /v1/operators/{id}/training":  {"GET", "/v1/operators/OPERATOR/training", "", "support", 200},
	"POST /v1/operators/{id}/training": {"POST", "/v1/operators/OPERATOR/training", `{"course":"data_protection","completedAt":"2026-11-01T00:00:00Z"}`, "dpo", 204},
	"POST /v1/consent/check":           {"POST", "/v1/consent/check", `{"purposes":["service"],"subjects":[{"userId":"USER"}]}`, "", 200},
	"GET /v1/requests":                 {"GET", "/v1/requests?overdue=1", "", "marketer", 200},
	"POST /v1/requests":                {"POST", "/v1/requests", `{"type":"access","jurisdiction":"GDPR"}`, "support", 201},
	"GET /v1/requests/{id}":            {"GET", "/v1/requests/REQ_RECEIVED", "", "analyst", 200},
	"POST /v1/requests/{id}/verify":    {"POST", "/v1/requests/REQ_VERIFY/verify", `{"subject":"SUBJECT","method":"in-person","evidence":"loyalty card and face checked in store"}`, "marketer", 200},
	"POST /v1/requests/{id}/extend":    {"POST", "/v1/requests/REQ_EXTEND/extend", `{"reason":"many requests this month"}`, "support", 200},
	"POST /v1/requests/{id}/refuse":    {"POST", "/v1/requests/REQ_RECEIVED/refuse", `{"reason":"identity could not be verified"}`, "analyst", 200},
	"POST /v1/requests/{id}/rectify":   {"POST", "/v1/requests/REQ_RECTIFY/rectify", `{"field":"first_name","value":"Camille"}`, "marketer", 200},
}

// TestOperatorRoutes: every operator route is refused without a key (401)
// and with a role it does not allow (403), and works with the right one.
func TestOperatorRoutes(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	in.batch("demo-web-key", map[string]any{"type": "identify", "userId": "route-user", "traits": map[string]any{"email": "r@example.com"}})
	prof, _ := in.subject("userId=route-user")
	key := func(role string) string {
		secret, _, err := access.IssueAPIKey(context.Background(), store.NewAPIKeys(in.m.Data), access.APIKey{Name: "k-" + role, Role: role}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	admin := key("admin")
	op, _, err := in.m.srv.Auth.CreateOperator(context.Background(), "ops@example.com", "Ops", "support")
	if err != nil {
		t.Fatal(err)
	}
	request := func(typ rights.Type, verify bool) string {
		r, err := in.m.Requests.Create(context.Background(), rights.Draft{Type: typ, Jurisdiction: rights.GDPR})
		if err == nil && verify {
			// a rectification waits for the person's correction: it stays open
			r, err = in.m.Requests.Verify(context.Background(), r.ID, garde.SubjectID(prof["id"].(string)))
		}
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	reqs := strings.NewReplacer("REQ_RECEIVED", request(rights.Erasure, false), "REQ_VERIFY", request(rights.Rectification, false),
		"REQ_EXTEND", request(rights.Rectification, true), "REQ_RECTIFY", request(rights.Rectification, true))
	for _, rt := range in.m.srv.Routes() {
		tc, ok := routeCases[rt.Pattern]
		if !ok {
			t.Errorf("route %s has no case in routeCases", rt.Pattern)
			continue
		}
		t.Run(rt.Pattern, func(t *testing.T) {
			path := reqs.Replace(strings.NewReplacer("SUBJECT", prof["id"].(string), "USER", "route-user", "OPERATOR", op.ID).Replace(tc.path))
			tc.body = strings.ReplaceAll(tc.body, "SUBJECT", prof["id"].(string))
			if a := in.do(tc.method, path, "", []byte(tc.body), nil); a.status != 401 {
				t.Errorf("no key: %d %s", a.status, a.body)
			}
			if a := in.do(tc.method, path, "", []byte(tc.body), map[string]string{"Authorization": "Bearer garde_nope_nope"}); a.status != 401 {
				t.Errorf("unknown key: %d", a.status)
			}
			if tc.wrongRole != "" {
				if a := in.do(tc.method, path, "", []byte(tc.body), map[string]string{"Authorization": "Bearer " + key(tc.wrongRole)}); a.status != 403 {
					t.Errorf("role %s: %d %s", tc.wrongRole, a.status, a.body)
				}
			}
			if a := in.do(tc.method, path, "", []byte(tc.body), map[string]string{"Authorization": "Bearer " + admin}); a.status != tc.ok {
				t.Errorf("admin: %d %s", a.status, a.body)
			}
		})
	}
	for pattern := range routeCases {
		found := false
		for _, rt := range in.m.srv.Routes() {
			found = found || rt.Pattern == pattern
		}
		if !found {
			t.Errorf("routeCases names %s, which is not served", pattern)
		}
	}
}
