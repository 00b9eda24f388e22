package collect

import (
	"math/bits"
	"sync"
)

// Request bodies are read into buffers recycled by size class: a 100-event
// batch is ~75 KB, allocated and zeroed per call, an eighth of the bytes the
// collection path allocated (and so of the garbage collections it caused).
// A body is handed back once its request is answered: nothing kept past
// that point (records stored, caches, tallies, the response) points into
// it, every value taken from it having been copied into a string or
// sealed. Race-enabled builds (make test) overwrite each buffer handed
// back, so that a test reading anything kept from a body sees garbage.

// bodyClasses are the buffer sizes, 2^minBodyClass to 2^(minBodyClass +
// len-1) bytes: up to 512 KiB, which holds MaxBody and the byte past it.
const minBodyClass = 10

var bodyClasses [10]sync.Pool

// bodyClass returns the class of the smallest buffer of at least n bytes
// (ok false above the largest).
func bodyClass(n int) (int, bool) {
	c := max(0, bits.Len(uint(n-1))-minBodyClass)
	return c, c < len(bodyClasses)
}

// getBody returns an empty buffer of capacity at least n, and its class
// (-1: not from a pool).
func getBody(n int) ([]byte, int) {
	c, ok := bodyClass(n)
	if !ok {
		return make([]byte, 0, n), -1
	}
	if p, _ := bodyClasses[c].Get().(*[]byte); p != nil {
		return (*p)[:0], c
	}
	return make([]byte, 0, 1<<(c+minBodyClass)), c
}

// putBody hands b, of class c, back (a body that outgrew its buffer is
// left to the garbage collector).
func putBody(b []byte, c int) {
	if c < 0 || cap(b) != 1<<(c+minBodyClass) {
		return
	}
	b = b[:cap(b)]
	if raceEnabled {
		for i := range b {
			b[i] = 0xA5
		}
	}
	b = b[:0]
	bodyClasses[c].Put(&b)
}
