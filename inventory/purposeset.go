package inventory

import (
	"fmt"
	"math/bits"
)

// MaxPurposes is the number of purposes a PurposeSet can hold. An inventory
// with more purposes is invalid.
const MaxPurposes = 64

// PurposeSet is a set of purposes of one inventory: bit i stands for
// Inventory.Purposes[i]. The zero value is the empty set.
type PurposeSet uint64

// Has reports whether purpose i is in the set. It is false for an i outside
// [0, MaxPurposes).
func (s PurposeSet) Has(i int) bool {
	return i >= 0 && i < MaxPurposes && s&(1<<uint(i)) != 0
}

// With returns the set with purpose i added. An i outside [0, MaxPurposes)
// leaves the set unchanged.
func (s PurposeSet) With(i int) PurposeSet {
	if i < 0 || i >= MaxPurposes {
		return s
	}
	return s | 1<<uint(i)
}

// Len returns the number of purposes in the set.
func (s PurposeSet) Len() int { return bits.OnesCount64(uint64(s)) }

// Empty reports whether the set holds no purpose.
func (s PurposeSet) Empty() bool { return s == 0 }

// PurposeKeys returns the keys of the purposes in s, in inventory order. Bits
// that name no purpose of inv are ignored.
func (inv *Inventory) PurposeKeys(s PurposeSet) []string {
	keys := make([]string, 0, s.Len())
	for i, p := range inv.Purposes {
		if s.Has(i) {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// PurposeSetOf returns the set of the purposes with the given keys. An
// unknown key is an error.
func (inv *Inventory) PurposeSetOf(keys ...string) (PurposeSet, error) {
	var s PurposeSet
	for _, k := range keys {
		p := inv.purposes[k]
		if p == nil {
			return 0, fmt.Errorf("inventory: unknown purpose %q", k)
		}
		s = s.With(p.Index)
	}
	return s, nil
}

// Category returns the category with the given key, or nil.
func (inv *Inventory) Category(key string) *Category { return inv.categories[key] }

// Purpose returns the purpose with the given key, or nil.
func (inv *Inventory) Purpose(key string) *Purpose { return inv.purposes[key] }

// SourceByWriteKey returns the source whose write key is key, or nil. The
// lookup is a map access, not a constant-time comparison: a write key
// identifies a source, it does not authorise reads.
func (inv *Inventory) SourceByWriteKey(key string) *Source { return inv.writeKeys[key] }
