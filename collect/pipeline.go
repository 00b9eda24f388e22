package collect

import (
	"bytes"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/redact"
)

// Indexer computes blind indexes: keyed hashes that let Garde find a subject
// by an identifier without storing the identifier. The vault implements it.
type Indexer interface {
	BlindIndex(kind, value string) []byte
}

// Identity kinds, in the order that decides which subject an event belongs to.
const (
	IdentityUser  = "user"
	IdentityEmail = "email"
	IdentityPhone = "phone"
	IdentityAnon  = "anon"
)

// Identity is one blind-indexed identifier of a subject.
type Identity struct {
	Kind string
	Hash []byte
}

// Record is a message after minimisation, redaction and purpose tagging:
// everything in it is declared by the inventory, nothing in it is an
// identifier in clear, and its personal values wait to be sealed with the
// subject's key once the writer has resolved who the subject is.
type Record struct {
	Source    string
	Type      string
	Name      string
	MessageID string
	Time      time.Time
	Received  time.Time
	// Purposes are every purpose the record's kept fields serve; Serves
	// are the purposes the event itself is declared for (its tracking-plan
	// entry), which decide whether it is stored at all.
	Purposes inventory.PurposeSet
	Serves   inventory.PurposeSet
	// IDs are the message's identifiers, strongest first; Previous holds the
	// identifiers an alias call merges from.
	IDs      []Identity
	Previous []Identity
	// StoreEvent is false for identify and alias, which update the profile
	// and the identity graph but are not events of their own.
	StoreEvent bool
	Properties string // clear JSON object of declared non-personal properties
	Context    string // clear JSON object of declared non-personal context fields
	Personal   []Value
	Traits     []Trait
	// pre is the record sealed before the writer had it (Writer.preseal).
	pre *presealed
	// arena holds the record's clear objects and, if sealed before the
	// writer had it, its sealed fields (arena.go); nil: the heap. Only the
	// request's goroutine uses it.
	arena *arena
}

// Value is a personal value to seal, by its field path ("properties.email").
type Value struct {
	Path     string
	JSON     []byte
	Purposes inventory.PurposeSet // the purposes the field serves
}

// Trait is one declared trait for the profile.
type Trait struct {
	Name     string
	Category string
	Purposes string
	Set      inventory.PurposeSet // Purposes as a set
	Personal bool
	JSON     []byte
	// Identity, on a rectification of an identifier trait (email, phone),
	// is the new value's blind index: it replaces the subject's identities
	// of its kind, so that the old value no longer finds the person
	// (Writer.SetTrait).
	Identity *Identity
}

// Pipeline prepares messages for storage. It is safe for concurrent use.
type Pipeline struct {
	inv   *inventory.Inventory
	index Indexer
	// country is the organisation's country, for national phone numbers.
	country string
}

// NewPipeline returns a pipeline for the given inventory.
func NewPipeline(inv *inventory.Inventory, index Indexer) *Pipeline {
	return &Pipeline{inv: inv, index: index, country: inv.Organisation.Country}
}

// Prepare turns one valid message from src into a record. It returns ok =
// false, with the reason counted in t, when the tracking plan leaves the
// message nothing to keep (an undeclared event, no purpose).
func (p *Pipeline) Prepare(src *inventory.Source, m *Message, received time.Time, t *Tally) (rec Record, ok bool) {
	return p.prepare(nil, src, m, received, t)
}

// prepare is Prepare with the record's buffers taken from a (nil: the heap).
func (p *Pipeline) prepare(a *arena, src *inventory.Source, m *Message, received time.Time, t *Tally) (rec Record, ok bool) {
	rec = Record{
		arena:     a,
		Source:    src.Key,
		Type:      m.Type,
		MessageID: m.MessageID,
		Time:      m.eventTime(received),
		Received:  received,
	}
	if rec.MessageID == "" {
		rec.MessageID = garde.RandomID()
	}
	plan := &p.inv.Plan
	switch m.Type {
	case TypeTrack:
		rec.Name = m.Event
		spec := plan.Events[m.Event]
		if spec == nil {
			t.Count(src.Key, safeName(m.Event), "", ViolationUndeclaredEvent)
			return rec, false
		}
		rec.StoreEvent = true
		rec.Purposes, rec.Serves = spec.Purposes, spec.Purposes
		rec.Properties = p.fields(&rec, "properties.", spec.Properties, m.Properties, src.Key, m.Event, t)
	case TypePage, TypeScreen:
		rec.Name = safeName(m.Name) // a page name is free text the plan does not declare
		if plan.Page == nil {
			t.Count(src.Key, m.Type, "", ViolationUndeclaredEvent)
			return rec, false
		}
		rec.StoreEvent = true
		rec.Purposes, rec.Serves = plan.Page.Purposes, plan.Page.Purposes
		rec.Properties = p.fields(&rec, "properties.", plan.Page.Properties, m.Properties, src.Key, m.Type, t)
	case TypeGroup:
		rec.StoreEvent = true
		rec.Properties = p.fields(&rec, "traits.", plan.GroupTraits, m.Traits, src.Key, TypeGroup, t)
	case TypeIdentify:
		p.traits(&rec, m.Traits, src.Key, t)
	case TypeAlias:
		rec.Previous = []Identity{
			{IdentityUser, p.index.BlindIndex(IdentityUser, m.PreviousID)},
			{IdentityAnon, p.index.BlindIndex(IdentityAnon, m.PreviousID)},
		}
	}
	if rec.StoreEvent {
		rec.Context = p.context(&rec, m.Context, src.Key, eventLabel(m), t)
	}
	p.identities(&rec, m)
	if rec.Serves.Empty() {
		rec.Serves = rec.Purposes
	}
	if rec.StoreEvent && rec.Purposes.Empty() {
		t.Count(src.Key, safeName(eventLabel(m)), "", ViolationNoPurpose)
		return rec, false
	}
	return rec, true
}

func eventLabel(m *Message) string {
	if m.Type == TypeTrack {
		return m.Event
	}
	return m.Type
}

// fields keeps the declared fields of obj, seals-to-be the personal ones,
// redacts the rest, and returns the clear JSON object.
func (p *Pipeline) fields(rec *Record, prefix string, declared map[string]*inventory.Field, obj Object, source, event string, t *Tally) string {
	clear := object{size: len(obj) + 1, arena: rec.arena}
	it := rec.arena.index().members(obj)
	for k, raw, ok := it.next(); ok; k, raw, ok = it.next() {
		f, name := member(declared, k)
		if f == nil {
			t.Count(source, safeName(event), safeName(name), ViolationUndeclaredField)
			continue
		}
		p.keep(rec, &clear, prefix, f, raw, source, event, t)
	}
	return clear.json()
}

// member finds the declared field of a raw key; name is the key decoded,
// set only when it is not declared (to count it).
func member(declared map[string]*inventory.Field, key []byte) (f *inventory.Field, name string) {
	k := memberName(key)
	if f = declared[string(k)]; f != nil {
		return f, ""
	}
	return nil, string(k)
}

// keep adds one declared value to the record: sealed later if personal,
// redacted and kept in clear otherwise. A value of the wrong type is dropped
// and counted. The field's path is f.Path(prefix).
func (p *Pipeline) keep(rec *Record, clear *object, prefix string, f *inventory.Field, raw []byte, source, event string, t *Tally) bool {
	if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') && p.keepComposite(rec, clear, prefix, f, raw) {
		return true
	}
	if accepted, decided := acceptsScalar(f.Type, raw); decided {
		// a scalar whose type shows in its first byte: no decoding unless
		// redaction may have something to replace
		if !accepted {
			t.Count(source, safeName(event), f.Path(prefix), ViolationType)
			return false
		}
		rec.Purposes |= f.Purposes
		if f.Personal() {
			if rec.Personal == nil {
				rec.Personal = rec.arena.values(8) // (most events have fewer personal values)
			}
			rec.Personal = append(rec.Personal, Value{Path: f.Path(prefix), JSON: raw, Purposes: f.Purposes})
			return true
		}
		if raw[0] != '"' || !redact.MayContain(raw) {
			clear.add(f.Name, raw)
			return true
		}
	}
	path := f.Path(prefix)
	v, err := decodeValue(raw)
	if err != nil || v == nil || !f.Type.Accepts(v) {
		t.Count(source, safeName(event), path, ViolationType)
		return false
	}
	rec.Purposes |= f.Purposes
	if f.Personal() {
		rec.Personal = append(rec.Personal, Value{Path: path, JSON: compact(raw), Purposes: f.Purposes})
		return true
	}
	r := redactor{t: t, source: source, event: event, path: path}
	if v, changed := r.value(v); changed {
		b, _ := json.Marshal(v)
		clear.add(f.Name, b)
	} else {
		clear.add(f.Name, compact(raw))
	}
	return true
}

// acceptsScalar decides, from its first byte, whether a checked scalar value
// has a type the field accepts: decided is false when the bytes alone do not
// tell (an object or array, a string with escapes, a number for a number or
// integer field) and the value must be decoded.
func acceptsScalar(t inventory.FieldType, raw []byte) (accepted, decided bool) {
	if len(raw) == 0 {
		return false, false
	}
	anyType := t == inventory.TypeAny || t == ""
	switch c := raw[0]; {
	case c == '"':
		if bytes.IndexByte(raw, '\\') >= 0 {
			return false, false
		}
		return anyType || t == inventory.TypeString, true
	case c == 't' || c == 'f':
		return anyType || t == inventory.TypeBoolean, true
	case c == 'n':
		return false, true // null is no value
	case c == '-' || (c >= '0' && c <= '9'):
		if anyType {
			return true, true
		}
		if t == inventory.TypeNumber || t == inventory.TypeInteger {
			return false, false
		}
		return false, true
	}
	return false, false
}

// keepComposite is keep's fast path for an object or an array (already
// valid JSON): its type is its first byte; a personal one is sealed as it
// is; a clear one is kept as it is when its text holds no escape and
// nothing redaction would replace. It returns false when the slow path
// must decide (a type mismatch, an escape, something to redact).
func (p *Pipeline) keepComposite(rec *Record, clear *object, prefix string, f *inventory.Field, raw []byte) bool {
	switch f.Type {
	case inventory.TypeAny, "":
	case inventory.TypeObject:
		if raw[0] != '{' {
			return false
		}
	case inventory.TypeArray:
		if raw[0] != '[' {
			return false
		}
	default:
		return false
	}
	if f.Personal() {
		rec.Purposes |= f.Purposes
		rec.Personal = append(rec.Personal, Value{Path: f.Path(prefix), JSON: compact(raw), Purposes: f.Purposes})
		return true
	}
	if bytes.IndexByte(raw, '\\') >= 0 {
		return false
	}
	if _, c := redact.String(string(raw)); c.Total() > 0 {
		return false // may be a false alarm across values: the exact path decides
	}
	rec.Purposes |= f.Purposes
	clear.add(f.Name, compact(raw))
	return true
}

// context keeps the declared context fields, addressed by dotted paths of at
// most two levels ("ip", "page.url").
func (p *Pipeline) context(rec *Record, ctx Object, source, event string, t *Tally) string {
	clear := object{size: len(ctx) + 1, arena: rec.arena}
	plan := p.inv.Plan.Context
	ix := rec.arena.index()
	it := ix.members(ctx)
	for k, raw, ok := it.next(); ok; k, raw, ok = it.next() {
		f, name := member(plan, k)
		if f != nil {
			p.keep(rec, &clear, "context.", f, raw, source, event, t)
			continue
		}
		if raw[0] != '{' || name == "traits" {
			if name != "traits" {
				t.Count(source, safeName(event), "context."+safeName(name), ViolationUndeclaredField)
			}
			continue
		}
		var buf [64]byte
		sub := ix.members(raw)
		for sk, v, ok := sub.next(); ok; sk, v, ok = sub.next() {
			path := append(append(append(buf[:0], name...), '.'), memberName(sk)...)
			f := plan[string(path)]
			if f == nil {
				t.Count(source, safeName(event), "context."+safeName(string(path)), ViolationUndeclaredField)
				continue
			}
			p.keep(rec, &clear, "context.", f, v, source, event, t)
		}
	}
	return clear.json()
}

// traits keeps the declared traits of an identify call for the profile.
func (p *Pipeline) traits(rec *Record, traits Object, source string, t *Tally) {
	it := traits.members()
	for k, raw, ok := it.next(); ok; k, raw, ok = it.next() {
		f, undeclared := member(p.inv.Plan.Traits, k)
		if f == nil {
			t.Count(source, TypeIdentify, "traits."+safeName(undeclared), ViolationUndeclaredField)
			continue
		}
		name := f.Name
		v, err := decodeValue(raw)
		if err != nil || v == nil || !f.Type.Accepts(v) {
			t.Count(source, TypeIdentify, "traits."+name, ViolationType)
			continue
		}
		tr := Trait{Name: name, Category: f.Category.Key, Purposes: strings.Join(p.inv.PurposeKeys(f.Purposes), ","), Personal: f.Personal(), Set: f.Purposes}
		if tr.Personal {
			tr.JSON = compact(raw)
		} else {
			r := redactor{t: t, source: source, event: TypeIdentify, path: "traits." + name}
			if v, changed := r.value(v); changed {
				tr.JSON, _ = json.Marshal(v)
			} else {
				tr.JSON = compact(raw)
			}
		}
		rec.Purposes |= f.Purposes
		rec.Traits = append(rec.Traits, tr)
	}
}

// identities blind-indexes the message's identifiers, strongest first. Email
// and phone count only when the inventory declares them as traits.
func (p *Pipeline) identities(rec *Record, m *Message) {
	if m.UserID != "" {
		rec.IDs = append(rec.IDs, Identity{IdentityUser, p.index.BlindIndex(IdentityUser, m.UserID)})
	}
	if m.Type == TypeIdentify {
		for _, kind := range [...]string{IdentityEmail, IdentityPhone} {
			if p.inv.Plan.Traits[kind] == nil {
				continue
			}
			raw := m.Traits.get(kind)
			if len(raw) == 0 || raw[0] != '"' {
				continue
			}
			s := unquote(raw)
			if n := Normalise(kind, s, p.country); n != "" {
				rec.IDs = append(rec.IDs, Identity{kind, p.index.BlindIndex(kind, n)})
			}
		}
	}
	if m.AnonymousID != "" {
		rec.IDs = append(rec.IDs, Identity{IdentityAnon, p.index.BlindIndex(IdentityAnon, m.AnonymousID)})
	}
}

// compact returns raw without insignificant white space.
func compact(raw []byte) []byte {
	if isCompact(raw) {
		return raw
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return append([]byte(nil), raw...)
	}
	return buf.Bytes()
}

// safeName makes a client-chosen name fit to be counted and shown: personal
// data redacted, length bounded.
func safeName(s string) string {
	s, _ = redact.String(truncate(s, 64))
	return s
}
