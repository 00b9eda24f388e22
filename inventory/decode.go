package inventory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/garde-privacy/garde"
)

// maxVisits bounds the YAML nodes the decoder looks at, aliases expanded, so
// that a small file of nested aliases cannot make it do unbounded work. The
// example inventory has under 2,000 nodes; a real one a few thousand.
const maxVisits = 200_000

// maxProblems bounds the problems reported for one file; the decoder stops
// after it.
const maxProblems = 1000

// decoder turns a YAML node tree into an Inventory, strictly: every node it
// looks at is checked for kind and every mapping for unknown and duplicate
// keys. It records problems instead of stopping, and remembers where each
// declaration was written so that the lints can point at it.
type decoder struct {
	file      string
	problems  Problems
	visits    int
	exhausted bool

	// Where things were declared, in file order, for the lints.
	categories []categorySite
	purposes   []purposeSite
	fields     []fieldSite
	events     []eventSite
	sources    *yaml.Node // the sources list
	dpo        bool       // organisation.dpo was given
	org        *yaml.Node // the organisation mapping
}

func (d *decoder) report(n *yaml.Node, sev Severity, path, code, format string, args ...any) {
	if d.exhausted {
		return
	}
	if len(d.problems) == maxProblems {
		d.exhausted = true
		sev, path, code, format, args = SeverityError, "", "too-many-problems", "more than %d problems: stopped here", []any{maxProblems}
	}
	p := Problem{File: d.file, Path: path, Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

func (d *decoder) errorf(n *yaml.Node, path, code, format string, args ...any) {
	d.report(n, SeverityError, path, code, format, args...)
}

func (d *decoder) warnf(n *yaml.Node, path, code, format string, args ...any) {
	d.report(n, SeverityWarning, path, code, format, args...)
}

// resolve follows aliases and counts one visit. It returns nil once the
// visit budget is spent (reporting it once), so every caller stops.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	if n == nil || d.exhausted {
		return nil
	}
	if d.visits++; d.visits > maxVisits {
		d.errorf(n, "", "too-complex", "the document expands to more than %d nodes (nested aliases?)", maxVisits)
		d.exhausted = true
		return nil
	}
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops == 8 {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		var kind string
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!bool":
			kind = "true or false"
		case "!!int", "!!float":
			kind = "a number"
		default:
			kind = "a text"
		}
		return kind + " (" + strconv.Quote(garde.Truncate(n.Value, 40)) + ")"
	}
	return "something else"
}

// join appends a map key to a dotted path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// item names a list item by its key, or by its index when it has none.
func item(path, key string, i int) string {
	if key == "" {
		key = strconv.Itoa(i)
	}
	return path + "[" + key + "]"
}

// entry is one key: value pair of a mapping. val is resolved and may be nil
// (for a null value).
type entry struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// entries returns the pairs of mapping n in file order. A node that is not
// a mapping, a key that is not a scalar and a duplicate key are reported and
// skipped. A null n has no entries.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	_, es := d.mapping(n, path)
	return es
}

// mapping is entries that also returns the resolved mapping node, nil when
// n is null or not a mapping.
func (d *decoder) mapping(n *yaml.Node, path string) (*yaml.Node, []entry) {
	n = d.resolve(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "wrong-type", "want a mapping, got %s", kindName(n))
		return nil, nil
	}
	out := make([]entry, 0, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i])
		if k == nil {
			return n, out
		}
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			d.errorf(k, path, "wrong-type", "want a plain key, got %s", kindName(k))
			continue
		}
		if first := seen[k.Value]; first != nil {
			d.errorf(k, join(path, k.Value), "duplicate-key", "key %q already given on line %d", garde.Truncate(k.Value, 80), first.Line)
			continue
		}
		seen[k.Value] = k
		v := d.resolve(n.Content[i+1])
		if d.exhausted {
			return n, out
		}
		if isNull(v) {
			v = nil
		}
		out = append(out, entry{key: k.Value, keyNode: k, val: v})
	}
	return n, out
}

// object is a mapping with a fixed set of keys.
type object struct {
	d    *decoder
	node *yaml.Node // nil when the mapping is absent, null or not a mapping
	path string
	vals map[string]entry
}

// object decodes n as a mapping whose keys must be among allowed. Unknown
// keys are errors. Keys asked for on an absent object are not reported
// missing: the absence was reported (or allowed) where it was found.
func (d *decoder) object(n *yaml.Node, path string, allowed ...string) object {
	node, es := d.mapping(n, path)
	o := object{d: d, node: node, path: path, vals: make(map[string]entry, len(es))}
	for _, e := range es {
		if !slices.Contains(allowed, e.key) {
			hint := "want one of " + strings.Join(allowed, ", ")
			if e.key == "<<" {
				hint = "merge keys are not supported"
			}
			d.errorf(e.keyNode, join(path, e.key), "unknown-key", "unknown key %q: %s", garde.Truncate(e.key, 80), hint)
			continue
		}
		o.vals[e.key] = e
	}
	return o
}

// at returns the node to report a problem about key at: its value, its key,
// or the object itself.
func (o object) at(key string) *yaml.Node {
	if e, ok := o.vals[key]; ok {
		if e.val != nil {
			return e.val
		}
		return e.keyNode
	}
	return o.node
}

// get returns the value of key, or nil when it is absent or null. A
// required key that is absent or null is reported.
func (o object) get(key string, required bool) *yaml.Node {
	e, ok := o.vals[key]
	if ok && e.val != nil {
		return e.val
	}
	if required && o.node != nil {
		if ok {
			o.d.errorf(e.keyNode, join(o.path, key), "missing-key", "%s has no value", key)
		} else {
			o.d.errorf(o.node, o.path, "missing-key", "missing key %q", key)
		}
	}
	return nil
}

// str returns the value of key as a string. Any scalar will do (YAML
// `8080` is read as "8080"); a list or mapping is reported.
func (o object) str(key string, required bool) string {
	n := o.get(key, required)
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		o.d.errorf(n, join(o.path, key), "wrong-type", "want a text, got %s", kindName(n))
		return ""
	}
	return n.Value
}

// boolean returns the value of key, def when absent or null.
func (o object) boolean(key string, def bool) bool {
	n := o.get(key, false)
	if n == nil {
		return def
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b
		}
	}
	o.d.errorf(n, join(o.path, key), "wrong-type", "want true or false, got %s", kindName(n))
	return def
}

// integer returns the value of key as an int.
func (o object) integer(key string, required bool) (int, bool) {
	n := o.get(key, required)
	if n == nil {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if i, err := strconv.Atoi(n.Value); err == nil {
			return i, true
		}
	}
	o.d.errorf(n, join(o.path, key), "wrong-type", "want a whole number, got %s", kindName(n))
	return 0, false
}

// list returns the items of key, resolved. A single scalar where a list is
// wanted is reported.
func (o object) list(key string, required bool) []*yaml.Node {
	n := o.get(key, required)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.d.errorf(n, join(o.path, key), "wrong-type", "want a list, got %s", kindName(n))
		return nil
	}
	items := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		c = o.d.resolve(c)
		if c == nil {
			break
		}
		items = append(items, c)
	}
	return items
}

// strs returns the items of the list at key that are scalars, with their
// nodes; other items are reported.
func (o object) strs(key string) ([]string, []*yaml.Node) {
	var vals []string
	var nodes []*yaml.Node
	for i, n := range o.list(key, false) {
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			o.d.errorf(n, item(join(o.path, key), "", i), "wrong-type", "want a text, got %s", kindName(n))
			continue
		}
		vals = append(vals, n.Value)
		nodes = append(nodes, n)
	}
	return vals, nodes
}

// text decodes {en: …, fr: …}. When both is set, a missing language is an
// error ("missing-text").
func (o object) text(key string, both bool) Text {
	n := o.get(key, false)
	if n == nil && both && o.node != nil {
		o.d.errorf(o.at(key), join(o.path, key), "missing-text", "%s is required, in English and French (en, fr)", key)
		return Text{}
	}
	t := o.d.object(n, join(o.path, key), "en", "fr")
	txt := Text{EN: strings.TrimSpace(t.str("en", false)), FR: strings.TrimSpace(t.str("fr", false))}
	if both && t.node != nil {
		for _, l := range [...]struct{ lang, s string }{{"en", txt.EN}, {"fr", txt.FR}} {
			if l.s == "" {
				o.d.errorf(t.at(l.lang), join(t.path, l.lang), "missing-text", "%s has no %s text", key, l.lang)
			}
		}
	}
	return txt
}
