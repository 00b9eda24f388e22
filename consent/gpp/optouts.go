package gpp

// OptOuts is the semantic summary of a GPP string that the consent gate acts
// on, merged over the US sections present (USNat, USCA): a flag is true when
// any of them carries it, so the most restrictive signal wins. All false
// means "no opt-out signalled", which is also what a string without US
// sections yields; it is not evidence of consent.
type OptOuts struct {
	// Sale: SaleOptOut is 1 ("Opted Out") in usnat or usca.
	Sale bool `json:"sale"`
	// Sharing: SharingOptOut is 1 ("Opted Out") in usnat or usca. In the
	// CPRA, sharing is cross-context behavioural advertising.
	Sharing bool `json:"sharing"`
	// TargetedAdvertising: usnat TargetedAdvertisingOptOut is 1 ("Opted
	// Out"). usca has no such field; its Sharing covers the same ground.
	TargetedAdvertising bool `json:"targetedAdvertising"`
	// SensitiveData: any SensitiveDataProcessing entry is 1 — in usnat
	// "No Consent" to process that category (the National Approach requires
	// consent), in usca "Opted Out" of its use (CPRA right to limit).
	SensitiveData bool `json:"sensitiveData"`
	// GPC: a GPC sub-section says true. It is reported apart from Sale and
	// Sharing; in California the gate must honour it as an opt-out of both
	// (11 CCR §7025).
	GPC bool `json:"gpc"`
	// KnownChild: any KnownChildSensitiveDataConsents entry is non-zero.
	// Both specs define 0 as "the Business does not have actual knowledge
	// that it processes personal data of" a child in the entry's age band
	// (usnat: under 13, 13–16, and in v2 16–17; usca: under 16), so 1
	// ("No Consent") and 2 ("Consent") alike assert a known child. Whether
	// consent was given is in the section itself; the gate applies its
	// minors' rules either way.
	KnownChild bool `json:"knownChild"`
}

// OptOuts summarises the decoded US sections; see OptOuts for each rule.
func (s *String) OptOuts() OptOuts {
	var o OptOuts
	if s == nil {
		return o
	}
	if n := s.USNat; n != nil {
		o.Sale = o.Sale || n.SaleOptOut == OptedOut
		o.Sharing = o.Sharing || n.SharingOptOut == OptedOut
		o.TargetedAdvertising = o.TargetedAdvertising || n.TargetedAdvertisingOptOut == OptedOut
		o.SensitiveData = o.SensitiveData || hasValue(n.SensitiveDataProcessing, 1)
		o.GPC = o.GPC || (n.GPC != nil && *n.GPC)
		o.KnownChild = o.KnownChild || hasNonZero(n.KnownChildSensitiveDataConsents)
	}
	if c := s.USCA; c != nil {
		o.Sale = o.Sale || c.SaleOptOut == OptedOut
		o.Sharing = o.Sharing || c.SharingOptOut == OptedOut
		o.SensitiveData = o.SensitiveData || hasValue(c.SensitiveDataProcessing, 1)
		o.GPC = o.GPC || (c.GPC != nil && *c.GPC)
		o.KnownChild = o.KnownChild || hasNonZero(c.KnownChildSensitiveDataConsents)
	}
	return o
}

func hasValue(vs []int, v int) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func hasNonZero(vs []int) bool {
	for _, x := range vs {
		if x != NotApplicable {
			return true
		}
	}
	return false
}
