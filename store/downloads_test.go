package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/bundle"
	"github.com/garde-privacy/garde/store"
)

var downloadT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// newDownload is download i, created at downloadT0 and expiring ttl later.
func newDownload(i int, ttl time.Duration) bundle.Download {
	h := sha256.Sum256([]byte{byte(i)})
	return bundle.Download{ID: "d_" + string(rune('a'+i)), RequestID: "r_" + string(rune('a'+i)), Subject: garde.NewSubjectID(),
		TokenHash: h[:], Sealed: bytes.Repeat([]byte{byte(i + 1)}, 64), Created: downloadT0, Expires: downloadT0.Add(ttl)}
}

// TestDownloadStore: a download round-trips by its token's hash until it
// is consumed, which wipes the copy; it is consumed once; ids and hashes
// are unique; hostile values are values.
func TestDownloadStore(t *testing.T) {
	ctx := context.Background()
	db := openData(t)
	s := store.NewDownloads(db)
	d := newDownload(0, time.Hour)
	if err := s.CreateDownload(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindDownload(ctx, d.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}

	dup := newDownload(1, time.Hour)
	dup.ID = d.ID
	sameHash := newDownload(2, time.Hour)
	sameHash.TokenHash = d.TokenHash
	empty := newDownload(3, time.Hour)
	empty.Sealed = nil
	for _, tc := range []struct {
		name string
		d    bundle.Download
		code string
	}{{"same id", dup, garde.EConflict}, {"same token", sameHash, garde.EConflict}, {"no copy", empty, garde.EInvalid}} {
		if err := s.CreateDownload(ctx, tc.d); garde.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if _, err := s.FindDownload(ctx, []byte(`x' OR 1=1 --`)); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("hostile hash: %v, want ENotFound", err)
	}

	at := downloadT0.Add(time.Minute)
	if err := s.ConsumeDownload(ctx, d.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeDownload(ctx, d.ID, at); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("second consume: %v, want ENotFound", err)
	}
	if err := s.ConsumeDownload(ctx, "d_none", at); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("unknown consume: %v, want ENotFound", err)
	}
	if _, err := s.FindDownload(ctx, d.TokenHash); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("find after consume: %v, want ENotFound", err)
	}
	var consumed int64
	var sealed []byte
	if err := db.Reader().QueryRow(`SELECT consumed_at, sealed FROM downloads WHERE id = ?`, d.ID).Scan(&consumed, &sealed); err != nil {
		t.Fatal(err)
	}
	if consumed != at.UnixMilli() || sealed != nil {
		t.Errorf("consumed row: consumed_at %d, sealed %d bytes; want %d and NULL", consumed, len(sealed), at.UnixMilli())
	}
}

// TestDownloadStoreConcurrentConsume: of many simultaneous consumes of one
// download, exactly one succeeds.
func TestDownloadStoreConcurrentConsume(t *testing.T) {
	ctx := context.Background()
	s := store.NewDownloads(openData(t))
	for i := range 5 {
		d := newDownload(i, time.Hour)
		if err := s.CreateDownload(ctx, d); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Go(func() {
				err := s.ConsumeDownload(ctx, d.ID, downloadT0)
				if err != nil {
					if garde.ErrorCode(err) != garde.ENotFound {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				won++
				mu.Unlock()
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("download %d: %d consumes succeeded, want 1", i, won)
		}
	}
}

// TestDownloadStorePurge: purging wipes the copies whose links expired at
// or before now, and only those.
func TestDownloadStorePurge(t *testing.T) {
	ctx := context.Background()
	s := store.NewDownloads(openData(t))
	ttls := []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour}
	var ds []bundle.Download
	for i, ttl := range ttls {
		d := newDownload(i, ttl)
		if err := s.CreateDownload(ctx, d); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	for _, tc := range []struct {
		now  time.Time
		n    int
		held []bool
	}{
		{downloadT0, 0, []bool{true, true, true}},
		{downloadT0.Add(2 * time.Hour), 2, []bool{false, false, true}},
		{downloadT0.Add(2 * time.Hour), 0, []bool{false, false, true}},
		{downloadT0.Add(4 * time.Hour), 1, []bool{false, false, false}},
	} {
		n, err := s.PurgeDownloads(ctx, tc.now)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.n {
			t.Errorf("purge at %v: %d wiped, want %d", tc.now, n, tc.n)
		}
		for i, d := range ds {
			_, err := s.FindDownload(ctx, d.TokenHash)
			if held := err == nil; held != tc.held[i] {
				t.Errorf("after purge at %v: download %d held %v (%v), want %v", tc.now, i, held, err, tc.held[i])
			}
		}
	}
}
