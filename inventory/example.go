package inventory

import (
	"bytes"
	_ "embed"
	"strconv"
)

// example is the commented example inventory of a French retailer, Maison
// Lumière, with one source per channel.
//
//go:embed example.yaml
var example []byte

// exampleFile names the example in problems.
const exampleFile = "example.yaml"

// DemoWriteKey returns the write key the example gives the source of channel
// c: "demo-<channel>-key".
func DemoWriteKey(c Channel) string { return "demo-" + string(c) + "-key" }

// Example returns the embedded example inventory, with the demo write keys
// (see DemoWriteKey). It is valid, without warnings. The caller may modify
// the returned slice.
func Example() []byte { return bytes.Clone(example) }

// RenderExample returns the example with each source's write key replaced
// by writeKey(channel), written as a quoted YAML string. `garde init` uses
// it with random keys. A nil writeKey keeps the demo keys.
func RenderExample(writeKey func(channel Channel) string) []byte {
	out := Example()
	if writeKey == nil {
		return out
	}
	for _, c := range Channels() {
		demo := []byte(strconv.Quote(DemoWriteKey(c)))
		out = bytes.ReplaceAll(out, demo, []byte(strconv.Quote(writeKey(c))))
	}
	return out
}

// MustExample returns the parsed example inventory, a fresh one on each
// call. It panics if the example is invalid, which a test rules out.
func MustExample() *Inventory {
	inv, problems, err := Parse(exampleFile, example)
	if err != nil {
		panic("inventory: the example does not parse: " + err.Error())
	}
	if inv == nil {
		panic("inventory: the example is invalid:\n" + problems.Error())
	}
	return inv
}
