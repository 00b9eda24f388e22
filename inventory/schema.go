package inventory

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/garde-privacy/garde"
)

var (
	purposeKeyRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	categoryKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	countryRE     = regexp.MustCompile(`^[A-Z]{2}$`)
)

// minWriteKey is the shortest write key accepted.
const minWriteKey = 8

// Sites remember where a declaration was written, for the lints.
type (
	categorySite struct {
		c    *Category
		path string
		node *yaml.Node
	}
	purposeSite struct {
		p                     *Purpose
		path                  string
		node, basis, explicit *yaml.Node
		retention             bool
	}
)

// inventory decodes the document root. Sections are decoded in dependency
// order, whatever their order in the file: categories and purposes before
// the tracking plan that refers to them.
func (d *decoder) inventory(root *yaml.Node) *Inventory {
	inv := &Inventory{
		categories: map[string]*Category{},
		purposes:   map[string]*Purpose{},
		writeKeys:  map[string]*Source{},
	}
	top := d.object(root, "", "version", "organisation", "categories", "purposes", "sources", "tracking_plan", "consent", "roles", "banner")
	if top.node == nil {
		return inv
	}
	if v, ok := top.integer("version", true); ok {
		inv.Version = v
		if v != 1 {
			d.errorf(top.at("version"), "version", "unsupported-version", "version %d is not supported: want 1", v)
		}
	}
	d.organisation(inv, top)
	d.consentSection(inv, top)
	d.categoryList(inv, top)
	d.purposeList(inv, top)
	d.sourceList(inv, top)
	d.plan(inv, top.get("tracking_plan", true))
	d.roleList(inv, top)
	d.bannerSection(inv, top)
	return inv
}

func (d *decoder) organisation(inv *Inventory, top object) {
	o := d.object(top.get("organisation", true), "organisation", "name", "country", "dpo")
	d.org = o.node
	inv.Organisation.Name = strings.TrimSpace(o.str("name", true))
	if c := o.str("country", true); c != "" {
		inv.Organisation.Country = c
		if !countryRE.MatchString(c) {
			d.errorf(o.at("country"), "organisation.country", "invalid-value", "country %q: want an ISO 3166-1 alpha-2 code such as FR", garde.Truncate(c, 20))
		}
	}
	dpo := d.object(o.get("dpo", false), "organisation.dpo", "name", "email")
	if dpo.node == nil {
		return
	}
	d.dpo = true
	inv.Organisation.DPO = Contact{Name: strings.TrimSpace(dpo.str("name", true)), Email: strings.TrimSpace(dpo.str("email", true))}
	if e := inv.Organisation.DPO.Email; e != "" && !plausibleEmail(e) {
		d.errorf(dpo.at("email"), "organisation.dpo.email", "invalid-value", "not an email address")
	}
}

// plausibleEmail checks the shape only: one @, something on both sides, a
// dot in the domain, no spaces.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t\r\n") && !strings.Contains(domain, "@")
}

// itemKey peeks at the key of a list item, to name it in paths. It reports
// nothing: the item's own decoding does.
func (d *decoder) itemKey(n *yaml.Node) string {
	n = d.resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Kind == yaml.ScalarNode && k.Value == "key" {
			if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				return garde.Truncate(v.Value, 80)
			}
			return ""
		}
	}
	return ""
}

func (d *decoder) categoryList(inv *Inventory, top object) {
	for i, n := range top.list("categories", true) {
		path := item("categories", d.itemKey(n), i)
		o := d.object(n, path, "key", "sensitivity", "personal", "description")
		key := o.str("key", false)
		if key == "" {
			o.get("key", true)
			continue
		}
		if !categoryKeyRE.MatchString(key) {
			d.errorf(o.at("key"), path, "key-syntax", "category key %q: want dotted lower-case words such as user.contact.email", garde.Truncate(key, 80))
		}
		if inv.categories[key] != nil {
			d.errorf(o.at("key"), path, "duplicate-category", "category %s is declared twice", key)
			continue
		}
		c := &Category{Key: key, Personal: o.boolean("personal", true), Description: o.text("description", false)}
		c.Sensitivity = Sensitivity(o.str("sensitivity", true))
		switch c.Sensitivity {
		case "":
		case SensitivityOrdinary:
		case SensitivitySpecial, SensitivityChild, SensitivityPreciseLocation, SensitivityFinancial:
			if !c.Personal {
				d.errorf(o.at("personal"), join(path, "personal"), "sensitive-not-personal", "a %s category is personal data: remove personal: false", c.Sensitivity)
			}
		default:
			d.errorf(o.at("sensitivity"), join(path, "sensitivity"), "invalid-value", "sensitivity %q: want ordinary, special, child, precise_location or financial", garde.Truncate(string(c.Sensitivity), 40))
		}
		inv.categories[key] = c
		inv.Categories = append(inv.Categories, c)
		d.categories = append(d.categories, categorySite{c: c, path: path, node: o.node})
	}
}

func (d *decoder) purposeList(inv *Inventory, top object) {
	for i, n := range top.list("purposes", true) {
		path := item("purposes", d.itemKey(n), i)
		o := d.object(n, path, "key", "name", "description", "legal_basis", "explicit_consent", "direct_marketing", "targeted_advertising", "retention",
			"consent", "sale_or_sharing", "tcf")
		key := o.str("key", false)
		if key == "" {
			o.get("key", true)
			continue
		}
		if !purposeKeyRE.MatchString(key) {
			d.errorf(o.at("key"), path, "key-syntax", "purpose key %q: want lower-case letters, digits and _ such as email_marketing", garde.Truncate(key, 80))
		}
		if inv.purposes[key] != nil {
			d.errorf(o.at("key"), path, "duplicate-purpose", "purpose %s is declared twice", key)
			continue
		}
		p := &Purpose{
			Key:                 key,
			Index:               len(inv.Purposes),
			Name:                o.text("name", true),
			Description:         o.text("description", true),
			LegalBasis:          LegalBasis(o.str("legal_basis", true)),
			ExplicitConsent:     o.boolean("explicit_consent", false),
			DirectMarketing:     o.boolean("direct_marketing", false),
			TargetedAdvertising: o.boolean("targeted_advertising", false),
		}
		switch p.LegalBasis {
		case "", Consent, Contract, LegalObligation, VitalInterests, PublicTask, LegitimateInterests:
		default:
			d.errorf(o.at("legal_basis"), join(path, "legal_basis"), "invalid-value",
				"legal basis %q: want consent, contract, legal_obligation, vital_interests, public_task or legitimate_interests", garde.Truncate(string(p.LegalBasis), 40))
		}
		if p.Index == MaxPurposes {
			d.errorf(o.node, path, "too-many-purposes", "more than %d purposes: a purpose set holds at most %d", MaxPurposes, MaxPurposes)
		}
		d.purposeConsent(p, o)
		site := purposeSite{p: p, path: path, node: o.node, basis: o.at("legal_basis"), explicit: o.at("explicit_consent")}
		if rn := o.get("retention", false); rn != nil {
			site.retention = true
			p.Retention = d.retention(rn, join(path, "retention"))
		}
		inv.purposes[key] = p
		inv.Purposes = append(inv.Purposes, p)
		d.purposes = append(d.purposes, site)
	}
}

// retention decodes {period, from, then}. from defaults to collection and
// then to delete: the shortest and the strictest choice.
func (d *decoder) retention(n *yaml.Node, path string) Retention {
	o := d.object(n, path, "period", "from", "then")
	r := Retention{From: FromCollection, Then: ThenDelete}
	if s := o.str("period", true); s != "" {
		p, err := ParsePeriod(s)
		switch {
		case err != nil:
			d.errorf(o.at("period"), join(path, "period"), "invalid-period", "%v", err)
		case p.IsZero():
			d.errorf(o.at("period"), join(path, "period"), "invalid-period", "a retention period must be longer than zero")
		}
		r.Period = p
	}
	if s := o.str("from", false); s != "" {
		r.From = s
		if s != FromCollection && s != FromLastContact && s != FromContractEnd {
			d.errorf(o.at("from"), join(path, "from"), "invalid-value", "from %q: want collection, last_contact or contract_end", garde.Truncate(s, 40))
		}
	}
	if s := o.str("then", false); s != "" {
		r.Then = s
		if s != ThenDelete && s != ThenAnonymise {
			d.errorf(o.at("then"), join(path, "then"), "invalid-value", "then %q: want delete or anonymise", garde.Truncate(s, 40))
		}
	}
	return r
}

func (d *decoder) sourceList(inv *Inventory, top object) {
	d.sources = top.get("sources", false)
	keys := map[string]bool{}
	for i, n := range top.list("sources", true) {
		path := item("sources", d.itemKey(n), i)
		o := d.object(n, path, "key", "channel", "write_key", "origins")
		key := o.str("key", false)
		if key == "" {
			o.get("key", true)
			continue
		}
		if !purposeKeyRE.MatchString(key) {
			d.errorf(o.at("key"), path, "key-syntax", "source key %q: want lower-case letters, digits and _ such as web", garde.Truncate(key, 80))
			continue
		}
		if keys[key] {
			d.errorf(o.at("key"), path, "duplicate-source", "source %s is declared twice", key)
			continue
		}
		keys[key] = true
		s := &Source{Key: key, Channel: Channel(o.str("channel", true)), WriteKey: o.str("write_key", true)}
		if s.Channel != "" && !slices.Contains(Channels(), s.Channel) {
			d.errorf(o.at("channel"), join(path, "channel"), "invalid-value", "channel %q: want one of %s", garde.Truncate(string(s.Channel), 40), strings.Join(channelNames(), ", "))
		}
		d.writeKey(inv, s, o.at("write_key"), join(path, "write_key"))
		origins, nodes := o.strs("origins")
		for j, origin := range origins {
			if err := checkOrigin(origin); err != nil {
				d.errorf(nodes[j], item(join(path, "origins"), "", j), "invalid-origin", "%v", err)
			}
		}
		s.Origins = origins
		inv.Sources = append(inv.Sources, s)
	}
}

// writeKey checks a source's write key and indexes it. Messages never
// repeat the key: it is a secret.
func (d *decoder) writeKey(inv *Inventory, s *Source, at *yaml.Node, path string) {
	k := s.WriteKey
	switch {
	case k == "":
		return
	case len(k) < minWriteKey:
		d.errorf(at, path, "write-key-syntax", "a write key needs at least %d characters", minWriteKey)
	case strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
		d.errorf(at, path, "write-key-syntax", "a write key is printable ASCII without spaces")
	}
	if other := inv.writeKeys[k]; other != nil {
		d.errorf(at, path, "duplicate-write-key", "source %s uses the same write key as source %s", s.Key, other.Key)
		return
	}
	inv.writeKeys[k] = s
}

func channelNames() []string {
	names := make([]string, 0, 7)
	for _, c := range Channels() {
		names = append(names, string(c))
	}
	return names
}

// checkOrigin accepts a browser origin as sent in the Origin header:
// scheme, host and optional port, nothing else.
func checkOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" || u.ForceQuery ||
		s != strings.ToLower(u.Scheme)+"://"+strings.ToLower(u.Host) {
		return fmt.Errorf("origin %q: want scheme://host[:port] in lower case, such as https://shop.example", garde.Truncate(s, 80))
	}
	return nil
}
