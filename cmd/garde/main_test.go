package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/store"
)

// syncBuffer collects the logs of a running Main.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is a Garde started through the real Main on a random loopback
// port, in a temp dir, with the built-in example inventory.
type instance struct {
	t     *testing.T
	m     *Main
	dir   string
	base  string
	admin string
	logs  *syncBuffer
}

func start(t *testing.T, dir string, opts collect.WriterOptions, configure ...func(*Main)) *instance {
	t.Helper()
	logs := &syncBuffer{}
	m := &Main{
		DataDir: dir, Listen: "127.0.0.1:0", Writer: opts,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, c := range configure {
		c(m)
	}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("open: %v", err)
	}
	// the DPO's role may read for every purpose: the tests read everything
	secret, _, err := access.NewAPIKey(context.Background(), store.NewAPIKeys(m.Data), "test", inventory.RoleDPO, garde.SystemClock{}.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{t: t, m: m, dir: dir, base: "http://" + m.Addr(), admin: secret, logs: logs}
	t.Cleanup(func() { in.close() })
	return in
}

func (in *instance) close() {
	if in.m != nil {
		if err := in.m.Close(context.Background()); err != nil {
			in.t.Errorf("close: %v", err)
		}
		in.m = nil
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %s", a.status, err, a.body)
	}
}

func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	a.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error answer without code or message: %s", a.body)
	}
	return e.Error.Code
}

// do sends a request; writeKey goes in Basic auth when not empty.
func (in *instance) do(method, path, writeKey string, body []byte, header map[string]string) answer {
	in.t.Helper()
	req, err := http.NewRequest(method, in.base+path, bytes.NewReader(body))
	if err != nil {
		in.t.Fatal(err)
	}
	if writeKey != "" {
		req.SetBasicAuth(writeKey, "")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (in *instance) batch(writeKey string, msgs ...map[string]any) answer {
	in.t.Helper()
	body, _ := json.Marshal(map[string]any{"batch": msgs})
	return in.do("POST", "/v1/batch", writeKey, body, nil)
}

// consent posts a decision with the web write key and fails the test
// unless it is recorded.
func (in *instance) consent(body map[string]any) map[string]any {
	in.t.Helper()
	b, _ := json.Marshal(body)
	a := in.do("POST", "/v1/consent", gardetest.WebKey, b, nil)
	if a.status != 200 {
		in.t.Fatalf("consent: %d %s", a.status, a.body)
	}
	var out map[string]any
	a.decode(in.t, &out)
	return out
}

// allPurposes names every purpose of the example inventory, for reads.
var allPurposes = strings.Join(inventory.MustExample().PurposeKeys(^inventory.PurposeSet(0)), ",")

func (in *instance) subject(query string) (map[string]any, answer) {
	in.t.Helper()
	a := in.do("GET", "/v1/subjects?"+query+"&purpose="+allPurposes, "", nil, map[string]string{"Authorization": "Bearer " + in.admin})
	var p map[string]any
	if a.status == http.StatusOK {
		a.decode(in.t, &p)
	}
	return p, a
}

// distinctive is a customer whose every value is unique enough to be found
// in raw bytes.
func distinctive() gardetest.Person {
	return gardetest.Person{
		UserID: "cust-zq-771", AnonymousID: "anon-zq-771", FirstName: "Zéphyrine", LastName: "Quillebeuf",
		Email: "zephyrine.quillebeuf@example.org", Phone: "+33 6 98 76 54 32",
		Street: "7 impasse des Hirondelles", City: "Montbrison", Postcode: "42600",
	}
}

// TestEndToEnd sends a customer's journey over HTTP, reads it back
// decrypted through the admin API, and proves that no file of the data
// directory holds the email or the name in clear, nor do the logs.
func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir, collect.WriterOptions{})
	g := gardetest.NewGenerator(1)
	p := distinctive()
	in.consent(g.Consent(p, "analytics", "personalisation", "email_marketing"))
	journey := g.Journey(p)
	// an undeclared property must be dropped
	journey[len(journey)-2]["properties"].(map[string]any)["loyalty_card_pin"] = "UNDECLARED-4242"
	a := in.batch(gardetest.WebKey, journey...)
	if a.status != http.StatusOK {
		t.Fatalf("batch: %d %s", a.status, a.body)
	}
	var resp collect.Response
	a.decode(t, &resp)
	if resp.Accepted != len(journey) || len(resp.Rejected) != 0 {
		t.Fatalf("got %+v, want all %d accepted", resp, len(journey))
	}

	prof, a := in.subject("email=" + strings.ToUpper(p.Email))
	if a.status != http.StatusOK {
		t.Fatalf("read: %d %s", a.status, a.body)
	}
	traits := prof["traits"].(map[string]any)
	if traits["email"] != p.Email || traits["first_name"] != p.FirstName || traits["last_name"] != p.LastName {
		t.Fatalf("traits not decrypted: %v", traits)
	}
	events := prof["events"].([]any)
	byName := map[string]map[string]any{}
	for _, e := range events {
		e := e.(map[string]any)
		byName[e["type"].(string)+":"+e["name"].(string)] = e
	}
	order := byName["track:Order Completed"]
	if order == nil {
		t.Fatalf("no order among %v", events)
	}
	props := order["properties"].(map[string]any)
	if props["email"] != p.Email || props["order_id"] == nil {
		t.Fatalf("order properties: %v", props)
	}
	if _, ok := props["loyalty_card_pin"]; ok {
		t.Fatalf("undeclared property stored: %v", props)
	}
	if byName["track:Product Viewed"] == nil {
		t.Fatalf("the anonymous history was not merged into the customer: %v", events)
	}
	ticket := byName["track:Support Ticket Opened"]["properties"].(map[string]any)["message"].(string)
	if strings.Contains(ticket, p.Email) || !strings.Contains(ticket, "[redacted:email]") || !strings.Contains(ticket, "[redacted:phone]") {
		t.Fatalf("free text not redacted: %q", ticket)
	}
	// the same subject by user id and by the anonymous id
	for _, q := range []string{"userId=" + p.UserID, "anonymousId=" + p.AnonymousID, "phone=" + "0698765432"} {
		other, a := in.subject(q)
		if a.status != http.StatusOK || other["id"] != prof["id"] {
			t.Fatalf("%s: got %d %v, want subject %v", q, a.status, other["id"], prof["id"])
		}
	}
	va := in.do("GET", "/v1/inventory/violations", "", nil, map[string]string{"Authorization": "Bearer " + in.admin})
	if va.status != http.StatusOK || !bytes.Contains(va.body, []byte("loyalty_card_pin")) || !bytes.Contains(va.body, []byte("redacted_email")) {
		t.Fatalf("violations: %d %s", va.status, va.body)
	}
	logs := in.logs.String()
	in.close()

	secrets := []string{p.Email, strings.ToUpper(p.Email), p.FirstName, p.LastName, p.Street, "98 76 54 32", "UNDECLARED-4242"}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
	if !strings.Contains(logs, `"route"`) {
		t.Errorf("expected request logs to check, got %q", logs)
	}
	assertNotInFiles(t, dir, secrets...)
}

// assertNotInFiles fails if any file under dir holds one of the strings.
func assertNotInFiles(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q in clear", filepath.Base(path), s)
			}
		}
		return nil
	})
	if n < 3 {
		t.Fatalf("scanned %d files, expected the data, key and master key files", n)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestRestartDurability: every acknowledged event is there after a restart.
func TestRestartDurability(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir, collect.WriterOptions{})
	const workers, batches, size = 8, 10, 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := gardetest.NewGenerator(uint64(w) + 100)
			for range batches {
				msgs := make([]map[string]any, size)
				for i := range msgs {
					msgs[i] = g.Order(g.Person())
				}
				body, _ := json.Marshal(map[string]any{"batch": msgs})
				req, _ := http.NewRequest("POST", in.base+"/v1/batch", bytes.NewReader(body))
				req.SetBasicAuth(gardetest.ServerKey, "")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked += size
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	in.close()
	if acked != workers*batches*size {
		t.Fatalf("acknowledged %d events, want %d", acked, workers*batches*size)
	}
	again := start(t, dir, collect.WriterOptions{})
	var n int
	if err := again.m.Data.Reader().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != acked {
		t.Fatalf("after restart: %d events, want %d acknowledged", n, acked)
	}
}
