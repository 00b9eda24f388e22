package inventory

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/garde-privacy/garde"
)

// Banner configures the consent banner that /consent.js shows on the
// sources' sites. Every field has a fair default; the decoder lints what
// the file changes against the deceptive design patterns of the EDPB
// Guidelines 03/2022 (v2): a banner that nudges, pre-ticks, bundles, hides
// the refusal or walls the site off is an error, so Garde never serves one.
//
// The problem codes, each message naming the EDPB category: stirring
// (hidden in plain sight) banner-unequal-buttons, banner-unequal-labels,
// banner-low-contrast (WCAG 2.1 AA); skipping (deceptive snugness)
// banner-pre-checked; obstructing banner-no-refusal (longer than
// necessary), banner-consent-wall (dead end); overloading (continuous
// prompting) banner-close-dismisses; left in the dark
// banner-bundled-purposes, banner-purpose-basis; and
// banner-explicit-consent (GDPR Art. 9(2)(a)).
type Banner struct {
	// NoticeVersion is the version of the notice the banner shows; bump it
	// when the texts change. Records name it with the SHA-256 of the text.
	NoticeVersion int
	// Purposes are the purposes the banner asks about, in inventory order:
	// by default every purpose based on consent that does not need explicit
	// consent (GDPR Art. 9(2)(a) wants its own express statement).
	Purposes []*Purpose
	// Title and Intro open the banner.
	Title, Intro Text
	// The buttons of the first layer.
	Accept, Refuse, Customise BannerButton
	// PreChecked purposes start switched on (a lint error: skipping).
	PreChecked []*Purpose
	// RefuseOnFirstLayer shows "Refuse all" beside "Accept all" (default
	// true; false is a lint error: obstructing).
	RefuseOnFirstLayer bool
	// CloseMeans is what closing the banner (× or Escape) records:
	// CloseRefuse (default) or CloseDismiss (a lint error: overloading).
	CloseMeans string
	// ConsentWall blocks the site until the person accepts (a lint error:
	// obstructing).
	ConsentWall bool
	// Bundles group purposes under one switch (a lint error: left in the
	// dark).
	Bundles [][]*Purpose
}

// BannerButton is the label and colours of a button, colours as #rrggbb.
type BannerButton struct {
	Label      Text
	Colour     string // text colour
	Background string
}

// What closing the banner means (Banner.CloseMeans).
const (
	CloseRefuse  = "refuse"
	CloseDismiss = "dismiss"
)

// minContrast is the WCAG 2.1 AA contrast ratio for normal text (SC 1.4.3).
const minContrast = 4.5

var colourRE = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// defaultBanner is the banner when the file has no banner section: texts
// in both languages, Accept and Refuse in the same colours, white on blue
// (contrast 6.7:1).
func defaultBanner(inv *Inventory) Banner {
	org := inv.Organisation.Name
	intro := Text{
		EN: "We would like your consent to use cookies and similar technologies for the purposes below. " +
			"You can accept them all, refuse them all or choose purpose by purpose: refusing is as easy as accepting " +
			"and does not limit your use of the site. You can change your mind at any time with the \"Cookie settings\" link.",
		FR: "Nous souhaitons votre accord pour utiliser des cookies et technologies similaires pour les finalités ci-dessous. " +
			"Vous pouvez toutes les accepter, toutes les refuser ou choisir finalité par finalité : refuser est aussi simple " +
			"qu'accepter et ne limite pas votre utilisation du site. Vous pouvez changer d'avis à tout moment avec le lien « Paramètres des cookies ».",
	}
	if org != "" {
		intro.EN = org + " would like" + strings.TrimPrefix(intro.EN, "We would like")
		intro.FR = org + " souhaite" + strings.TrimPrefix(intro.FR, "Nous souhaitons")
	}
	b := Banner{
		NoticeVersion:      1,
		Title:              Text{EN: "Your privacy choices", FR: "Vos choix de confidentialité"},
		Intro:              intro,
		Accept:             BannerButton{Text{EN: "Accept all", FR: "Tout accepter"}, "#ffffff", "#1d4ed8"},
		Refuse:             BannerButton{Text{EN: "Refuse all", FR: "Tout refuser"}, "#ffffff", "#1d4ed8"},
		Customise:          BannerButton{Text{EN: "Customise", FR: "Personnaliser"}, "#1d4ed8", "#ffffff"},
		RefuseOnFirstLayer: true,
		CloseMeans:         CloseRefuse,
	}
	for _, p := range inv.Purposes {
		if p.LegalBasis == Consent && !p.ExplicitConsent {
			b.Purposes = append(b.Purposes, p)
		}
	}
	return b
}

// bannerSection decodes the optional top-level `banner:` section and lints
// it. It needs the purposes: call it after purposeList.
func (d *decoder) bannerSection(inv *Inventory, top object) {
	inv.Banner = defaultBanner(inv)
	o := d.object(top.get("banner", false), "banner", "notice_version", "purposes", "title", "intro", "buttons",
		"pre_checked", "refuse_on_first_layer", "close_means", "consent_wall", "bundle")
	if o.node == nil {
		return
	}
	b := &inv.Banner
	if v, ok := o.integer("notice_version", false); ok {
		if v < 1 {
			d.errorf(o.at("notice_version"), join(o.path, "notice_version"), "invalid-value", "notice_version %d: want 1 or more", v)
		}
		b.NoticeVersion = v
	}
	if o.get("purposes", false) != nil {
		b.Purposes = d.bannerPurposes(inv, o.list("purposes", false), join(o.path, "purposes"), nil)
		sortByIndex(b.Purposes)
	}
	if o.get("title", false) != nil {
		b.Title = o.text("title", true)
	}
	if o.get("intro", false) != nil {
		b.Intro = o.text("intro", true)
	}
	d.bannerButtons(b, o)
	if n := o.get("pre_checked", false); n != nil {
		b.PreChecked = d.bannerPurposes(inv, o.list("pre_checked", false), join(o.path, "pre_checked"), b.Purposes)
		for _, p := range b.PreChecked {
			d.errorf(n, join(o.path, "pre_checked"), "banner-pre-checked",
				"purpose %s starts switched on: every switch must start off, silence is refusal (EDPB Guidelines 03/2022: skipping, deceptive snugness)", p.Key)
		}
	}
	b.RefuseOnFirstLayer = o.boolean("refuse_on_first_layer", true)
	if !b.RefuseOnFirstLayer {
		d.errorf(o.at("refuse_on_first_layer"), join(o.path, "refuse_on_first_layer"), "banner-no-refusal",
			"the first layer has no \"Refuse all\": refusing must be as easy as accepting, on the same layer (EDPB Guidelines 03/2022: obstructing, longer than necessary)")
	}
	switch s := o.str("close_means", false); s {
	case "", CloseRefuse:
	case CloseDismiss:
		b.CloseMeans = CloseDismiss
		d.errorf(o.at("close_means"), join(o.path, "close_means"), "banner-close-dismisses",
			"closing the banner only dismisses it, so it comes back on every page: closing must record a refusal (EDPB Guidelines 03/2022: overloading, continuous prompting)")
	default:
		d.errorf(o.at("close_means"), join(o.path, "close_means"), "invalid-value", "close_means %q: want refuse or dismiss", garde.Truncate(s, 40))
	}
	b.ConsentWall = o.boolean("consent_wall", false)
	if b.ConsentWall {
		d.errorf(o.at("consent_wall"), join(o.path, "consent_wall"), "banner-consent-wall",
			"a consent wall blocks the site until the person accepts: consent is then not freely given (EDPB Guidelines 03/2022: obstructing, dead end)")
	}
	d.bannerBundles(inv, b, o)
}

// bannerPurposes decodes a list of purpose keys at path. Without within,
// each must be a purpose based on consent, without explicit consent; with
// it, each must be one of within.
func (d *decoder) bannerPurposes(inv *Inventory, items []*yaml.Node, path string, within []*Purpose) []*Purpose {
	var out []*Purpose
	for i, n := range items {
		at := item(path, "", i)
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.errorf(n, at, "wrong-type", "want a purpose key, got %s", kindName(n))
			continue
		}
		p := inv.purposes[n.Value]
		switch {
		case p == nil:
			d.errorf(n, at, "unknown-purpose", "purpose %q is not declared under purposes", garde.Truncate(n.Value, 80))
			continue
		case within == nil && p.LegalBasis != Consent:
			d.errorf(n, at, "banner-purpose-basis",
				"purpose %s is based on %s, not consent: asking for a consent that changes nothing misleads (EDPB Guidelines 03/2022: left in the dark, conflicting information)", p.Key, p.LegalBasis)
		case within == nil && p.ExplicitConsent:
			d.errorf(n, at, "banner-explicit-consent",
				"purpose %s needs explicit consent (GDPR Art. 9(2)(a)): ask for it with its own express statement, not in the cookie banner", p.Key)
		case within != nil && !slices.Contains(within, p):
			d.errorf(n, at, "invalid-value", "purpose %s is not one of the banner's purposes", p.Key)
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) bannerButtons(b *Banner, o object) {
	bo := d.object(o.get("buttons", false), join(o.path, "buttons"), "accept", "refuse", "customise")
	nodes := map[string]*yaml.Node{}
	for _, f := range []struct {
		key string
		btn *BannerButton
	}{{"accept", &b.Accept}, {"refuse", &b.Refuse}, {"customise", &b.Customise}} {
		n := bo.get(f.key, false)
		if n == nil {
			continue
		}
		path := join(bo.path, f.key)
		x := d.object(n, path, "label", "colour", "background")
		if x.node == nil {
			continue
		}
		nodes[f.key] = x.node
		if x.get("label", false) != nil {
			f.btn.Label = x.text("label", true)
		}
		for _, c := range []struct {
			key string
			v   *string
		}{{"colour", &f.btn.Colour}, {"background", &f.btn.Background}} {
			s := x.str(c.key, false)
			if s == "" {
				continue
			}
			if !colourRE.MatchString(s) {
				d.errorf(x.at(c.key), join(path, c.key), "invalid-value", "%s %q: want a colour such as #1d4ed8", c.key, garde.Truncate(s, 40))
				continue
			}
			*c.v = normColour(s)
		}
		if r := contrast(f.btn.Colour, f.btn.Background); r < minContrast {
			d.errorf(x.node, path, "banner-low-contrast",
				"the %s button's text has a contrast of %.1f:1 with its background, under WCAG's %.1f:1: a button hard to read is hidden (EDPB Guidelines 03/2022: stirring, hidden in plain sight)", f.key, r, minContrast)
		}
	}
	at := bo.node
	if n := nodes["refuse"]; n != nil {
		at = n
	} else if n := nodes["accept"]; n != nil {
		at = n
	}
	if b.Accept.Colour != b.Refuse.Colour || b.Accept.Background != b.Refuse.Background {
		d.errorf(at, bo.path, "banner-unequal-buttons",
			"\"Accept all\" and \"Refuse all\" differ in colour (%s on %s against %s on %s): give them the same style (EDPB Guidelines 03/2022: stirring, hidden in plain sight)",
			b.Accept.Colour, b.Accept.Background, b.Refuse.Colour, b.Refuse.Background)
	}
	for _, l := range []struct{ lang, accept, refuse string }{{"en", b.Accept.Label.EN, b.Refuse.Label.EN}, {"fr", b.Accept.Label.FR, b.Refuse.Label.FR}} {
		a, r := utf8.RuneCountInString(l.accept), utf8.RuneCountInString(l.refuse)
		if a > 2*r || r > 2*a {
			d.errorf(at, bo.path, "banner-unequal-labels",
				"the %s labels %q and %q are of very different lengths: the choices must weigh the same (EDPB Guidelines 03/2022: stirring)", l.lang, garde.Truncate(l.accept, 40), garde.Truncate(l.refuse, 40))
		}
	}
}

// bannerBundles decodes `bundle: [[a, b], …]`: each group of two or more
// purposes is one switch, which the lint refuses.
func (d *decoder) bannerBundles(inv *Inventory, b *Banner, o object) {
	in := map[*Purpose]bool{}
	for i, n := range o.list("bundle", false) {
		path := item(join(o.path, "bundle"), "", i)
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "wrong-type", "want a list of purposes, got %s", kindName(n))
			continue
		}
		var items []*yaml.Node
		for _, c := range n.Content {
			if c = d.resolve(c); c != nil {
				items = append(items, c)
			}
		}
		group := d.bannerPurposes(inv, items, path, b.Purposes)
		var kept []*Purpose
		for _, p := range group {
			if in[p] {
				d.errorf(n, path, "invalid-value", "purpose %s is in two bundles", p.Key)
				continue
			}
			in[p] = true
			kept = append(kept, p)
		}
		if len(kept) < 2 {
			continue
		}
		sortByIndex(kept)
		b.Bundles = append(b.Bundles, kept)
		keys := make([]string, len(kept))
		for j, p := range kept {
			keys[j] = p.Key
		}
		d.errorf(n, path, "banner-bundled-purposes",
			"purposes %s share one switch: consent must be given purpose by purpose (EDPB Guidelines 03/2022: left in the dark)", strings.Join(keys, ", "))
	}
}

func sortByIndex(ps []*Purpose) {
	slices.SortFunc(ps, func(a, b *Purpose) int { return a.Index - b.Index })
}

// normColour returns a valid colour as lower-case #rrggbb.
func normColour(s string) string {
	s = strings.ToLower(s)
	if len(s) == 4 {
		return "#" + s[1:2] + s[1:2] + s[2:3] + s[2:3] + s[3:4] + s[3:4]
	}
	return s
}

// contrast returns the WCAG 2.1 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is WCAG 2.1's relative luminance of a #rrggbb colour.
func luminance(c string) float64 {
	var l float64
	for i, w := range [3]float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.04045 {
			s /= 12.92
		} else {
			s = math.Pow((s+0.055)/1.055, 2.4)
		}
		l += w * s
	}
	return l
}
