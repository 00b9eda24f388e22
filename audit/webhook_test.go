package audit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/audit"
)

var webhookSecret = []byte("a webhook secret of 32 bytes....")

// receiver is a webhook endpoint on 127.0.0.1 that checks signatures and
// answers with the statuses given, then 204.
func receiver(t *testing.T, statuses ...int) (*httptest.Server, chan audit.Alert, *atomic.Int32) {
	t.Helper()
	got := make(chan audit.Alert, 16)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		if !audit.VerifySignature(webhookSecret, body, r.Header.Get(audit.SignatureHeader)) {
			t.Errorf("bad signature %q", r.Header.Get(audit.SignatureHeader))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n <= len(statuses) {
			w.WriteHeader(statuses[n-1])
			return
		}
		var a audit.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			t.Errorf("payload: %v", err)
		}
		got <- a
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("receiver at %s, want loopback", srv.URL)
	}
	return srv, got, &calls
}

func closeWebhook(t *testing.T, w *audit.Webhook) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookSignedPayload(t *testing.T) {
	srv, got, _ := receiver(t)
	w := &audit.Webhook{URL: srv.URL, Secret: webhookSecret, Client: srv.Client()}
	d := newDetector(nil)
	d.Webhook = w
	raised, err := d.Observe(context.Background(), (&stream{}).read("op_1", "email_marketing", 700, at(2, 10, 0)).es...)
	if err != nil {
		t.Fatal(err)
	}
	closeWebhook(t, w)
	select {
	case a := <-got:
		if diff := cmp.Diff(raised[0], a); diff != "" {
			t.Errorf("delivered alert (-raised +got):\n%s", diff)
		}
	default:
		t.Fatal("no alert delivered")
	}
	if s := w.Stats(); s != (audit.WebhookStats{Sent: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestWebhookPayloadShape(t *testing.T) {
	b, err := json.Marshal(audit.Alert{ID: 7, Time: alertNow, Actor: "op_1", Rule: audit.RuleBulkRead,
		Severity: audit.SeverityHigh, Message: "op_1 read 700 subjects", Entries: []int64{3}})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":7,"time":"2026-04-01T12:00:00Z","actor":"op_1","rule":"bulk_read","severity":"high",` +
		`"message":"op_1 read 700 subjects","entries":[3],"acknowledged":false}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if got := audit.Sign([]byte("k"), []byte("body")); got != "sha256=c6d811ef3aeb02437cd423f1abe13209041864630bdc4e2c04def5c7b0031a23" {
		t.Errorf("Sign = %s", got)
	}
	if audit.VerifySignature([]byte("k"), []byte("body!"), audit.Sign([]byte("k"), []byte("body"))) {
		t.Error("a signature verifies another body")
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		calls    int32
		want     audit.WebhookStats
	}{
		{"server errors then success", []int{503, 500}, 3, audit.WebhookStats{Sent: 1}},
		{"rate limited", []int{429}, 2, audit.WebhookStats{Sent: 1}},
		{"gives up after the retries", []int{500, 500, 500, 500, 500}, 4, audit.WebhookStats{Failed: 1}},
		{"no retry on a client error", []int{400}, 1, audit.WebhookStats{Failed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, calls := receiver(t, tt.statuses...)
			w := &audit.Webhook{URL: srv.URL, Secret: webhookSecret, Client: srv.Client(), Backoff: time.Millisecond}
			if !w.Send(audit.Alert{ID: 1, Rule: audit.RuleRefusals}) {
				t.Fatal("not queued")
			}
			closeWebhook(t, w)
			if got := calls.Load(); got != tt.calls {
				t.Errorf("%d calls, want %d", got, tt.calls)
			}
			if got := w.Stats(); got != tt.want {
				t.Errorf("stats %+v, want %+v", got, tt.want)
			}
		})
	}
}

// A full queue drops alerts, counted, without blocking the caller.
func TestWebhookQueueFull(t *testing.T) {
	started, release := make(chan struct{}, 8), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	w := &audit.Webhook{URL: srv.URL, Secret: webhookSecret, Client: srv.Client(), QueueSize: 1}
	w.Send(audit.Alert{ID: 1})
	<-started // the sender is busy with alert 1
	begin := time.Now()
	queued := []bool{w.Send(audit.Alert{ID: 2}), w.Send(audit.Alert{ID: 3}), w.Send(audit.Alert{ID: 4})}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("Send blocked for %v", d)
	}
	if diff := cmp.Diff([]bool{true, false, false}, queued); diff != "" {
		t.Errorf("queued (-want +got):\n%s", diff)
	}
	close(release)
	closeWebhook(t, w)
	if got, want := w.Stats(), (audit.WebhookStats{Sent: 2, Dropped: 2}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if w.Send(audit.Alert{ID: 5}) {
		t.Error("queued after Close")
	}
}

// Close gives up on an endpoint that does not answer once its context ends.
func TestWebhookCloseAbandons(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	w := &audit.Webhook{URL: srv.URL, Secret: webhookSecret, Client: srv.Client()}
	w.Send(audit.Alert{ID: 1})
	w.Send(audit.Alert{ID: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Error("Close waited for a hung endpoint")
	}
	if got := w.Stats(); got.Failed != 2 {
		t.Errorf("stats %+v, want 2 failed", got)
	}
}
