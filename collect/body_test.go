package collect

import (
	"bytes"
	"testing"
)

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

// TestArena: buffers carved from one chunk never overlap, appending past
// one moves it off the chunk, large ones and a nil arena use the heap, and
// release gives every chunk back (overwritten in race builds).
func TestArena(t *testing.T) {
	a := &arena{}
	var bufs [][]byte
	for i := range 40 { // 40 × 3,000 bytes: two chunks
		b := a.alloc(3000)
		if len(b) != 0 || cap(b) != 3000 {
			t.Fatalf("alloc(3000): len %d, cap %d", len(b), cap(b))
		}
		bufs = append(bufs, append(b, bytes.Repeat([]byte{byte(i)}, 3000)...))
	}
	if len(a.chunks) != 2 {
		t.Errorf("%d chunks for 40 × 3,000 bytes, want 2", len(a.chunks))
	}
	moved := append(bufs[0], 'x') // past its capacity: a copy on the heap
	moved[0] = 0xEE
	for i, b := range bufs {
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, 3000)) {
			t.Fatalf("buffer %d was overwritten", i)
		}
	}
	if big := a.alloc(arenaLargest + 1); cap(big) != arenaLargest+1 || len(a.chunks) != 2 {
		t.Errorf("a buffer over arenaLargest came from a chunk (%d chunks)", len(a.chunks))
	}
	if b := (*arena)(nil).alloc(10); cap(b) != 10 {
		t.Errorf("nil arena: cap %d", cap(b))
	}
	a.release()
	if len(a.chunks) != 0 || a.cur != nil {
		t.Fatalf("release kept %d chunks", len(a.chunks))
	}
	if raceEnabled && bufs[1][0] != 0xA5 {
		t.Errorf("a released chunk was not overwritten (race build)")
	}
	if b := a.alloc(100); cap(b) != 100 || len(a.chunks) != 1 {
		t.Errorf("after release: cap %d, %d chunks", cap(b), len(a.chunks))
	}
}
