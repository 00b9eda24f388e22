package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// SignatureHeader carries a webhook payload's signature:
// "sha256=" + lower-case hex HMAC-SHA256(Secret, body).
const SignatureHeader = "X-Garde-Signature"

// Webhook delivers alerts to an HTTP endpoint (a SIEM, a chat bridge): each
// alert is POSTed as one JSON object (Alert's fields) signed with
// HMAC-SHA256 in SignatureHeader, so that the receiver can check it comes
// from Garde; the alert's id lets it drop a repeated delivery.
//
// Send never waits: alerts go through a bounded queue to one background
// sender, which tries each alert up to 1+Retries times (on a network
// error, a 429 or a 5xx answer) with exponential backoff; when the queue
// is full the alert is dropped and counted (Stats) — it stays in the store
// and the console. Configure the fields before the first Send.
type Webhook struct {
	URL    string
	Secret []byte
	// Client sends the requests; nil: a client with a 10 s timeout.
	Client *http.Client
	// Retries after a failed attempt (default 3; negative: none); Backoff
	// is the first wait (default 1 s), doubled at each retry.
	Retries int
	Backoff time.Duration
	// QueueSize bounds the alerts waiting to be sent (default 256).
	QueueSize int

	once    sync.Once
	mu      sync.Mutex // guards closed and sends to queue against Close
	closed  bool
	queue   chan []byte
	stop    chan struct{} // closed by Close when its context ends: abandon retries
	done    chan struct{} // closed when the sender has returned
	sent    atomic.Int64
	failed  atomic.Int64
	dropped atomic.Int64
}

// WebhookStats counts deliveries.
type WebhookStats struct {
	Sent    int64 // accepted by the endpoint (2xx)
	Failed  int64 // given up after the last retry, or refused with a 4xx
	Dropped int64 // not queued: the queue was full, or the webhook closed
}

// Stats returns the delivery counters.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{Sent: w.sent.Load(), Failed: w.failed.Load(), Dropped: w.dropped.Load()}
}

func (w *Webhook) start() {
	w.once.Do(func() {
		n := w.QueueSize
		if n <= 0 {
			n = 256
		}
		w.queue = make(chan []byte, n)
		w.stop = make(chan struct{})
		w.done = make(chan struct{})
		go w.run()
	})
}

// Send queues a for delivery and reports whether it was queued; it never
// blocks.
func (w *Webhook) Send(a Alert) bool {
	body, err := json.Marshal(a)
	if err != nil { // cannot happen: Alert has plain fields
		w.failed.Add(1)
		return false
	}
	w.start()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.dropped.Add(1)
		return false
	}
	select {
	case w.queue <- body:
		return true
	default:
		w.dropped.Add(1)
		return false
	}
}

// Close stops taking alerts and waits, until ctx is done, for the queued
// ones to be delivered; then it abandons the rest.
func (w *Webhook) Close(ctx context.Context) error {
	w.start()
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.stopOnce()
		<-w.done
		return ctx.Err()
	}
}

func (w *Webhook) stopOnce() {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	for body := range w.queue {
		select {
		case <-w.stop:
			w.failed.Add(1)
			continue
		default:
		}
		if w.deliver(body) {
			w.sent.Add(1)
		} else {
			w.failed.Add(1)
		}
	}
}

// deliver tries body until it is accepted, refused for good, or the
// retries are spent.
func (w *Webhook) deliver(body []byte) bool {
	retries, wait := w.Retries, w.Backoff
	if retries == 0 {
		retries = 3
	}
	if wait <= 0 {
		wait = time.Second
	}
	for attempt := 0; ; attempt++ {
		retry, err := w.post(body)
		if err == nil {
			return true
		}
		if !retry || attempt >= retries {
			return false
		}
		t := time.NewTimer(wait)
		select {
		case <-w.stop:
			t.Stop()
			return false
		case <-t.C:
		}
		wait *= 2
	}
}

// post makes one attempt; retry tells whether a failure may pass.
func (w *Webhook) post(body []byte) (retry bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "garde-alerts/1")
	req.Header.Set(SignatureHeader, Sign(w.Secret, body))
	c := w.Client
	if c == nil {
		c = defaultWebhookClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return true, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook: status %d", resp.StatusCode)
	default:
		return false, fmt.Errorf("webhook: status %d", resp.StatusCode)
	}
}

var defaultWebhookClient = &http.Client{Timeout: 10 * time.Second}

// Sign returns the SignatureHeader value of body: "sha256=" + hex
// HMAC-SHA256(secret, body).
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports, in constant time, whether header is body's
// signature under secret (for receivers written in Go, and tests).
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}
