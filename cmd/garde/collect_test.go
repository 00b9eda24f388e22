package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
)

func TestWriteKeys(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	track := []byte(`{"userId":"u1","event":"Product Viewed","properties":{"product_id":"LMP-204"}}`)
	withKey := []byte(`{"userId":"u1","event":"Product Viewed","writeKey":"demo-ios-key"}`)
	for _, tc := range []struct {
		name, key string
		body      []byte
		header    map[string]string
		want      int
	}{
		{"basic auth", gardetest.WebKey, track, nil, 200},
		{"key in body", "", withKey, nil, 200},
		{"gzip body", gardetest.WebKey, gz(track), map[string]string{"Content-Encoding": "gzip"}, 200},
		{"text/plain as the browser sends it", gardetest.WebKey, track, map[string]string{"Content-Type": "text/plain"}, 200},
		{"unknown key", "no-such-key", track, nil, 401},
		{"no key", "", track, nil, 401},
		{"bad gzip", gardetest.WebKey, []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"}, 400},
		{"unknown encoding", gardetest.WebKey, track, map[string]string{"Content-Encoding": "br"}, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := in.do("POST", "/v1/track", tc.key, tc.body, tc.header)
			if a.status != tc.want {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.want)
			}
			if tc.want != 200 {
				a.errorCode(t)
			}
		})
	}
}

func TestShortPathsAndSettings(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	for _, path := range []string{"/v1/t", "/v1/p", "/v1/i", "/v1/track", "/v1/page", "/v1/identify", "/v1/screen"} {
		a := in.do("POST", path, gardetest.WebKey, []byte(`{"anonymousId":"a1","event":"Product Viewed","name":"Accueil"}`), nil)
		if a.status != 200 {
			t.Errorf("%s: %d %s", path, a.status, a.body)
		}
	}
	a := in.do("GET", "/v1/projects/"+gardetest.WebKey+"/settings", "", nil, nil)
	if a.status != 200 || !bytes.Contains(a.body, []byte(`"Segment.io"`)) {
		t.Fatalf("settings: %d %s", a.status, a.body)
	}
	if a := in.do("GET", "/v1/projects/nope/settings", "", nil, nil); a.status != 404 {
		t.Fatalf("settings of an unknown key: %d", a.status)
	}
	if a := in.do("GET", "/sourceConfig/?p=npm&v=3", gardetest.WebKey, nil, nil); a.status != 200 || !bytes.Contains(a.body, []byte(`"destinations"`)) {
		t.Fatalf("sourceConfig: %d %s", a.status, a.body)
	}
	pre := in.do("OPTIONS", "/v1/t", "", nil, map[string]string{"Origin": "https://shop.maison-lumiere.example", "Access-Control-Request-Method": "POST"})
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://shop.maison-lumiere.example" {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
}

func TestBadInput(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	for _, tc := range []struct {
		name, path, body string
		want             int
		code             string
	}{
		{"malformed JSON", "/v1/track", `{"userId":"u1",`, 400, "invalid"},
		{"not an object", "/v1/track", `[1,2]`, 400, "invalid"},
		{"userId of the wrong type", "/v1/track", `{"userId":{"x":1},"event":"Product Viewed"}`, 400, "invalid"},
		{"properties of the wrong type", "/v1/track", `{"userId":"u1","event":"Product Viewed","properties":"x"}`, 400, "invalid"},
		{"invalid UTF-8", "/v1/track", "{\"userId\":\"u\xff\xfe\",\"event\":\"Product Viewed\"}", 400, "invalid"},
		{"nested too deep", "/v1/track", `{"userId":"u1","event":"Product Viewed","properties":` + deep + `}`, 400, "invalid"},
		{"no user and no anonymous id", "/v1/track", `{"event":"Product Viewed"}`, 400, "invalid"},
		{"track without event", "/v1/track", `{"userId":"u1"}`, 400, "invalid"},
		{"unknown type in a batch", "/v1/batch", `{"batch":[{"type":"launch","userId":"u1"}]}`, 400, "invalid"},
		{"bad timestamp", "/v1/track", `{"userId":"u1","event":"Product Viewed","timestamp":"yesterday"}`, 400, "invalid"},
		{"empty body", "/v1/track", ``, 400, "invalid"},
		{"event over 32 KB", "/v1/track", `{"userId":"u1","event":"Product Viewed","properties":{"name":"` + strings.Repeat("x", 33<<10) + `"}}`, 413, "too_large"},
		{"body over 500 KB", "/v1/batch", `{"batch":[{"type":"track","userId":"u1","event":"Product Viewed","properties":{"name":"` + strings.Repeat("x", 501<<10) + `"}}]}`, 413, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := in.do("POST", tc.path, gardetest.WebKey, []byte(tc.body), nil)
			if a.status != tc.want {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.want)
			}
			if code := a.errorCode(t); code != tc.code {
				t.Fatalf("got code %q, want %q", code, tc.code)
			}
		})
	}
	var n int
	if err := in.m.Data.Reader().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("bad input left %d events (%v)", n, err)
	}
}

// TestBatchPartial: valid messages of a batch are stored, the others are
// listed with their reason.
func TestBatchPartial(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	body := `{"batch":[
		{"type":"track","userId":"u1","event":"Product Viewed","properties":{"product_id":"A"}},
		{"type":"track","messageId":"m-bad","event":"Product Viewed"},
		{"type":"track","userId":"u1","event":"Product Viewed","properties":{"name":"` + strings.Repeat("x", 33<<10) + `"}},
		{"type":"track","userId":"u1","event":"Undeclared Thing"}]}`
	a := in.do("POST", "/v1/batch", gardetest.WebKey, []byte(body), nil)
	if a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	var r collect.Response
	a.decode(t, &r)
	if r.Accepted != 1 || r.Dropped != 1 || len(r.Rejected) != 2 {
		t.Fatalf("got %+v", r)
	}
	if r.Rejected[0].Index != 1 || r.Rejected[0].MessageID != "m-bad" || r.Rejected[0].Error.Code != "invalid" {
		t.Fatalf("first rejection: %+v", r.Rejected[0])
	}
	if r.Rejected[1].Index != 2 || r.Rejected[1].Error.Code != "too_large" {
		t.Fatalf("second rejection: %+v", r.Rejected[1])
	}
}

// TestBackpressure: a saturated writer answers 429 with Retry-After.
func TestBackpressure(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{MaxPending: 1})
	g := gardetest.NewGenerator(3)
	body, _ := json.Marshal(map[string]any{"batch": []any{g.Order(g.Person()), g.Order(g.Person())}})
	a := in.do("POST", "/v1/batch", gardetest.WebKey, body, nil)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Fatalf("got %d %v %s, want 429 with Retry-After", a.status, a.header, a.body)
	}
	if code := a.errorCode(t); code != "too_many_requests" {
		t.Fatalf("code %q", code)
	}
}

func TestAdminAPIAuth(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"no key", "", 401},
		{"write key is not an admin key", "Bearer demo-web-key", 401},
		{"unknown key", "Bearer garde_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 401},
		{"admin key, unknown subject", "Bearer " + in.admin, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.auth != "" {
				h["Authorization"] = tc.auth
			}
			a := in.do("GET", "/v1/subjects?email=nobody@example.com", "", nil, h)
			if a.status != tc.want {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.want)
			}
			a.errorCode(t)
		})
	}
	if a := in.do("GET", "/v1/subjects/not-an-id", "", nil, map[string]string{"Authorization": "Bearer " + in.admin}); a.status != 400 {
		t.Fatalf("malformed id: %d", a.status)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if a := in.do("GET", path, "", nil, nil); a.status != 200 {
			t.Fatalf("%s: %d", path, a.status)
		}
	}
}

// TestCollectionMetrics: a stored batch shows in /metrics — accepted by
// source, one group commit, and the flush of the write-ahead log that made
// it durable before the answer.
func TestCollectionMetrics(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(31)
	p := g.Person()
	if a := in.batch(gardetest.WebKey, g.Order(p), g.Order(p)); a.status != 200 {
		t.Fatalf("batch: %d %s", a.status, a.body)
	}
	a := in.do("GET", "/metrics", "", nil, nil)
	for _, want := range []string{
		`garde_events_accepted_total{source="web"} 2`,
		"garde_group_commit_seconds_count ",
		"garde_group_sync_seconds_count ",
	} {
		i := strings.Index(string(a.body), want)
		if i < 0 {
			t.Fatalf("/metrics has no %q", want)
		}
		if rest := string(a.body[i+len(want):]); strings.HasPrefix(rest, "0\n") {
			t.Fatalf("%s0: nothing counted", want)
		}
	}
}
