package collect

import "sync"

// An arena hands out the byte buffers of one request's records (their clear
// properties and context, their sealed fields), carved from chunks recycled
// like request bodies, and gives every chunk back at once when the request
// is answered (release): per event, these were a third of the bytes the
// collection path allocated. The rule is the body's (body.go): nothing kept
// past the answer points into them; the store copies what it binds. Only
// the request's goroutine uses its arena (preparing, presealing): the
// writer, which seals a large group on several goroutines at once, seals
// on the heap. A nil arena allocates from the heap.
//
// The arena also keeps the index of the request's body (jsonIndex) and the
// request's lists (the batch's raw messages, the messages decoded, their
// records, personal values and presealed parts), which share its lifetime: the writer
// answers a submission once done with its records. Arenas are recycled
// (getArena, put): their lists keep their capacity.
type arena struct {
	cur    []byte   // the chunk being carved; len is what was handed out
	chunks [][]byte // every chunk taken, cur included
	ix     jsonIndex
	batch  [][]byte    // a batch's messages (decodeBatch)
	msgs   []Message   // the request's messages, decoded
	recs   []Record    // their records
	vals   []Value     // the records' personal values (values)
	pres   []presealed // the records sealed in the request (presealed)
}

// presealed returns a zero presealed record, the arena's.
func (a *arena) presealed() *presealed {
	if a == nil {
		return new(presealed)
	}
	if len(a.pres) == cap(a.pres) {
		// a new block: the records that point into the old one keep it
		a.pres = make([]presealed, 0, max(128, 2*cap(a.pres)))
	}
	a.pres = a.pres[:len(a.pres)+1]
	return &a.pres[len(a.pres)-1]
}

// records returns an empty list with room for n Records, the arena's.
func (a *arena) records(n int) []Record {
	if a == nil {
		return make([]Record, 0, n)
	}
	if cap(a.recs) < n {
		a.recs = make([]Record, 0, n)
	}
	return a.recs[:0]
}

// values returns an empty list of personal values with room for n, carved
// from the arena's (appending past n moves it to the heap).
func (a *arena) values(n int) []Value {
	if a == nil {
		return make([]Value, 0, n)
	}
	if cap(a.vals)-len(a.vals) < n {
		// a new block: the lists carved from the old one keep it
		a.vals = make([]Value, 0, max(64*n, 2*cap(a.vals)))
	}
	at := len(a.vals)
	a.vals = a.vals[:at+n]
	return a.vals[at : at : at+n]
}

// messages returns n zero Messages, the arena's.
func (a *arena) messages(n int) []Message {
	if cap(a.msgs) < n {
		a.msgs = make([]Message, n)
	}
	a.msgs = a.msgs[:n]
	clear(a.msgs)
	return a.msgs
}

var arenas = sync.Pool{New: func() any { return new(arena) }}

// getArena returns an empty arena, recycled if one is.
func getArena() *arena { return arenas.Get().(*arena) }

// put releases the arena and recycles it, unless its lists grew past
// what an ordinary request needs.
func (a *arena) put() {
	a.release()
	clear(a.batch[:cap(a.batch)])
	a.batch = a.batch[:0]
	clear(a.msgs)
	clear(a.recs[:cap(a.recs)])
	clear(a.vals)
	a.vals = a.vals[:0]
	clear(a.pres)
	a.pres = a.pres[:0]
	if cap(a.ix.spans) <= 1<<14 && cap(a.batch) <= 1<<12 && cap(a.msgs) <= 1<<12 && cap(a.recs) <= 1<<12 &&
		cap(a.vals) <= 1<<15 && cap(a.pres) <= 1<<12 && cap(a.chunks) <= 64 {
		arenas.Put(a)
	}
}

// index is the index of the request's body (nil for a nil arena).
func (a *arena) index() *jsonIndex {
	if a == nil {
		return nil
	}
	return &a.ix
}

// arenaChunk is the size of a chunk, and arenaLargest the largest buffer
// carved from one (anything larger comes from the heap).
const arenaChunk, arenaLargest = 64 << 10, 8 << 10

// alloc returns an empty buffer of capacity n. Appending past n moves the
// buffer to the heap, never over the next one.
func (a *arena) alloc(n int) []byte {
	if a == nil || n > arenaLargest {
		return make([]byte, 0, n)
	}
	if cap(a.cur)-len(a.cur) < n {
		a.cur, _ = getBody(arenaChunk)
		a.chunks = append(a.chunks, a.cur)
	}
	at := len(a.cur)
	a.cur = a.cur[:at+n]
	return a.cur[at : at : at+n]
}

// release gives the chunks back; the arena can be used again.
func (a *arena) release() {
	c, _ := bodyClass(arenaChunk)
	for _, b := range a.chunks {
		putBody(b, c)
	}
	clear(a.chunks)
	a.cur, a.chunks = nil, a.chunks[:0]
	a.ix.reset(nil)
}
