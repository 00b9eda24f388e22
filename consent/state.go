package consent

import (
	"hash/maphash"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
)

// Index is the current consent state of every subject, derived from the
// ledger by Apply (in ledger order) and never edited otherwise. It answers
// the gate in O(1): a sharded map look-up and a few bit operations. It is
// safe for concurrent use.
type Index struct {
	rules  *rules
	seed   maphash.Seed
	shards [64]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[garde.SubjectID]*entry
}

// rules are the inventory's purposes as bit sets, by what governs them.
type rules struct {
	inv                                           *inventory.Inventory
	all, consent, legitimate, explicit, ads, sale inventory.PurposeSet
}

func newRules(inv *inventory.Inventory) *rules {
	r := &rules{inv: inv}
	for _, p := range inv.Purposes {
		r.all = r.all.With(p.Index)
		switch p.LegalBasis {
		case inventory.Consent:
			r.consent = r.consent.With(p.Index)
			if p.ExplicitConsent {
				r.explicit = r.explicit.With(p.Index)
			}
		case inventory.LegitimateInterests:
			r.legitimate = r.legitimate.With(p.Index)
		}
		if p.TargetedAdvertising {
			r.ads = r.ads.With(p.Index)
		}
		if p.SaleOrSharing {
			r.sale = r.sale.With(p.Index)
		}
	}
	return r
}

// entry is one subject's state: the last decision per purpose, and the
// sets derived from them.
type entry struct {
	last       []purposeState // sorted by purpose index
	given      inventory.PurposeSet
	explicit   inventory.PurposeSet
	denied     inventory.PurposeSet // objected or opted out
	nextExpiry int64                // earliest expiry among given purposes (unix ns); 0 when none
	restricted bool
	minor      bool
	restrictAt int64
}

type purposeState struct {
	index    uint8
	decision Decision
	explicit bool
	at       int64 // unix ns
	expires  int64 // unix ns, 0 = none
}

// NewIndex returns an empty index for inv's purposes.
func NewIndex(inv *inventory.Inventory) *Index {
	x := &Index{rules: newRules(inv), seed: maphash.MakeSeed()}
	for i := range x.shards {
		x.shards[i].m = map[garde.SubjectID]*entry{}
	}
	return x
}

func (x *Index) shard(s garde.SubjectID) *shard {
	return &x.shards[maphash.String(x.seed, string(s))%uint64(len(x.shards))]
}

// Apply folds one ledger record into the state. Records must be applied in
// ledger order; a record about a purpose the inventory no longer declares
// is ignored.
func (x *Index) Apply(r *Record) {
	sh := x.shard(r.Subject)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[r.Subject]
	if e == nil {
		e = &entry{}
		sh.m[r.Subject] = e
	}
	if r.Age.Status == "minor" {
		e.minor = true
	} else if r.Age.Status == "adult" && r.Age.Method != "self_declared" {
		e.minor = false // an account or verified age overrides an old assertion
	}
	switch r.Decision {
	case Restricted, Lifted:
		e.restricted = r.Decision == Restricted
		e.restrictAt = r.Time.UnixNano()
		return
	}
	p := x.rules.inv.Purpose(r.Purpose)
	if p == nil {
		return
	}
	ps := purposeState{index: uint8(p.Index), decision: r.Decision, explicit: r.Explicit, at: r.Time.UnixNano()}
	if !r.Expires.IsZero() {
		ps.expires = r.Expires.UnixNano()
	}
	e.set(ps)
}

// set records ps as the purpose's last decision and recomputes the sets.
func (e *entry) set(ps purposeState) {
	i := sort.Search(len(e.last), func(i int) bool { return e.last[i].index >= ps.index })
	if i < len(e.last) && e.last[i].index == ps.index {
		e.last[i] = ps
	} else {
		e.last = append(e.last, purposeState{})
		copy(e.last[i+1:], e.last[i:])
		e.last[i] = ps
	}
	e.given, e.explicit, e.denied, e.nextExpiry = 0, 0, 0, 0
	for _, s := range e.last {
		switch s.decision {
		case Given:
			e.given = e.given.With(int(s.index))
			if s.explicit {
				e.explicit = e.explicit.With(int(s.index))
			}
			if s.expires != 0 && (e.nextExpiry == 0 || s.expires < e.nextExpiry) {
				e.nextExpiry = s.expires
			}
		case Objected, OptedOut:
			e.denied = e.denied.With(int(s.index))
		}
	}
}

// validGiven returns the given purposes whose consent has not expired.
func (e *entry) validGiven(now int64) inventory.PurposeSet {
	if e.nextExpiry == 0 || now < e.nextExpiry {
		return e.given
	}
	var s inventory.PurposeSet
	for _, p := range e.last {
		if p.decision == Given && (p.expires == 0 || now < p.expires) {
			s = s.With(int(p.index))
		}
	}
	return s
}

// Allowed returns the subset of purposes that s's data may be processed for
// at now: non-consent purposes unless objected to or opted out of, consent
// purposes only with a valid (explicit where required) consent, no targeted
// advertising for a known minor, nothing while processing is restricted.
func (x *Index) Allowed(s garde.SubjectID, purposes inventory.PurposeSet, now time.Time) inventory.PurposeSet {
	return x.check(s, purposes, now, true)
}

// Storable is Allowed for collection: a subject under restriction is
// stored but not processed (GDPR Art. 18), so restriction does not stop
// storage.
func (x *Index) Storable(s garde.SubjectID, purposes inventory.PurposeSet, now time.Time) inventory.PurposeSet {
	return x.check(s, purposes, now, false)
}

func (x *Index) check(s garde.SubjectID, purposes inventory.PurposeSet, now time.Time, restrict bool) inventory.PurposeSet {
	r := x.rules
	sh := x.shard(s)
	sh.mu.RLock()
	e := sh.m[s]
	if e == nil {
		sh.mu.RUnlock()
		return purposes &^ r.consent
	}
	if restrict && e.restricted {
		sh.mu.RUnlock()
		return 0
	}
	ok := purposes&^r.consent | purposes&r.consent&e.validGiven(now.UnixNano())
	ok &^= e.denied
	ok &^= r.explicit &^ e.explicit
	if e.minor {
		ok &^= r.ads
	}
	sh.mu.RUnlock()
	return ok
}

// Merged folds from's state into into's: for each purpose the later
// decision wins. The collection writer calls it when an anonymous history
// joins a known person.
func (x *Index) Merged(from, into garde.SubjectID) {
	fs := x.shard(from)
	fs.mu.RLock()
	fe := fs.m[from]
	var last []purposeState
	var minor, restricted bool
	var restrictAt int64
	if fe != nil {
		last = append(last, fe.last...)
		minor, restricted, restrictAt = fe.minor, fe.restricted, fe.restrictAt
	}
	fs.mu.RUnlock()
	if fe == nil {
		return
	}
	ts := x.shard(into)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	e := ts.m[into]
	if e == nil {
		e = &entry{}
		ts.m[into] = e
	}
	e.minor = e.minor || minor
	if restrictAt > e.restrictAt {
		e.restricted, e.restrictAt = restricted, restrictAt
	}
	for _, ps := range last {
		i := sort.Search(len(e.last), func(i int) bool { return e.last[i].index >= ps.index })
		if i < len(e.last) && e.last[i].index == ps.index && e.last[i].at >= ps.at {
			continue
		}
		e.set(ps)
	}
}

// PurposeState is the current state of one purpose for one subject, as
// shown to the person and to operators.
type PurposeState struct {
	Purpose  string    `json:"purpose"`
	Basis    string    `json:"legalBasis"`
	Allowed  bool      `json:"allowed"`
	Decision Decision  `json:"decision,omitempty"` // the last decision, "" when none
	Since    time.Time `json:"since,omitzero"`
	Expires  time.Time `json:"expires,omitzero"`
	// AskAfter: after a refusal, the person is not asked again before this
	// time (CNIL: about 6 months).
	AskAfter time.Time `json:"askAfter,omitzero"`
}

// State is a subject's consent state, every purpose of the inventory, with
// Restricted and Minor.
type State struct {
	Purposes   []PurposeState `json:"purposes"`
	Restricted bool           `json:"restricted"`
	Minor      bool           `json:"minor"`
}

// State returns s's state at now.
func (x *Index) State(s garde.SubjectID, now time.Time) State {
	inv := x.rules.inv
	var all inventory.PurposeSet
	for _, p := range inv.Purposes {
		all = all.With(p.Index)
	}
	allowed := x.Allowed(s, all, now)
	sh := x.shard(s)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	e := sh.m[s]
	st := State{Purposes: make([]PurposeState, 0, len(inv.Purposes))}
	if e != nil {
		st.Restricted, st.Minor = e.restricted, e.minor
	}
	for _, p := range inv.Purposes {
		ps := PurposeState{Purpose: p.Key, Basis: string(p.LegalBasis), Allowed: allowed.Has(p.Index)}
		if e != nil {
			for _, l := range e.last {
				if int(l.index) != p.Index {
					continue
				}
				ps.Decision, ps.Since = l.decision, time.Unix(0, l.at).UTC()
				if l.expires != 0 {
					ps.Expires = time.Unix(0, l.expires).UTC()
					if l.decision == Given && !now.Before(ps.Expires) {
						ps.Decision = Expired
					}
				}
				if l.decision == Refused || l.decision == Withdrawn {
					ps.AskAfter = inv.Consent.RefusalDelay.AddTo(ps.Since)
				}
			}
		}
		st.Purposes = append(st.Purposes, ps)
	}
	return st
}

// Subjects returns how many subjects have a state.
func (x *Index) Subjects() int {
	n := 0
	for i := range x.shards {
		x.shards[i].mu.RLock()
		n += len(x.shards[i].m)
		x.shards[i].mu.RUnlock()
	}
	return n
}

// AllowedKeys is Allowed over comma-separated purpose keys, as stored with
// events and traits; keys the inventory no longer declares are dropped.
func (x *Index) AllowedKeys(s garde.SubjectID, keys string, now time.Time) string {
	inv := x.rules.inv
	var set inventory.PurposeSet
	for k := range strings.SplitSeq(keys, ",") {
		if p := inv.Purpose(k); p != nil {
			set = set.With(p.Index)
		}
	}
	return strings.Join(inv.PurposeKeys(x.Allowed(s, set, now)), ",")
}

// due lists the (subject, purpose) pairs whose given consent has expired
// by now without a later decision.
func (x *Index) due(now time.Time) []Record {
	var out []Record
	n := now.UnixNano()
	for i := range x.shards {
		sh := &x.shards[i]
		sh.mu.RLock()
		for s, e := range sh.m {
			if e.nextExpiry == 0 || n < e.nextExpiry {
				continue
			}
			for _, p := range e.last {
				if p.decision == Given && p.expires != 0 && n >= p.expires {
					out = append(out, Record{Subject: s, Purpose: x.rules.inv.Purposes[p.index].Key})
				}
			}
		}
		sh.mu.RUnlock()
	}
	return out
}

// MarshalJSON writes the state by hand: it is in every answer of the
// consent API, and reflection was a tenth of a decision's cost. Zero times
// are left out, as `omitzero` would.
func (st State) MarshalJSON() ([]byte, error) {
	return st.appendJSON(make([]byte, 0, 128*len(st.Purposes)+64)), nil
}

func (st *State) appendJSON(b []byte) []byte {
	b = append(b, `{"purposes":[`...)
	for i := range st.Purposes {
		p := &st.Purposes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"purpose":`...)
		b = appendString(b, p.Purpose)
		b = append(b, `,"legalBasis":`...)
		b = appendString(b, p.Basis)
		b = append(b, `,"allowed":`...)
		b = strconv.AppendBool(b, p.Allowed)
		if p.Decision != "" {
			b = append(b, `,"decision":`...)
			b = appendString(b, string(p.Decision))
		}
		for _, t := range [...]struct {
			name string
			at   time.Time
		}{{"since", p.Since}, {"expires", p.Expires}, {"askAfter", p.AskAfter}} {
			if !t.at.IsZero() {
				b = append(b, `,"`...)
				b = append(b, t.name...)
				b = append(b, `":`...)
				b = appendTime(b, t.at.UTC())
			}
		}
		b = append(b, '}')
	}
	b = append(b, `],"restricted":`...)
	b = strconv.AppendBool(b, st.Restricted)
	b = append(b, `,"minor":`...)
	b = strconv.AppendBool(b, st.Minor)
	return append(b, '}')
}
