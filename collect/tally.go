package collect

import "sync"

// Violation kinds: why a value or an event did not reach storage as sent.
const (
	ViolationUndeclaredEvent = "undeclared_event"
	ViolationUndeclaredField = "undeclared_field"
	ViolationType            = "wrong_type"
	ViolationNoConsent       = "no_consent" // stored for no purpose allowed now (the consent gate)
	ViolationSuppressed      = "suppressed" // from a person erased at their request, who asked not to be collected again
	ViolationNoPurpose       = "no_purpose"
	ViolationRedacted        = "redacted_" // + the kind of personal data
)

// ViolationKey names what was refused: never a value, only where it was.
type ViolationKey struct {
	Source, Event, Field, Kind string
}

// Tally counts violations. Request goroutines count into their own Tally and
// merge it into the shared one once; the writer drains the shared one into
// storage with each group commit. The zero value is ready to use.
type Tally struct {
	mu sync.Mutex
	n  map[ViolationKey]int
}

// Count adds one violation.
func (t *Tally) Count(source, event, field, kind string) {
	k := ViolationKey{source, event, field, kind}
	if t.n == nil {
		t.n = map[ViolationKey]int{}
	}
	t.n[k]++
}

// Merge adds o's counts to t (t is locked; o must not be shared).
func (t *Tally) Merge(o *Tally) {
	if len(o.n) == 0 {
		return
	}
	t.mu.Lock()
	if t.n == nil {
		t.n = make(map[ViolationKey]int, len(o.n))
	}
	for k, v := range o.n {
		t.n[k] += v
	}
	t.mu.Unlock()
}

// Drain returns the counts and empties t.
func (t *Tally) Drain() map[ViolationKey]int {
	t.mu.Lock()
	n := t.n
	t.n = nil
	t.mu.Unlock()
	return n
}

// Each calls fn for every count (t must not be shared).
func (t *Tally) Each(fn func(ViolationKey, int)) {
	for k, v := range t.n {
		fn(k, v)
	}
}
