package inventory

import "strings"

// lint applies the privacy rules (see the package documentation for the
// codes) to a decoded, possibly partial, inventory: it must not assume that
// references resolved.
func (d *decoder) lint(inv *Inventory) {
	usedPurposes, usedCategories := d.lintPlan(inv)
	for _, s := range d.purposes {
		d.lintPurpose(s, usedPurposes.Has(s.p.Index))
	}
	for _, s := range d.categories {
		if !usedCategories[s.c] {
			d.warnf(s.node, s.path, "category-unused", "no field uses category %s: remove it or declare the fields that hold it", s.c.Key)
		}
	}
	d.lintChannels(inv)
	if d.org != nil && !d.dpo {
		d.warnf(d.org, "organisation", "dpo-missing", "no data protection officer contact (organisation.dpo): the record of processing needs one")
	}
}

// lintPlan checks fields and events and returns what they use.
func (d *decoder) lintPlan(inv *Inventory) (PurposeSet, map[*Category]bool) {
	var used PurposeSet
	cats := map[*Category]bool{}
	for _, s := range d.events {
		used |= s.e.Purposes
		switch {
		case s.listed > 0:
		case len(s.e.Properties) == 0:
			d.errorf(s.node, s.path, "event-no-purpose", "the event has no purposes and no properties: it can never be kept")
		default:
			d.warnf(s.node, s.path, "event-no-purpose", "the event has no purposes of its own: it is kept only when it carries a property that has one")
		}
	}
	for _, s := range d.fields {
		f := s.f
		used |= f.Purposes
		if f.Category != nil {
			cats[f.Category] = true
		}
		if s.listed == 0 {
			d.errorf(s.node, s.path, "field-no-purpose", "field has no purpose")
			continue
		}
		if f.Category == nil {
			continue
		}
		for i, p := range inv.Purposes {
			if f.Purposes.Has(i) {
				d.lintUse(s, p)
			}
		}
	}
	return used, cats
}

// lintUse checks that field s may serve purpose p.
func (d *decoder) lintUse(s fieldSite, p *Purpose) {
	c := s.f.Category
	switch c.Sensitivity {
	case SensitivitySpecial:
		if p.LegalBasis != Consent || !p.ExplicitConsent {
			d.errorf(s.node, s.path, "special-category-basis",
				"category %s is a special category (GDPR Art. 9): purpose %s needs legal_basis consent with explicit_consent: true", c.Key, p.Key)
		}
		if p.TargetedAdvertising {
			d.errorf(s.node, s.path, "special-category-targeting", "category %s is a special category: it may not serve targeted advertising (purpose %s)", c.Key, p.Key)
		}
	case SensitivityChild:
		if p.TargetedAdvertising {
			d.errorf(s.node, s.path, "child-targeting", "category %s is children's data: it may not serve targeted advertising (purpose %s)", c.Key, p.Key)
		}
	}
}

func (d *decoder) lintPurpose(s purposeSite, used bool) {
	p := s.p
	if !s.retention {
		d.errorf(s.node, s.path, "purpose-no-retention", "purpose %s has no retention: say how long its data lives", p.Key)
	}
	basis := join(s.path, "legal_basis")
	if p.DirectMarketing && p.LegalBasis != "" && p.LegalBasis != Consent && p.LegalBasis != LegitimateInterests {
		d.errorf(s.basis, basis, "direct-marketing-basis", "direct marketing needs legal_basis consent or legitimate_interests, not %s", p.LegalBasis)
	}
	if p.TargetedAdvertising && p.LegalBasis != "" && p.LegalBasis != Consent {
		d.errorf(s.basis, basis, "targeted-advertising-basis", "targeted advertising needs legal_basis consent, not %s", p.LegalBasis)
	}
	if p.ExplicitConsent && p.LegalBasis != "" && p.LegalBasis != Consent {
		d.warnf(s.explicit, join(s.path, "explicit_consent"), "explicit-consent-basis", "explicit_consent has no effect with legal_basis %s", p.LegalBasis)
	}
	if !used {
		d.warnf(s.node, s.path, "purpose-unused", "no event or field serves purpose %s", p.Key)
	}
}

func (d *decoder) lintChannels(inv *Inventory) {
	if d.sources == nil {
		return
	}
	have := map[Channel]bool{}
	for _, s := range inv.Sources {
		have[s.Channel] = true
	}
	var missing []string
	for _, c := range Channels() {
		if !have[c] {
			missing = append(missing, string(c))
		}
	}
	if len(missing) > 0 {
		d.warnf(d.sources, "sources", "channel-missing", "no source for channel %s", strings.Join(missing, ", "))
	}
}
