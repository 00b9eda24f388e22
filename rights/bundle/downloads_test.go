package bundle_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/bundle"
)

const notValid = "this link is not valid any more"

// refused checks that err is the one answer to a link that cannot be
// served.
func refused(t testing.TB, what string, err error) {
	t.Helper()
	if c := garde.ErrorCode(err); c != garde.ENotFound && c != garde.EInvalid {
		t.Fatalf("%s: got %v, want ENotFound or EInvalid", what, err)
	}
	if m := garde.ErrorMessage(err); m != notValid {
		t.Fatalf("%s: message %q, want %q", what, m, notValid)
	}
}

// put stores a copy of p and returns its token.
func (e *env) put(p person) (string, []byte) {
	e.tb.Helper()
	var buf bytes.Buffer
	if _, err := e.builder.Build(context.Background(), p.subject, "en", &buf); err != nil {
		e.tb.Fatal(err)
	}
	token, exp, err := e.downloads.Put(context.Background(), p.request, p.subject, buf.Bytes())
	if err != nil {
		e.tb.Fatal(err)
	}
	ttl := e.downloads.TTL
	if ttl == 0 {
		ttl = bundle.DefaultTTL
	}
	if want := e.clock.Now().Add(ttl); !exp.Equal(want) {
		e.tb.Fatalf("expires %v, want %v", exp, want)
	}
	return token, buf.Bytes()
}

// TestDownloadOnce: a copy is handed over once; the second use, an
// unknown, altered or malformed token all get the same answer and nothing
// else; the database holds neither the token nor the copy in clear, and
// the copy is wiped once taken.
func TestDownloadOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := e.seed(2)
	token, zip := e.put(p)
	if len(token) != 43 {
		t.Fatalf("token %d characters, want 43", len(token))
	}

	var stored, sealed []byte
	if err := e.data.Reader().QueryRow(`SELECT token_hash, sealed FROM downloads`).Scan(&stored, &sealed); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	if sum := sha256.Sum256(raw); !bytes.Equal(stored, sum[:]) {
		t.Errorf("the stored hash is not the token's SHA-256")
	}
	if bytes.Contains(sealed, []byte("PK\x03\x04")) || bytes.Contains(sealed, []byte(token)) || len(sealed) <= len(zip) {
		t.Errorf("the copy is not sealed at rest")
	}

	flipped := []byte(token)
	flipped[10] ^= 1
	other := strings.Repeat("A", 43)
	for _, bad := range []string{"", "x", other, string(flipped), token + "A", token[:42], token + "=", strings.ToUpper(token)} {
		_, _, err := e.downloads.Take(ctx, bad)
		refused(t, "token "+bad, err)
	}

	got, id, err := e.downloads.Take(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if id != p.request || !bytes.Equal(got, zip) {
		t.Fatalf("took request %q (%d bytes), want %q (%d bytes)", id, len(got), p.request, len(zip))
	}
	if files := unzip(t, got); len(files[bundle.FileData]) == 0 {
		t.Fatal("the copy taken is not the zip")
	}
	_, _, err = e.downloads.Take(ctx, token)
	refused(t, "second take", err)

	var consumed int64
	var left []byte
	if err := e.data.Reader().QueryRow(`SELECT consumed_at, sealed FROM downloads`).Scan(&consumed, &left); err != nil {
		t.Fatal(err)
	}
	if left != nil || consumed != t0.UnixMilli() {
		t.Errorf("after taking: consumed_at %d, sealed %d bytes; want %d and wiped", consumed, len(left), t0.UnixMilli())
	}
}

// TestDownloadExpired: a link works until its TTL ends; after that it gets
// the same answer, and the copy is wiped.
func TestDownloadExpired(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := e.seed(1)
	e.downloads.TTL = time.Hour
	late, _ := e.put(p)
	e.downloads.TTL = 0
	kept, _ := e.put(p)
	e.clock.Add(time.Hour)
	_, _, err := e.downloads.Take(ctx, late)
	refused(t, "expired", err)
	var held int
	if err := e.data.Reader().QueryRow(`SELECT COUNT(*) FROM downloads WHERE sealed IS NOT NULL`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 1 {
		t.Errorf("%d copies held after the first expired, want 1", held)
	}
	e.clock.Add(bundle.DefaultTTL - 2*time.Hour)
	if _, _, err := e.downloads.Take(ctx, kept); err != nil {
		t.Errorf("a link a day before its expiry: %v", err)
	}
}

// TestDownloadErased: erasing the person (destroying their key) kills a
// copy not yet taken.
func TestDownloadErased(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := e.seed(1)
	token, _ := e.put(p)
	if err := e.vault.Shred(ctx, p.subject); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.downloads.Take(ctx, token)
	refused(t, "after erasure", err)
}

// TestDownloadConcurrent: of many simultaneous uses of one link, exactly
// one gets the copy.
func TestDownloadConcurrent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := e.seed(1)
	for range 3 {
		token, zip := e.put(p)
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				got, _, err := e.downloads.Take(ctx, token)
				if err != nil {
					refused(t, "a losing take", err)
					return
				}
				if !bytes.Equal(got, zip) {
					t.Error("a take got another copy")
				}
				mu.Lock()
				won++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d of %d concurrent takes got the copy, want 1", won, n)
		}
	}
}

// TestDownloadPutInvalid: a copy needs its request and subject.
func TestDownloadPutInvalid(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		request string
		subject garde.SubjectID
	}{{"", garde.NewSubjectID()}, {"r_1", ""}} {
		if _, _, err := e.downloads.Put(context.Background(), tc.request, tc.subject, []byte("zip")); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("Put(%q, %q) = %v, want EInvalid", tc.request, tc.subject, err)
		}
	}
}

// FuzzTake: whatever a link carries, Take never serves a copy but the one
// behind it, and answers anything else alike; a token DecodeToken accepts
// is canonical (it encodes back to itself).
func FuzzTake(f *testing.F) {
	e := newEnv(f)
	p := e.seed(1)
	token, _ := e.put(p)
	f.Add(token[:42] + "B")
	f.Add(strings.Repeat("_", 43))
	f.Add(token + "==")
	f.Add("")
	f.Add("%00" + token[3:])
	f.Fuzz(func(t *testing.T, s string) {
		if raw, ok := bundle.DecodeToken(s); ok && base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("DecodeToken accepted a non-canonical %q", s)
		}
		if s == token {
			return
		}
		zip, id, err := e.downloads.Take(context.Background(), s)
		if zip != nil || id != "" {
			t.Fatalf("token %q served a copy", s)
		}
		refused(t, "token "+s, err)
	})
}
