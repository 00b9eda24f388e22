package consent

import (
	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/gpp"
	"github.com/garde-privacy/garde/consent/tcf"
	"github.com/garde-privacy/garde/inventory"
)

// GPCDecisions are the decisions a Global Privacy Control signal stands
// for: an opt-out of every purpose that sells or shares data (CCPA §7025).
func GPCDecisions(inv *inventory.Inventory) map[string]Decision {
	d := map[string]Decision{}
	for _, p := range inv.Purposes {
		if p.SaleOrSharing {
			d[p.Key] = OptedOut
		}
	}
	return d
}

// TCFDecisions decodes and validates a TC string and returns the decisions
// it stands for: for each purpose mapped to TCF in the inventory, given
// when every mapped TCF purpose and special feature is consented to,
// refused otherwise. Purposes not mapped are not touched.
func TCFDecisions(inv *inventory.Inventory, s string) (map[string]Decision, error) {
	tc, err := tcf.Decode(s)
	if err != nil {
		return nil, err
	}
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	d := map[string]Decision{}
	for _, p := range inv.Purposes {
		if p.TCF.Empty() || p.LegalBasis != inventory.Consent {
			continue
		}
		ok := true
		for _, id := range p.TCF.Purposes {
			ok = ok && tc.PurposeConsent(id)
		}
		for _, id := range p.TCF.SpecialFeatures {
			ok = ok && tc.SpecialFeature(id)
		}
		if ok {
			d[p.Key] = Given
		} else {
			d[p.Key] = Refused
		}
	}
	return d, nil
}

// GPPDecisions decodes a GPP string and returns the opt-outs its US
// sections hold: sale or sharing → every purpose that sells or shares,
// targeted advertising → every targeted-advertising purpose, sensitive data
// → every purpose that needs explicit consent. Its TCF EU section, if any,
// is read as a TC string. minor reports a known child.
func GPPDecisions(inv *inventory.Inventory, s string) (d map[string]Decision, minor bool, err error) {
	g, err := gpp.Decode(s)
	if err != nil {
		return nil, false, err
	}
	d = map[string]Decision{}
	if raw, ok := g.Sections[2]; ok && raw != "" {
		t, err := TCFDecisions(inv, raw)
		if err != nil {
			return nil, false, garde.Wrap(garde.EInvalid, err, "gpp: the TCF EU section is not a valid TC string")
		}
		for k, v := range t {
			d[k] = v
		}
	}
	o := g.OptOuts()
	for _, p := range inv.Purposes {
		switch {
		case (o.Sale || o.Sharing || o.GPC) && p.SaleOrSharing,
			o.TargetedAdvertising && p.TargetedAdvertising:
			d[p.Key] = OptedOut
		case o.SensitiveData && p.ExplicitConsent:
			d[p.Key] = Refused
		}
	}
	return d, o.KnownChild, nil
}
