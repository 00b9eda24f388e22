package bundle

import (
	"context"
	"encoding/hex"
	stdjson "encoding/json"
	"io"
	"strconv"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
	"github.com/garde-privacy/garde/rights"
)

// Trait is one stored profile trait, opened. A person merged from several
// subjects (an anonymous visitor who signed in) may have the same trait
// twice: every value held is in the copy.
type Trait struct {
	Name      string          `json:"name"`
	Category  string          `json:"category"`
	Purposes  []string        `json:"purposes"`
	Value     json.RawMessage `json:"value"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

// Consent is one consent-ledger record with its chain hashes (hex): the
// record is the proof of the decision. Receipts, signed when the decision
// was made, are handed to the person then and not kept; each receipt
// names its records' ids and hashes, so it matches these.
type Consent struct {
	consent.Record
	Hash string `json:"hash"`
	Prev string `json:"prev"`
}

// Request is one of the person's data-subject requests.
type Request struct {
	ID              string    `json:"id"`
	Type            string    `json:"type"`
	Jurisdiction    string    `json:"jurisdiction"`
	State           string    `json:"state"`
	Received        time.Time `json:"received"`
	Verified        time.Time `json:"verified,omitzero"`
	DueBy           time.Time `json:"dueBy,omitzero"`
	Extended        bool      `json:"extended,omitempty"`
	ExtendedDueBy   time.Time `json:"extendedDueBy,omitzero"`
	ExtensionReason string    `json:"extensionReason,omitempty"`
	RefusalReason   string    `json:"refusalReason,omitempty"`
	History         []Step    `json:"history"`
}

// Step is one step of a request's history.
type Step struct {
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Access is one audited act on the person's data: who (an operator id, an
// API key, a source, "system"), with which role, when, what, for which
// purpose, on which categories, and whether it was allowed. The other
// people an entry names, the caller's network address and the entry's
// detail are not disclosed.
type Access struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Role       string    `json:"role,omitempty"`
	Action     string    `json:"action"`
	Purpose    string    `json:"purpose,omitempty"`
	Categories []string  `json:"categories,omitempty"`
	Outcome    string    `json:"outcome"`
}

// copyData is what a copy holds besides the events, and what counting the
// events found.
type copyData struct {
	lang       string
	now        time.Time
	subject    *profile.Subject
	all        []garde.SubjectID // the canonical subject and its members
	traits     []Trait
	identities []Identity
	consents   []Consent
	requests   []Request
	recipients []Recipient
	accesses   []Access
	held       *holdings

	events                int
	firstEvent, lastEvent time.Time
}

// collect reads everything but the events.
func (b *Builder) collect(ctx context.Context, c *copyData) error {
	if err := b.collectTraits(ctx, c); err != nil {
		return err
	}
	var err error
	if c.identities, err = b.Source.FindIdentities(ctx, c.all); err != nil {
		return err
	}
	c.consents = []Consent{}
	err = b.Source.FindConsent(ctx, consent.Filter{Subjects: c.all}, func(r *consent.Record) error {
		c.consents = append(c.consents, Consent{Record: *r, Hash: hex.EncodeToString(r.Hash), Prev: hex.EncodeToString(r.Prev)})
		return nil
	})
	if err != nil {
		return err
	}
	c.requests = []Request{}
	seen := map[string]bool{}
	for _, s := range c.all {
		rs, err := b.Source.FindRequests(ctx, rights.Filter{Subject: s})
		if err != nil {
			return err
		}
		for _, r := range rs {
			if !seen[r.ID] {
				seen[r.ID] = true
				c.requests = append(c.requests, requestOf(r))
			}
		}
	}
	sortByTime(c.requests, func(r Request) time.Time { return r.Received })
	if c.recipients, err = b.Source.FindRecipients(ctx, c.all); err != nil {
		return err
	}
	c.accesses = []Access{}
	return b.Source.FindAccesses(ctx, c.all, func(e *audit.Entry) error {
		c.accesses = append(c.accesses, Access{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Role: e.Role, Action: e.Action,
			Purpose: e.Purpose, Categories: e.Categories, Outcome: e.Outcome})
		return nil
	})
}

// collectTraits reads and opens every stored trait of the person.
func (b *Builder) collectTraits(ctx context.Context, c *copyData) error {
	stored, err := b.Profiles.Store.FindTraits(ctx, c.all)
	if err != nil {
		return err
	}
	o := newOpener(nil, b.Inventory, c.held)
	c.traits = make([]Trait, 0, len(stored))
	for _, t := range stored {
		raw := t.Value
		if t.Sealed {
			if raw, err = b.Profiles.Opener.Open(ctx, t.Subject, "traits."+t.Name, t.Value); err != nil {
				return err
			}
		}
		if !stdjson.Valid(raw) {
			return garde.Errorf(garde.EInternal, "a stored trait is corrupt")
		}
		category := t.Category
		if category == "" {
			category = Undeclared
		}
		c.traits = append(c.traits, Trait{Name: t.Name, Category: category, Purposes: o.purposeKeys(t.Purposes),
			Value: raw, UpdatedAt: t.UpdatedAt})
		c.held.add(category, o.purposeSet(t.Purposes))
		c.held.get(category).Traits++
	}
	return nil
}

func requestOf(r rights.Request) Request {
	out := Request{ID: r.ID, Type: string(r.Type), Jurisdiction: string(r.Jurisdiction), State: string(r.State),
		Received: r.Received, Verified: r.Verified, DueBy: r.DueBy, Extended: r.Extended,
		ExtensionReason: r.ExtensionReason, RefusalReason: r.RefusalReason, History: []Step{}}
	if r.Extended {
		out.ExtendedDueBy = r.ExtendedDueBy
	}
	for _, h := range r.History {
		out.History = append(out.History, Step{From: string(h.From), To: string(h.To), At: h.At, Reason: h.Reason})
	}
	return out
}

func (c *copyData) counts() Counts {
	n := Counts{Traits: len(c.traits), Events: c.events, Consents: len(c.consents), Requests: len(c.requests),
		Recipients: len(c.recipients), Accesses: len(c.accesses)}
	for _, id := range c.identities {
		n.Identities += id.Count
	}
	return n
}

// The parts of data.json.
type (
	dataHead struct {
		Format     string      `json:"format"`
		Generated  time.Time   `json:"generatedAt"`
		Language   string      `json:"language"`
		Controller controller  `json:"controller"`
		Subject    subjectInfo `json:"subject"`
		Notes      []string    `json:"notes"`
		Profile    []Trait     `json:"profile"`
		Identities []Identity  `json:"identities"`
		Consents   []Consent   `json:"consents"`
		Requests   []Request   `json:"requests"`
		Recipients []Recipient `json:"recipients"`
		Accesses   []Access    `json:"accesses"`
	}
	controller struct {
		Name     string `json:"name"`
		DPO      string `json:"dpo,omitempty"`
		DPOEmail string `json:"dpoEmail,omitempty"`
	}
	subjectInfo struct {
		ID         garde.SubjectID   `json:"id"`
		Merged     []garde.SubjectID `json:"merged"`
		Identified bool              `json:"identified"`
		CreatedAt  time.Time         `json:"createdAt"`
		LastSeenAt time.Time         `json:"lastSeenAt"`
	}
	dataTail struct {
		Counts     Counts         `json:"counts"`
		Categories []categoryInfo `json:"categories"`
	}
	categoryInfo struct {
		Key         string        `json:"key"`
		Description string        `json:"description"`
		Sensitivity string        `json:"sensitivity,omitempty"`
		Traits      int           `json:"traits"`
		Events      int           `json:"events"`
		Purposes    []purposeInfo `json:"purposes"`
	}
	purposeInfo struct {
		Key         string `json:"key"`
		Name        string `json:"name"`
		Description string `json:"description"`
		LegalBasis  string `json:"legalBasis"`
	}
)

func (c *copyData) head(inv *inventory.Inventory) dataHead {
	h := dataHead{Format: Format, Generated: c.now, Language: c.lang,
		Subject: subjectInfo{ID: c.subject.ID, Merged: c.subject.Members, Identified: c.subject.Identified,
			CreatedAt: c.subject.CreatedAt, LastSeenAt: c.subject.LastSeenAt},
		Notes:   []string{msg(c.lang, "note.identities"), msg(c.lang, "note.receipts"), msg(c.lang, "note.bulk")},
		Profile: c.traits, Identities: nonNil(c.identities), Consents: c.consents, Requests: c.requests,
		Recipients: nonNil(c.recipients), Accesses: c.accesses}
	if h.Subject.Merged == nil {
		h.Subject.Merged = []garde.SubjectID{}
	}
	if inv != nil {
		h.Controller = controller{Name: inv.Organisation.Name, DPO: inv.Organisation.DPO.Name, DPOEmail: inv.Organisation.DPO.Email}
	}
	return h
}

func (c *copyData) tail(inv *inventory.Inventory) dataTail {
	t := dataTail{Counts: c.counts(), Categories: []categoryInfo{}}
	for _, k := range c.held.keys(inv) {
		h := c.held.by[k]
		ci := categoryInfo{Key: k, Description: categoryName(inv, k, c.lang), Traits: h.Traits, Events: h.Events,
			Purposes: []purposeInfo{}}
		if cat := categoryOf(inv, k); cat != nil {
			ci.Sensitivity = string(cat.Sensitivity)
		}
		for _, p := range purposesOf(inv, h.Purposes) {
			ci.Purposes = append(ci.Purposes, purposeInfo{Key: p.Key, Name: text(p.Name, c.lang, p.Key),
				Description: text(p.Description, c.lang, ""), LegalBasis: string(p.LegalBasis)})
		}
		t.Categories = append(t.Categories, ci)
	}
	return t
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// The CSV files.

func (c *copyData) profileCSV(w io.Writer) error {
	t, err := newTable(w, "trait", "category", "purposes", "value")
	if err != nil {
		return err
	}
	for _, tr := range c.traits {
		if err := t.write(tr.Name, tr.Category, joinKeys(tr.Purposes), cellValue(tr.Value)); err != nil {
			return err
		}
	}
	return t.close()
}

func (c *copyData) identitiesCSV(w io.Writer) error {
	t, err := newTable(w, "kind", "count", "since")
	if err != nil {
		return err
	}
	for _, id := range c.identities {
		if err := t.write(id.Kind, strconv.Itoa(id.Count), stamp(id.Since)); err != nil {
			return err
		}
	}
	return t.close()
}

func (c *copyData) consentsCSV(w io.Writer) error {
	t, err := newTable(w, "seq", "id", "time", "purpose", "decision", "legal_basis", "explicit", "expires", "source",
		"notice_version", "notice_language", "notice_hash", "country", "region", "age_status", "guardian", "gpc",
		"collector", "receipt_id", "hash", "prev")
	if err != nil {
		return err
	}
	for _, r := range c.consents {
		err := t.write(itoa(r.Seq), r.ID, stamp(r.Time), r.Purpose, string(r.Decision), r.LegalBasis,
			strconv.FormatBool(r.Explicit), stamp(r.Expires), r.Source, strconv.Itoa(r.Notice.Version), r.Notice.Language,
			r.Notice.Hash, r.Country, r.Region, r.Age.Status, r.Guardian, strconv.FormatBool(r.Signals.GPC), r.Collector,
			r.ReceiptID, r.Hash, r.Prev)
		if err != nil {
			return err
		}
	}
	return t.close()
}

func (c *copyData) requestsCSV(w io.Writer) error {
	t, err := newTable(w, "id", "type", "jurisdiction", "state", "received", "verified", "due_by", "extended",
		"extended_due_by", "extension_reason", "refusal_reason")
	if err != nil {
		return err
	}
	for _, r := range c.requests {
		err := t.write(r.ID, r.Type, r.Jurisdiction, r.State, stamp(r.Received), stamp(r.Verified), stamp(r.DueBy),
			strconv.FormatBool(r.Extended), stamp(r.ExtendedDueBy), r.ExtensionReason, r.RefusalReason)
		if err != nil {
			return err
		}
	}
	return t.close()
}

func (c *copyData) accessesCSV(w io.Writer) error {
	t, err := newTable(w, "seq", "time", "actor", "role", "action", "purpose", "categories", "outcome")
	if err != nil {
		return err
	}
	for _, a := range c.accesses {
		if err := t.write(itoa(a.Seq), stamp(a.Time), a.Actor, a.Role, a.Action, a.Purpose, joinKeys(a.Categories), a.Outcome); err != nil {
			return err
		}
	}
	return t.close()
}

func (c *copyData) recipientsCSV(w io.Writer) error {
	t, err := newTable(w, "kind", "name", "purpose", "time", "delivered")
	if err != nil {
		return err
	}
	for _, r := range c.recipients {
		if err := t.write(r.Kind, r.Name, r.Purpose, stamp(r.Time), stamp(r.Delivered)); err != nil {
			return err
		}
	}
	return t.close()
}

// cellValue shows a JSON value in a cell: a string as itself, anything
// else as JSON.
func cellValue(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// stamp writes a time in a cell (RFC 3339, UTC; "" for none).
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
