package banner_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/consent/banner"
	"github.com/garde-privacy/garde/inventory"
)

// maxGzipped is the budget for the script, gzipped.
const maxGzipped = 15 << 10

func TestScriptSize(t *testing.T) {
	s := banner.New(inventory.MustExample())
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	zw.Write(s.Body())
	zw.Close()
	if n := buf.Len(); n >= maxGzipped {
		t.Errorf("consent.js is %d bytes gzipped, want under %d", n, maxGzipped)
	}
	if n := len(s.Gzipped()); n >= maxGzipped {
		t.Errorf("served gzip is %d bytes, want under %d", n, maxGzipped)
	}
	t.Logf("consent.js: %d bytes, %d gzipped (served: %d)", len(s.Body()), buf.Len(), len(s.Gzipped()))
}

// config extracts the configuration inlined in the served script.
func config(t *testing.T, body []byte) map[string]any {
	t.Helper()
	i := bytes.LastIndex(body, []byte("})("))
	j := bytes.LastIndex(body, []byte(");"))
	if i < 0 || j < i {
		t.Fatalf("no inlined configuration at the end of the script")
	}
	var c map[string]any
	if err := json.Unmarshal(body[i+3:j], &c); err != nil {
		t.Fatalf("configuration is not JSON: %v", err)
	}
	return c
}

func TestConfig(t *testing.T) {
	inv := inventory.MustExample()
	body := banner.New(inv).Body()
	if bytes.Contains(body, []byte("__GARDE_CONFIG__")) {
		t.Fatal("placeholder left in the script")
	}
	c := config(t, body)
	want := map[string]any{
		"version":            1.0,
		"purposes":           []any{"analytics", "personalisation", "targeted_advertising"},
		"switches":           []any{[]any{"analytics"}, []any{"personalisation"}, []any{"targeted_advertising"}},
		"sale":               []any{"targeted_advertising"},
		"preChecked":         []any{},
		"refuseOnFirstLayer": true,
		"closeRefuses":       true,
		"consentWall":        false,
	}
	for k, v := range want {
		if diff := cmp.Diff(v, c[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	buttons := c["buttons"].(map[string]any)
	if diff := cmp.Diff(buttons["accept"], buttons["refuse"]); diff != "" {
		t.Errorf("accept and refuse styles differ:\n%s", diff)
	}
	text := c["text"].(map[string]any)
	for _, lang := range banner.Languages {
		tx := text[lang].(map[string]any)
		if tx["hash"] != banner.NoticeHash(inv, lang) {
			t.Errorf("%s: hash %v, want %s", lang, tx["hash"], banner.NoticeHash(inv, lang))
		}
		// the notice is exactly the texts the script renders, in order
		paras := []string{tx["title"].(string), tx["intro"].(string)}
		for _, sw := range c["switches"].([]any) {
			for _, k := range sw.([]any) {
				p := tx["purposes"].(map[string]any)[k.(string)].(map[string]any)
				paras = append(paras, p["name"].(string), p["description"].(string))
			}
		}
		if got, want := banner.NoticeText(inv, lang), strings.Join(paras, "\n\n"); got != want {
			t.Errorf("%s: NoticeText\n%q\nwant the rendered texts\n%q", lang, got, want)
		}
		for _, k := range []string{"accept", "refuse", "customise", "save", "settings", "close", "gpc"} {
			if tx[k] == "" || tx[k] == nil {
				t.Errorf("%s: no %s text", lang, k)
			}
		}
	}
	if text["fr"].(map[string]any)["refuse"] != "Tout refuser" || text["en"].(map[string]any)["settings"] != "Cookie settings" {
		t.Errorf("labels: %v", text)
	}
}

func TestNoticeHash(t *testing.T) {
	inv := inventory.MustExample()
	en, fr := banner.NoticeText(inv, "en"), banner.NoticeText(inv, "fr")
	if en == fr || !strings.HasPrefix(fr, "Vos choix de confidentialité\n\nMaison Lumière SAS souhaite") ||
		!strings.Contains(en, "Audience measurement\n\nTo count visits") || strings.Contains(en, "Wellness") {
		t.Errorf("notice texts:\n%s\n---\n%s", en, fr)
	}
	sum := sha256.Sum256([]byte(en))
	if banner.NoticeHash(inv, "en") != hex.EncodeToString(sum[:]) {
		t.Error("NoticeHash is not the SHA-256 of NoticeText")
	}
	if banner.NoticeText(inv, "de") != en {
		t.Error("an unknown language is not English")
	}
}

// TestLabelsAndColours: the script carries what the inventory configures.
func TestLabelsAndColours(t *testing.T) {
	inv, problems, err := inventory.Load(filepath.Join("..", "..", "inventory", "testdata", "lint", "banner_valid.yaml"))
	if err != nil || inv == nil {
		t.Fatalf("%v %s", err, problems.Error())
	}
	c := config(t, banner.New(inv).Body())
	if diff := cmp.Diff(map[string]any{"colour": "#000000", "background": "#fde047"}, c["buttons"].(map[string]any)["refuse"]); diff != "" {
		t.Errorf("refuse style (-want +got):\n%s", diff)
	}
	fr := c["text"].(map[string]any)["fr"].(map[string]any)
	if fr["accept"] != "Oui à tout" || fr["refuse"] != "Non à tout" || fr["title"] != "Cookies" {
		t.Errorf("fr texts: %v", fr)
	}
	if c["version"] != 2.0 {
		t.Errorf("version %v", c["version"])
	}
}

func TestServe(t *testing.T) {
	mux := http.NewServeMux()
	s := banner.New(inventory.MustExample())
	s.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(header map[string]string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/consent.js", nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get(nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, s.Body()) || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain: %d %v", resp.StatusCode, resp.Header)
	}
	resp = get(map[string]string{"Accept-Encoding": "br, gzip"})
	zr, err := gzip.NewReader(resp.Body)
	if err != nil || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %v %v", err, resp.Header)
	}
	unz, _ := io.ReadAll(zr)
	resp.Body.Close()
	if !bytes.Equal(unz, s.Body()) {
		t.Error("gzipped body differs")
	}
	resp = get(map[string]string{"If-None-Match": resp.Header.Get("ETag")})
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	r, err := http.Post(srv.URL+"/consent.js", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.StatusCode)
	}
}

// TestSyntax parses the served script with node when it is installed.
func TestSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the browser test checks the script instead")
	}
	f := filepath.Join(t.TempDir(), "consent.js")
	if err := os.WriteFile(f, banner.New(inventory.MustExample()).Body(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
		t.Fatalf("node --check: %v\n%s", err, out)
	}
}
