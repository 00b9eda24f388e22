package bundle

import (
	_ "embed"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
)

//go:embed summary.html.tmpl
var summarySource string

// summaryTemplate renders index.html. html/template escapes every value
// the copy holds; the page has no script and loads nothing (its CSP says
// so to a browser that opens it).
var summaryTemplate = template.Must(template.New("summary").Parse(summarySource))

// summary is index.html's content, every text already in the person's
// language.
type summary struct {
	Lang         string
	Title, Intro string
	Contact      string
	Counts       Counts
	Period       string
	Categories   []summaryCategory
	Purposes     []summaryPurpose
	Identities   []summaryIdentity
	Consents     []summaryConsent
	Requests     []summaryRequest
	Recipients   []summaryRecipient
	Accesses     []summaryAccess
}

type summaryCategory struct {
	Name      string
	Sensitive bool
	Amount    string // "1 in your profile, in 3 events"
	Purposes  []string
}

type summaryPurpose struct {
	Name, Description, Basis string
}

type summaryIdentity struct {
	Kind  string
	Count int
	Since string
}

type summaryConsent struct {
	Purpose, Choice, Since, Until string
}

type summaryRequest struct {
	Type, Received, State string
}

type summaryRecipient struct {
	Name    string
	Count   int
	Last    string
	Pending int
}

type summaryAccess struct {
	Actor, Role, Action, Purpose string
	Count, Refused               int
	First, Last                  string
	first, last                  time.Time
}

// T returns the text of key in the page's language.
func (s *summary) T(key string) string { return msg(s.Lang, key) }

// Tf returns the text of key for n things.
func (s *summary) Tf(key string, n int) string { return count(s.Lang, key, n) }

func (b *Builder) writeSummary(c *copyData, w io.Writer) error {
	return summaryTemplate.Execute(w, b.summaryOf(c))
}

func (b *Builder) summaryOf(c *copyData) *summary {
	inv, lang := b.Inventory, c.lang
	org := "Garde"
	if inv != nil && inv.Organisation.Name != "" {
		org = inv.Organisation.Name
	}
	s := &summary{Lang: lang, Title: msg(lang, "title", org), Intro: msg(lang, "intro", org, moment(lang, c.now)),
		Counts: c.counts()}
	if inv != nil && inv.Organisation.DPO.Name != "" {
		if e := inv.Organisation.DPO.Email; e != "" {
			s.Contact = msg(lang, "contact", inv.Organisation.DPO.Name, e)
		} else {
			s.Contact = msg(lang, "contact.noemail", inv.Organisation.DPO.Name)
		}
	}
	if c.events > 0 {
		s.Period = msg(lang, "counts.period", day(lang, c.firstEvent), day(lang, c.lastEvent))
	}
	var used inventory.PurposeSet
	for _, k := range c.held.keys(inv) {
		h := c.held.by[k]
		sc := summaryCategory{Name: categoryName(inv, k, lang)}
		var amount []string
		if h.Traits > 0 {
			amount = append(amount, msg(lang, "held.traits", h.Traits))
		}
		if h.Events > 0 {
			amount = append(amount, count(lang, "held.events", h.Events))
		}
		sc.Amount = strings.Join(amount, ", ")
		if cat := categoryOf(inv, k); cat != nil {
			sc.Sensitive = cat.Sensitivity != inventory.SensitivityOrdinary
		}
		for _, p := range purposesOf(inv, h.Purposes) {
			sc.Purposes = append(sc.Purposes, text(p.Name, lang, p.Key))
		}
		used |= h.Purposes
		s.Categories = append(s.Categories, sc)
	}
	for _, p := range purposesOf(inv, used) {
		s.Purposes = append(s.Purposes, summaryPurpose{Name: text(p.Name, lang, p.Key),
			Description: text(p.Description, lang, ""), Basis: msg(lang, "basis", label(lang, string(p.LegalBasis)))})
	}
	for _, id := range c.identities {
		s.Identities = append(s.Identities, summaryIdentity{Kind: label(lang, id.Kind), Count: id.Count, Since: day(lang, id.Since)})
	}
	s.Consents = currentConsents(c.consents, inv, lang)
	for _, r := range slices.Backward(c.requests) {
		s.Requests = append(s.Requests, summaryRequest{Type: label(lang, r.Type), Received: day(lang, r.Received),
			State: label(lang, r.State)})
	}
	s.Recipients = recipientsOf(c.recipients, lang)
	s.Accesses = accessesOf(c.accesses, inv, lang)
	return s
}

// currentConsents is the last decision per purpose, in inventory order (a
// restriction of every purpose first).
func currentConsents(recs []Consent, inv *inventory.Inventory, lang string) []summaryConsent {
	last := map[string]*Consent{}
	var order []string
	for i := range recs {
		r := &recs[i]
		prev, ok := last[r.Purpose]
		if !ok {
			order = append(order, r.Purpose)
		}
		if !ok || !r.Time.Before(prev.Time) {
			last[r.Purpose] = r
		}
	}
	rank := func(key string) int {
		if key == consent.AllPurposes {
			return -1
		}
		if inv != nil {
			if p := inv.Purpose(key); p != nil {
				return p.Index
			}
		}
		return 1 << 20
	}
	slices.SortStableFunc(order, func(a, b string) int { return rank(a) - rank(b) })
	var out []summaryConsent
	for _, key := range order {
		r := last[key]
		name := key
		if key == consent.AllPurposes {
			name = msg(lang, "all")
		} else if inv != nil {
			if p := inv.Purpose(key); p != nil {
				name = text(p.Name, lang, key)
			}
		}
		out = append(out, summaryConsent{Purpose: name, Choice: label(lang, string(r.Decision)), Since: day(lang, r.Time),
			Until: day(lang, r.Expires)})
	}
	return out
}

func recipientsOf(rs []Recipient, lang string) []summaryRecipient {
	by, last := map[string]*summaryRecipient{}, map[string]time.Time{}
	var out []*summaryRecipient
	for _, r := range rs {
		name := r.Name
		if r.Kind == RecipientTopic {
			name = label(lang, r.Name)
		}
		key := r.Kind + "\x00" + r.Name
		x := by[key]
		if x == nil {
			x = &summaryRecipient{Name: name}
			by[key] = x
			out = append(out, x)
		}
		x.Count++
		if r.Delivered.IsZero() {
			x.Pending++
		}
		if r.Time.After(last[key]) {
			last[key] = r.Time
			x.Last = day(lang, r.Time)
		}
	}
	res := make([]summaryRecipient, len(out))
	for i, x := range out {
		res[i] = *x
	}
	return res
}

// accessesOf groups audit entries by who, role, what and purpose, most
// recent group first.
func accessesOf(as []Access, inv *inventory.Inventory, lang string) []summaryAccess {
	by := map[[4]string]*summaryAccess{}
	var out []*summaryAccess
	for _, a := range as {
		key := [4]string{a.Actor, a.Role, a.Action, a.Purpose}
		x := by[key]
		if x == nil {
			x = &summaryAccess{Actor: actor(lang, a.Actor), Role: a.Role, Action: label(lang, a.Action), Purpose: a.Purpose,
				first: a.Time}
			if inv != nil {
				if p := inv.Purpose(a.Purpose); p != nil {
					x.Purpose = text(p.Name, lang, a.Purpose)
				}
				if r := inv.Role(a.Role); r != nil {
					x.Role = text(r.Name, lang, a.Role)
				}
			}
			by[key] = x
			out = append(out, x)
		}
		x.Count++
		if a.Outcome == audit.OutcomeRefused {
			x.Refused++
		}
		x.first, x.last = minTime(x.first, a.Time), maxTime(x.last, a.Time)
	}
	slices.SortStableFunc(out, func(a, b *summaryAccess) int { return b.last.Compare(a.last) })
	res := make([]summaryAccess, len(out))
	for i, x := range out {
		x.First, x.Last = moment(lang, x.first), moment(lang, x.last)
		res[i] = *x
	}
	return res
}

func (b *Builder) writeReadme(c *copyData, w io.Writer) error {
	text := msg(c.lang, "readme")
	text = strings.ReplaceAll(text, "{{generated}}", moment(c.lang, c.now))
	text = strings.ReplaceAll(text, "{{subject}}", string(c.subject.ID))
	_, err := io.WriteString(w, strings.ReplaceAll(text, "\n", "\r\n"))
	return err
}
