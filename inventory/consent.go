package inventory

import (
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/garde-privacy/garde"
)

// ConsentRules are the inventory's consent settings: how long a choice
// lives, when a refusal may be asked again, and the ages under which a
// person cannot consent alone. Every figure has a default from the
// regulators (see REFERENCE.md); the file may override each one.
type ConsentRules struct {
	// Expiry is how long a consent lives unless its purpose says otherwise
	// (CNIL: trackers at most 13 months).
	Expiry Period
	// RefusalDelay is how long a refusal is kept before asking again
	// (CNIL: about 6 months).
	RefusalDelay Period
	// Ages maps an ISO country code to the age of digital consent
	// (GDPR Art. 8(1) as set by each member state); DefaultAge applies to
	// every country not listed.
	Ages       map[string]int
	DefaultAge int
	// JointConsent maps a country to the age under which the child AND a
	// guardian must consent together (France: under 15, loi
	// Informatique et Libertés art. 45).
	JointConsent map[string]int
	// COPPAAge: under it, in the United States, verifiable parental consent
	// is required (COPPA: 13).
	COPPAAge int
	// SaleOptInAge: under it, in California, sale and sharing need an
	// opt-in — the teen's own from COPPAAge, a parent's below (CCPA: 16).
	SaleOptInAge int
	// GuardianLinkTTL is how long a link sent to a guardian stays valid.
	GuardianLinkTTL Period
}

// DefaultConsentAges is the GDPR Art. 8 table of ages of digital consent
// (Commission SWD(2020)115); countries not listed use 16.
var DefaultConsentAges = map[string]int{
	"BE": 13, "DK": 13, "EE": 13, "FI": 13, "LV": 13, "MT": 13, "PT": 13, "SE": 13,
	"AT": 14, "BG": 14, "CY": 14, "IT": 14, "LT": 14, "ES": 14,
	"CZ": 15, "FR": 15, "GR": 15,
	"HR": 16, "DE": 16, "HU": 16, "IE": 16, "LU": 16, "NL": 16, "PL": 16, "RO": 16, "SK": 16,
}

// defaultConsentRules are the rules when the file has no consent section.
func defaultConsentRules() ConsentRules {
	ages := make(map[string]int, len(DefaultConsentAges))
	for c, a := range DefaultConsentAges {
		ages[c] = a
	}
	return ConsentRules{
		Expiry:          Period{Months: 13},
		RefusalDelay:    Period{Months: 6},
		Ages:            ages,
		DefaultAge:      16,
		JointConsent:    map[string]int{"FR": 15},
		COPPAAge:        13,
		SaleOptInAge:    16,
		GuardianLinkTTL: Period{Days: 7},
	}
}

// ConsentAge returns the age of digital consent in country (ISO code).
func (r *ConsentRules) ConsentAge(country string) int {
	if a, ok := r.Ages[strings.ToUpper(country)]; ok {
		return a
	}
	return r.DefaultAge
}

// TCFMapping maps a purpose to the IAB TCF v2.2 purposes and special
// features whose consent (in a TC string) stands for it. A purpose is
// allowed by a TC string only if every listed TCF purpose and special
// feature is consented to.
type TCFMapping struct {
	Purposes        []int
	SpecialFeatures []int
}

// Empty reports whether the purpose is not mapped to TCF.
func (m TCFMapping) Empty() bool { return len(m.Purposes) == 0 && len(m.SpecialFeatures) == 0 }

// consentSection decodes the optional top-level `consent:` section.
func (d *decoder) consentSection(inv *Inventory, top object) {
	inv.Consent = defaultConsentRules()
	o := d.object(top.get("consent", false), "consent", "expiry", "refusal_delay", "ages", "default_age", "joint_consent", "coppa_age", "sale_opt_in_age", "guardian_link_ttl")
	if o.node == nil {
		return
	}
	r := &inv.Consent
	r.Expiry = d.period(o, "expiry", r.Expiry)
	r.RefusalDelay = d.period(o, "refusal_delay", r.RefusalDelay)
	r.GuardianLinkTTL = d.period(o, "guardian_link_ttl", r.GuardianLinkTTL)
	for _, f := range []struct {
		key string
		v   *int
	}{{"default_age", &r.DefaultAge}, {"coppa_age", &r.COPPAAge}, {"sale_opt_in_age", &r.SaleOptInAge}} {
		if a, ok := o.integer(f.key, false); ok {
			*f.v = d.age(o, f.key, a)
		}
	}
	d.ageTable(o, "ages", r.Ages)
	d.ageTable(o, "joint_consent", r.JointConsent)
}

func (d *decoder) period(o object, key string, def Period) Period {
	s := o.str(key, false)
	if s == "" {
		return def
	}
	p, err := ParsePeriod(s)
	if err != nil || p.IsZero() {
		d.errorf(o.at(key), join(o.path, key), "invalid-period", "%s: want a period longer than zero such as \"13 months\"", key)
		return def
	}
	return p
}

func (d *decoder) age(o object, key string, a int) int {
	if a < 1 || a > 21 {
		d.errorf(o.at(key), join(o.path, key), "invalid-value", "age %d: want 1 to 21", a)
	}
	return a
}

// ageTable decodes {FR: 15, …} into into (which holds the defaults).
func (d *decoder) ageTable(o object, key string, into map[string]int) {
	n := o.get(key, false)
	if n == nil {
		return
	}
	_, entries := d.mapping(n, join(o.path, key))
	keys := make([]string, 0, len(entries))
	t := object{d: d, node: n, path: join(o.path, key), vals: map[string]entry{}}
	for _, e := range entries {
		if !countryRE.MatchString(e.key) {
			d.errorf(e.keyNode, join(t.path, e.key), "invalid-value", "country %q: want an ISO 3166-1 alpha-2 code such as FR", garde.Truncate(e.key, 20))
			continue
		}
		t.vals[e.key] = e
		keys = append(keys, e.key)
	}
	sort.Strings(keys)
	for _, c := range keys {
		if a, ok := t.integer(c, false); ok {
			into[c] = d.age(t, c, a)
		}
	}
}

// purposeConsent decodes a purpose's consent settings: `consent: {expiry}`,
// `sale_or_sharing` and `tcf: {purposes, special_features}`.
func (d *decoder) purposeConsent(p *Purpose, o object) {
	p.SaleOrSharing = o.boolean("sale_or_sharing", false)
	if c := d.object(o.get("consent", false), join(o.path, "consent"), "expiry"); c.node != nil {
		p.ConsentExpiry = d.period(c, "expiry", Period{})
	}
	t := d.object(o.get("tcf", false), join(o.path, "tcf"), "purposes", "special_features")
	if t.node == nil {
		return
	}
	p.TCF.Purposes = d.smallInts(t, "purposes", 11)
	p.TCF.SpecialFeatures = d.smallInts(t, "special_features", 2)
}

// smallInts decodes a list of ids from 1 to max.
func (d *decoder) smallInts(o object, key string, max int) []int {
	var out []int
	for i, n := range o.list(key, false) {
		v := 0
		ok := n.Kind == yaml.ScalarNode && n.Tag == "!!int"
		if ok {
			for _, c := range n.Value {
				if c < '0' || c > '9' || v > max {
					ok = false
					break
				}
				v = v*10 + int(c-'0')
			}
		}
		if !ok || v < 1 || v > max {
			d.errorf(n, item(join(o.path, key), "", i), "invalid-value", "want a number from 1 to %d", max)
			continue
		}
		out = append(out, v)
	}
	return out
}

// ConsentExpiryOf returns how long a consent to p lives.
func (inv *Inventory) ConsentExpiryOf(p *Purpose) Period {
	if !p.ConsentExpiry.IsZero() {
		return p.ConsentExpiry
	}
	return inv.Consent.Expiry
}
