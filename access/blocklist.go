package access

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// blocklistText is the block-list of common and breached passwords: see the
// header of blocklist.txt for its source and licence.
//
//go:embed blocklist.txt
var blocklistText string

var blocklist = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 32000)
	for line := range strings.Lines(blocklistText) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line == "#" || strings.HasPrefix(line, "# ") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
})

// BlocklistSize is the number of entries on the embedded block-list.
func BlocklistSize() int { return len(blocklist()) }

// blocked reports whether the lower-cased, normalised password lower is on
// the block-list, as it is or once the digits, symbols and spaces around it
// are removed ("Password2024!" → "password"), so that the usual decorations
// of a common password do not get it past the list.
func blocked(lower string) bool {
	list := blocklist()
	if _, ok := list[lower]; ok {
		return true
	}
	core := strings.TrimFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if utf8.RuneCountInString(core) >= 4 && core != lower {
		if _, ok := list[core]; ok {
			return true
		}
	}
	return false
}
