package consent

import (
	"cmp"
	"net/http"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
)

// gpcSeen remembers the identities whose Global Privacy Control opt-out is
// already in the ledger, so that a browser sending Sec-GPC: 1 on every call
// adds one record, not one per event.
type gpcSeen = lru.Cache[string, struct{}]

// CollectGPC records, for the people of a collection call that carried
// Sec-GPC: 1, the opt-out of sale and sharing the signal stands for (CCPA
// §7025: honoured for the browser and every profile linked to it — the
// gate works on the merged person). The records' source is the signal.
func (h *Handler) CollectGPC(r *http.Request, src *inventory.Source, recs []collect.Record) error {
	decisions := GPCDecisions(h.Inventory)
	if len(decisions) == 0 {
		return nil
	}
	h.gpcOnce.Do(func() { h.gpcSeen, _ = lru.New[string, struct{}](100_000) })
	// one opt-out per person not seen before; recorded concurrently so that
	// the people of one batch share group commits
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		todo  = map[string][]collect.Identity{}
	)
	for _, rec := range recs {
		if len(rec.IDs) == 0 {
			continue
		}
		key := rec.IDs[0].Kind + string(rec.IDs[0].Hash)
		if _, ok := h.gpcSeen.Get(key); !ok {
			todo[key] = rec.IDs
		}
	}
	sem := make(chan struct{}, 16)
	for key, ids := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			req := &Request{IDs: ids, Create: true, Decisions: decisions, Source: SourceSignal, Collector: "source:" + src.Key,
				Signals: Signals{GPC: true}, IP: api.RemoteHost(r), UserAgent: r.UserAgent(), Age: Age{Status: "unknown"}}
			if _, err := h.Ledger.Decide(r.Context(), req); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
				return
			}
			h.gpcSeen.Add(key, struct{}{})
		}()
	}
	wg.Wait()
	return first
}
