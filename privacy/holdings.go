package privacy

import (
	"github.com/garde-privacy/garde/inventory"
)

// holdings is what Garde holds and why, from the inventory, in one
// language: the page's "what we hold" section.
type holdings struct {
	Organisation string
	DPOName      string
	DPOEmail     string
	Categories   []heldCategory
	Purposes     []heldPurpose
}

// heldCategory is one kind of data and the purposes that use it.
type heldCategory struct {
	Key         string
	Name        string
	Sensitivity string // inventory.Sensitivity; the template translates it
	Personal    bool
	Purposes    []purposeRef
}

type purposeRef struct {
	Anchor string
	Name   string
}

// heldPurpose is one use of data: why, on what legal basis, for how long,
// and which kinds of data it uses.
type heldPurpose struct {
	Anchor          string
	Name            string
	Description     string
	LegalBasis      string // inventory.LegalBasis; the template translates it
	ExplicitConsent bool
	DirectMarketing bool
	SaleOrSharing   bool
	Period          string // in the language, "" when none is declared
	From            string // inventory.From…
	Then            string // inventory.Then…
	Categories      []string
}

// holdingsOf reads the inventory: each category (in file order) with the
// purposes that the declared fields of that category serve, and each
// purpose with its categories.
func holdingsOf(inv *inventory.Inventory, lang string) holdings {
	h := holdings{}
	if inv == nil {
		return h
	}
	h.Organisation = inv.Organisation.Name
	h.DPOName, h.DPOEmail = inv.Organisation.DPO.Name, inv.Organisation.DPO.Email
	uses := usesByCategory(inv)
	for _, cat := range inv.Categories {
		hc := heldCategory{Key: cat.Key, Name: inLang(cat.Description, lang), Sensitivity: string(cat.Sensitivity),
			Personal: cat.Personal}
		if hc.Name == "" {
			hc.Name = cat.Key
		}
		for i, p := range inv.Purposes {
			if uses[cat.Key].Has(i) {
				hc.Purposes = append(hc.Purposes, purposeRef{Anchor: anchor(p.Key), Name: purposeName(p, lang)})
			}
		}
		h.Categories = append(h.Categories, hc)
	}
	for i, p := range inv.Purposes {
		hp := heldPurpose{Anchor: anchor(p.Key), Name: purposeName(p, lang), Description: inLang(p.Description, lang),
			LegalBasis: string(p.LegalBasis), ExplicitConsent: p.ExplicitConsent && p.LegalBasis == inventory.Consent,
			DirectMarketing: p.DirectMarketing, SaleOrSharing: p.SaleOrSharing,
			From: p.Retention.From, Then: p.Retention.Then}
		if !p.Retention.Period.IsZero() {
			hp.Period = period(p.Retention.Period, lang)
		}
		for _, cat := range inv.Categories {
			if uses[cat.Key].Has(i) {
				name := inLang(cat.Description, lang)
				if name == "" {
					name = cat.Key
				}
				hp.Categories = append(hp.Categories, name)
			}
		}
		h.Purposes = append(h.Purposes, hp)
	}
	return h
}

// usesByCategory returns, per category key, the purposes its declared
// fields serve.
func usesByCategory(inv *inventory.Inventory) map[string]inventory.PurposeSet {
	uses := map[string]inventory.PurposeSet{}
	add := func(fs map[string]*inventory.Field) {
		for _, f := range fs {
			if f.Category != nil {
				uses[f.Category.Key] |= f.Purposes
			}
		}
	}
	add(inv.Plan.Context)
	add(inv.Plan.Traits)
	add(inv.Plan.GroupTraits)
	if inv.Plan.Page != nil {
		add(inv.Plan.Page.Properties)
	}
	for _, e := range inv.Plan.Events {
		add(e.Properties)
	}
	return uses
}

func purposeName(p *inventory.Purpose, lang string) string {
	if n := inLang(p.Name, lang); n != "" {
		return n
	}
	return p.Key
}

// anchor is the fragment id of a purpose on the page.
func anchor(key string) string {
	b := []byte("purpose-")
	for _, c := range []byte(key) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b = append(b, c)
		default:
			b = append(b, '-')
		}
	}
	return string(b)
}
