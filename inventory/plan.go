package inventory

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/garde-privacy/garde"
)

// maxNameLen bounds event, property, trait and context names.
const maxNameLen = 200

// Sites of the tracking plan, for the lints.
type (
	fieldSite struct {
		f      *Field
		path   string
		node   *yaml.Node // the field's name
		listed int        // purposes listed for it, its own or its event's
	}
	eventSite struct {
		e      *EventSpec
		path   string
		node   *yaml.Node // the event's name
		listed int        // purposes listed for the event itself
	}
)

// plan decodes the tracking plan. Its maps are never nil.
func (d *decoder) plan(inv *Inventory, n *yaml.Node) {
	p := &inv.Plan
	p.Context = map[string]*Field{}
	p.Events = map[string]*EventSpec{}
	p.Traits = map[string]*Field{}
	p.GroupTraits = map[string]*Field{}
	const root = "tracking_plan"
	o := d.object(n, root, "context", "page", "events", "traits", "group_traits")
	for _, e := range d.entries(o.get("context", false), join(root, "context")) {
		path := join(root, "context."+e.key)
		if d.contextPath(e.key, e.keyNode, path) {
			p.Context[e.key] = d.field(inv, e, path, 0, 0)
		}
	}
	if e, ok := o.vals["page"]; ok {
		p.Page = d.event(inv, "page", e, join(root, "page"))
	}
	for _, e := range d.entries(o.get("events", false), join(root, "events")) {
		path := join(root, "events."+e.key)
		if d.name(e.key, e.keyNode, path, "event") {
			p.Events[e.key] = d.event(inv, e.key, e, path)
		}
	}
	d.fieldMap(inv, o.get("traits", false), join(root, "traits"), p.Traits)
	d.fieldMap(inv, o.get("group_traits", false), join(root, "group_traits"), p.GroupTraits)
}

func (d *decoder) fieldMap(inv *Inventory, n *yaml.Node, path string, into map[string]*Field) {
	for _, e := range d.entries(n, path) {
		fp := join(path, e.key)
		if d.name(e.key, e.keyNode, fp, "field") {
			into[e.key] = d.field(inv, e, fp, 0, 0)
		}
	}
}

// name checks an event or field name: not empty, not too long, printable.
func (d *decoder) name(s string, at *yaml.Node, path, what string) bool {
	switch {
	case strings.TrimSpace(s) == "":
		d.errorf(at, path, "key-syntax", "empty %s name", what)
	case len(s) > maxNameLen:
		d.errorf(at, path, "key-syntax", "%s name longer than %d bytes", what, maxNameLen)
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0:
		d.errorf(at, path, "key-syntax", "%s name %q has characters that cannot be printed", what, garde.Truncate(s, 80))
	default:
		return true
	}
	return false
}

// contextPath checks a dotted path into the Segment context. The collection
// pipeline looks at most two levels deep ("page.url"), so a deeper path
// would never match: it is reported as a warning.
func (d *decoder) contextPath(s string, at *yaml.Node, path string) bool {
	if !d.name(s, at, path, "context") {
		return false
	}
	parts := strings.Split(s, ".")
	for _, part := range parts {
		if part == "" || strings.ContainsAny(part, " \t") {
			d.errorf(at, path, "key-syntax", "context path %q: want dot-separated names such as page.url", garde.Truncate(s, 80))
			return false
		}
	}
	if len(parts) > 2 {
		d.warnf(at, path, "context-path-depth", "context paths deeper than two levels are never collected")
	}
	return true
}

// event decodes an event spec (or the page spec) declared at e.
func (d *decoder) event(inv *Inventory, name string, e entry, path string) *EventSpec {
	o := d.object(e.val, path, "purposes", "properties")
	spec := &EventSpec{Name: name, Properties: map[string]*Field{}}
	var listed int
	spec.Purposes, listed = d.purposeRefs(inv, o)
	props := join(path, "properties")
	for _, pe := range d.entries(o.get("properties", false), props) {
		fp := join(props, pe.key)
		if d.name(pe.key, pe.keyNode, fp, "property") {
			spec.Properties[pe.key] = d.field(inv, pe, fp, spec.Purposes, listed)
		}
	}
	d.events = append(d.events, eventSite{e: spec, path: path, node: e.keyNode, listed: listed})
	return spec
}

// field decodes one field declaration. A field that lists no purposes
// inherits the given ones (its event's).
func (d *decoder) field(inv *Inventory, e entry, path string, inherit PurposeSet, inherited int) *Field {
	f := &Field{Name: e.key, Type: TypeAny}
	if e.val == nil {
		d.errorf(e.keyNode, path, "missing-key", "field has no declaration: want {category: …, purposes: […]}")
	}
	o := d.object(e.val, path, "category", "purposes", "type")
	if key := o.str("category", true); key != "" {
		f.Category = inv.categories[key]
		if f.Category == nil {
			d.errorf(o.at("category"), join(path, "category"), "unknown-category", "category %q is not declared in categories", garde.Truncate(key, 80))
		}
	}
	var listed int
	f.Purposes, listed = d.purposeRefs(inv, o)
	if listed == 0 {
		f.Purposes, listed = inherit, inherited
	}
	if t := o.str("type", false); t != "" {
		f.Type = FieldType(t)
		if !f.Type.valid() {
			d.errorf(o.at("type"), join(path, "type"), "invalid-value", "type %q: want any, string, number, integer, boolean, object or array", garde.Truncate(t, 40))
			f.Type = TypeAny
		}
	}
	d.fields = append(d.fields, fieldSite{f: f, path: path, node: e.keyNode, listed: listed})
	return f
}

// purposeRefs resolves the `purposes` list of o and returns the set and how
// many purposes were listed, known or not.
func (d *decoder) purposeRefs(inv *Inventory, o object) (PurposeSet, int) {
	var s PurposeSet
	keys, nodes := o.strs("purposes")
	for i, k := range keys {
		p := inv.purposes[k]
		if p == nil {
			d.errorf(nodes[i], join(o.path, "purposes"), "unknown-purpose", "purpose %q is not declared in purposes", garde.Truncate(k, 80))
			continue
		}
		s = s.With(p.Index)
	}
	listed := len(keys)
	if n := o.get("purposes", false); listed == 0 && n != nil && (n.Kind != yaml.SequenceNode || len(n.Content) > 0) {
		listed = 1 // a list that was not understood was reported already: not as "no purpose" too
	}
	return s, listed
}
