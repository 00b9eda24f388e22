package vault_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/vault"
)

// TestConcurrent seals, opens and indexes from many goroutines while keys are
// created, evicted (small cache) and shredded. Run it with -race.
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v := openVault(t, randomKey(t), openKeys(t, dir), vault.Options{CacheSize: 16})
	live := newSubjects(t, v, 32)
	doomed := newSubjects(t, v, 32)
	doomedSet := map[garde.SubjectID]bool{}
	for _, s := range doomed {
		doomedSet[s] = true
	}
	all := append(append([]garde.SubjectID{}, live...), doomed...)
	want := v.BlindIndex("email", "ada@example.com")

	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				s := all[(g*7+i)%len(all)]
				field := fmt.Sprintf("properties.f%d", i%3)
				msg := fmt.Sprintf("%d/%d", g, i)
				c, err := v.Seal(ctx, s, field, []byte(msg))
				if err != nil {
					if doomedSet[s] && errors.Is(err, vault.ErrShredded) {
						continue
					}
					errc <- fmt.Errorf("Seal(%s): %w", s, err)
					return
				}
				got, err := v.Open(ctx, s, field, c)
				switch {
				case err == nil && string(got) != msg:
					errc <- fmt.Errorf("Open(%s) = %q, want %q", s, got, msg)
					return
				case err != nil && !(doomedSet[s] && errors.Is(err, vault.ErrShredded)):
					errc <- fmt.Errorf("Open(%s): %w", s, err)
					return
				}
				if idx := v.BlindIndex("email", "ada@example.com"); string(idx) != string(want) {
					errc <- errors.New("BlindIndex differs across goroutines")
					return
				}
			}
		}()
	}
	wg.Add(2)
	go func() { // the writer: new subjects
		defer wg.Done()
		for range 20 {
			batch := []garde.SubjectID{garde.NewSubjectID(), garde.NewSubjectID()}
			if err := v.CreateKeys(ctx, batch); err != nil {
				errc <- err
				return
			}
		}
	}()
	go func() { // the rights worker: erasures
		defer wg.Done()
		for _, s := range doomed {
			if err := v.Shred(ctx, s); err != nil {
				errc <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	// after the dust settles, no shredded key may linger in the cache
	for _, s := range doomed {
		if _, err := v.Seal(ctx, s, "f", nil); !errors.Is(err, vault.ErrShredded) {
			t.Errorf("Seal(%s) after Shred: got %v, want ErrShredded", s, err)
		}
	}
}
