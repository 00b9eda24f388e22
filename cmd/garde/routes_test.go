package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/collect"
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
	"GET /v1/inventory/violations":     {"GET", "/v1/inventory/violations", "", "", 200},
	"GET /v1/operators/{id}/training":  {"GET", "/v1/operators/OPERATOR/training", "", "support", 200},
	"POST /v1/operators/{id}/training": {"POST", "/v1/operators/OPERATOR/training", `{"course":"data_protection","completedAt":"2026-11-01T00:00:00Z"}`, "dpo", 204},
	"POST /v1/consent/check":           {"POST", "/v1/consent/check", `{"purposes":["service"],"subjects":[{"userId":"USER"}]}`, "", 200},
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
	for _, rt := range in.m.srv.Routes() {
		tc, ok := routeCases[rt.Pattern]
		if !ok {
			t.Errorf("route %s has no case in routeCases", rt.Pattern)
			continue
		}
		t.Run(rt.Pattern, func(t *testing.T) {
			path := strings.NewReplacer("SUBJECT", prof["id"].(string), "USER", "route-user", "OPERATOR", op.ID).Replace(tc.path)
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
