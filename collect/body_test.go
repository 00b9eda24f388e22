package collect

import "testing"

// TestBodyBuffers: a body gets the smallest class that holds it, up to one
// of MaxBody and the byte past it; what its class hands out after a buffer
// came back is empty and of the class's size (reuse itself is sync.Pool's,
// which may drop any buffer), and a buffer that outgrew its class is not
// kept in it.
func TestBodyBuffers(t *testing.T) {
	for _, c := range []struct{ n, cap int }{{1, 1024}, {1024, 1024}, {1025, 2048}, {75_001, 128 << 10}, {MaxBody + 1, 512 << 10}} {
		b, class := getBody(c.n)
		if cap(b) != c.cap || len(b) != 0 || class < 0 {
			t.Errorf("getBody(%d): len %d, cap %d, class %d; want an empty buffer of %d", c.n, len(b), cap(b), class, c.cap)
		}
	}
	if b, class := getBody(1<<19 + 1); class != -1 || cap(b) != 1<<19+1 {
		t.Errorf("past the largest class: cap %d, class %d; want a buffer of its own", cap(b), class)
	}
	b, class := getBody(3000)
	b = append(b, "body"...)
	putBody(b, class)
	again, c2 := getBody(3000)
	if c2 != class || len(again) != 0 || cap(again) != 4096 {
		t.Fatalf("after a buffer came back, its class gave len %d, cap %d, class %d", len(again), cap(again), c2)
	}
	grown := append(again[:cap(again)], 'x') // outgrew its class
	putBody(grown, c2)
	if b, _ := getBody(3000); cap(b) != 4096 {
		t.Errorf("a grown buffer was kept in its class: cap %d", cap(b))
	}
}
