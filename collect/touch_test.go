package collect

import (
	"testing"

	"github.com/garde-privacy/garde"
)

// TestTouchMemo: the writer's memory of last-seen times keeps about limit
// subjects, drops the older half whole, and forgets on request.
func TestTouchMemo(t *testing.T) {
	m := newTouchMemo(4)
	ids := make([]garde.SubjectID, 6)
	for i := range ids {
		ids[i] = garde.NewSubjectID()
	}
	m.add(ids[0], 10)
	m.add(ids[1], 11)
	m.add(ids[0], 20) // updated in place
	if got, ok := m.get(ids[0]); !ok || got != 20 {
		t.Fatalf("get: %d, %v; want 20", got, ok)
	}
	m.add(ids[2], 12) // the first generation is full: it becomes the older one
	m.add(ids[3], 13)
	for i, want := range []int64{20, 11, 12, 13} {
		if got, ok := m.get(ids[i]); !ok || got != want {
			t.Errorf("subject %d: %d, %v; want %d", i, got, ok, want)
		}
	}
	m.add(ids[4], 14) // the older generation is dropped whole
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := m.get(ids[i]); ok != want {
			t.Errorf("subject %d remembered: %v, want %v", i, ok, want)
		}
	}
	m.remove(ids[2])
	m.remove(ids[4])
	if _, ok := m.get(ids[2]); ok {
		t.Error("removed from the older generation, still there")
	}
	if _, ok := m.get(ids[4]); ok {
		t.Error("removed from the newer generation, still there")
	}
	m.purge()
	if _, ok := m.get(ids[3]); ok || len(m.cur) != 0 || m.old != nil {
		t.Error("purge left something")
	}
}
