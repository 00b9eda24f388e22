package vault

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// BlindIndexSize is the length of a blind index in bytes.
const BlindIndexSize = 16

// blindState is a reusable HMAC and scratch space for BlindIndex.
type blindState struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

func (v *Vault) initBlind() {
	key := v.derive("garde blind-index v1")
	v.blind.New = func() any { return &blindState{mac: hmac.New(sha256.New, key)} }
}

// BlindIndex returns the blind index of an identifier: the first 16 bytes of
// HMAC-SHA256(blind-index key, kind + 0x00 + value). The same (kind, value)
// gives the same index in every process and across master-key rotations, so
// it can be stored and looked up in place of the identifier, which is never
// stored. kind ("user", "anon", "email", "phone") must not contain 0x00.
// Safe for concurrent use.
func (v *Vault) BlindIndex(kind, value string) []byte {
	st := v.blind.Get().(*blindState)
	st.buf = append(append(append(st.buf[:0], kind...), 0), value...)
	st.mac.Reset()
	st.mac.Write(st.buf)
	sum := st.mac.Sum(st.sum[:0])
	out := make([]byte, BlindIndexSize)
	copy(out, sum)
	clear(st.buf) // the value is personal: do not leave it in pooled memory
	if cap(st.buf) > 1024 {
		st.buf = nil
	}
	v.blind.Put(st)
	return out
}
