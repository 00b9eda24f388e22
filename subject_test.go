package garde

import (
	"testing"
	"time"
)

// TestSubjectIDs: new ids are valid, distinct and sort by creation; ids of
// the older, random shape stay valid; other shapes are not.
func TestSubjectIDs(t *testing.T) {
	seen := map[SubjectID]bool{}
	prev := SubjectID("")
	for range 2000 {
		id := NewSubjectID()
		if !id.Valid() || seen[id] {
			t.Fatalf("%q: valid %v, repeated %v", id, id.Valid(), seen[id])
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("%q, made later, sorts before %q", id, prev)
		}
		prev = id
		time.Sleep(time.Microsecond) // the clock may not move between two calls
	}
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	if a, b := SortableID(at), SortableID(at.Add(time.Nanosecond)); a >= b || len(a) != 26 {
		t.Errorf("SortableID: %q then %q", a, b)
	}
	for id, want := range map[SubjectID]bool{
		"s_abcdefghijklmnopqrstuvwxyz":  true, // the older, random shape
		"s_234567abcdefghijklmnopqrst":  true,
		"s_0123456789abcdefghijklmnop":  true,
		"s_0123456789ABCDEFGHIJKLMNOP":  false,
		"s_0123456789abcdefghijklmno":   false,
		"x_0123456789abcdefghijklmnop":  false,
		"s_0123456789abcdefghijklmn-p":  false,
		"s_0123456789abcdefghijklmnopq": false,
	} {
		if id.Valid() != want {
			t.Errorf("%q.Valid() = %v, want %v", id, !want, want)
		}
	}
}
