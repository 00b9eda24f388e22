package bundle

import (
	"context"
	"errors"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
)

// Undeclared is the category of values the inventory no longer declares
// (as in rights.Undeclared).
const Undeclared = "undeclared"

// Event is an event in the copy, opened: its personal values are back
// where they were sent (properties, context), as in profile.Event.
type Event struct {
	ID         int64           `json:"id"`
	Type       string          `json:"type"`
	Name       string          `json:"name,omitempty"`
	Source     string          `json:"source"`
	MessageID  string          `json:"messageId"`
	Timestamp  time.Time       `json:"timestamp"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Purposes   []string        `json:"purposes"`
	Properties json.RawMessage `json:"properties"`
	Context    json.RawMessage `json:"context"`
}

// opener opens stored events one at a time and tallies, per category, the
// events that hold a value of it and the purposes they were kept for.
type opener struct {
	open     profile.Opener
	inv      *inventory.Inventory
	held     *holdings
	purposes map[string]inventory.PurposeSet // stored purpose lists, parsed once each
	keys     map[string][]string
	seen     map[string]bool // categories of the current event
}

func newOpener(o profile.Opener, inv *inventory.Inventory, held *holdings) *opener {
	return &opener{open: o, inv: inv, held: held, purposes: map[string]inventory.PurposeSet{},
		keys: map[string][]string{}, seen: map[string]bool{}}
}

// corrupt is the error of a stored event that does not decode.
func corrupt(err error) error { return garde.Wrap(garde.EInternal, err, "a stored event is corrupt") }

// event opens se into e (whose fields it overwrites).
func (o *opener) event(ctx context.Context, se *profile.StoredEvent, e *Event) error {
	*e = Event{ID: se.ID, Type: se.Type, Name: se.Name, Source: se.Source, MessageID: se.MessageID,
		Timestamp: se.Time, ReceivedAt: se.Received, Purposes: o.purposeKeys(se.Purposes)}
	var props, cx map[string]json.RawMessage
	if err := decodeObject(se.Properties, &props); err != nil {
		return corrupt(err)
	}
	if err := decodeObject(se.Context, &cx); err != nil {
		return corrupt(err)
	}
	err := o.open.OpenFields(ctx, se.Subject, se.Sealed, func(path string, plain []byte) error {
		// plain is JSON (the writer sealed it so); encoding the
		// object below checks it
		// where it was sent: "properties.email", "traits.name" (group
		// traits are stored as properties), "context.ip"
		if k, ok := strings.CutPrefix(path, "properties."); ok {
			props[k] = plain
		} else if k, ok := strings.CutPrefix(path, "traits."); ok {
			props[k] = plain
		} else if k, ok := strings.CutPrefix(path, "context."); ok {
			cx[k] = plain
		}
		return nil
	})
	if errors.Is(err, garde.ErrSealedFields) {
		return corrupt(err)
	}
	if err != nil {
		return err
	}
	if e.Properties, err = marshal(props); err != nil {
		return corrupt(err)
	}
	if e.Context, err = marshal(cx); err != nil {
		return corrupt(err)
	}
	o.tally(se, props, cx)
	return nil
}

// decodeObject decodes a stored JSON object; empty is an empty object.
func decodeObject(b []byte, m *map[string]json.RawMessage) error {
	*m = map[string]json.RawMessage{}
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, m)
}

// purposeKeys splits a stored purpose list ("service,analytics").
func (o *opener) purposeKeys(stored string) []string {
	if keys, ok := o.keys[stored]; ok {
		return keys
	}
	keys := []string{}
	for k := range strings.SplitSeq(stored, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	o.keys[stored] = keys
	return keys
}

// purposeSet is the set of a stored purpose list's purposes that the
// inventory still declares.
func (o *opener) purposeSet(stored string) inventory.PurposeSet {
	if s, ok := o.purposes[stored]; ok {
		return s
	}
	var s inventory.PurposeSet
	if o.inv != nil {
		for _, k := range o.purposeKeys(stored) {
			if p := o.inv.Purpose(k); p != nil {
				s = s.With(p.Index)
			}
		}
	}
	o.purposes[stored] = s
	return s
}

// tally counts the event once under each category it holds a value of,
// with the purposes of those values it was kept for.
func (o *opener) tally(se *profile.StoredEvent, props, cx map[string]json.RawMessage) {
	clear(o.seen)
	kept := o.purposeSet(se.Purposes)
	var plan inventory.Plan
	var fields map[string]*inventory.Field
	if o.inv != nil {
		plan = o.inv.Plan
		switch se.Type {
		case "track":
			if spec := plan.Events[se.Name]; spec != nil {
				fields = spec.Properties
			}
		case "page", "screen":
			if plan.Page != nil {
				fields = plan.Page.Properties
			}
		case "group":
			fields = plan.GroupTraits
		}
	}
	add := func(f *inventory.Field) {
		if f == nil || f.Category == nil {
			o.seen[Undeclared] = true
			o.held.add(Undeclared, 0)
			return
		}
		o.seen[f.Category.Key] = true
		p := f.Purposes & kept
		if p.Empty() {
			p = f.Purposes
		}
		o.held.add(f.Category.Key, p)
	}
	for k := range props {
		add(fields[k])
	}
	for k := range cx {
		add(plan.Context[k])
	}
	for c := range o.seen {
		o.held.get(c).Events++
	}
}

// eventMeta is an Event but its properties and context.
type eventMeta struct {
	ID         int64     `json:"id"`
	Type       string    `json:"type"`
	Name       string    `json:"name,omitempty"`
	Source     string    `json:"source"`
	MessageID  string    `json:"messageId"`
	Timestamp  time.Time `json:"timestamp"`
	ReceivedAt time.Time `json:"receivedAt"`
	Purposes   []string  `json:"purposes"`
}

// appendJSON appends e as JSON to dst: the encoding of json.Marshal(e),
// without encoding its properties and context, already JSON, once more.
func (e *Event) appendJSON(dst []byte) ([]byte, error) {
	meta, err := marshal(eventMeta{ID: e.ID, Type: e.Type, Name: e.Name, Source: e.Source, MessageID: e.MessageID,
		Timestamp: e.Timestamp, ReceivedAt: e.ReceivedAt, Purposes: e.Purposes})
	if err != nil {
		return dst, err
	}
	dst = append(dst, meta[:len(meta)-1]...)
	dst = append(append(dst, `,"properties":`...), e.Properties...)
	dst = append(append(dst, `,"context":`...), e.Context...)
	return append(dst, '}'), nil
}

// marshal encodes v as compact JSON, leaving <, > and & as they are (the
// copy is a file, not HTML).
func marshal(v any) ([]byte, error) { return json.MarshalWithOption(v, json.DisableHTMLEscape()) }
