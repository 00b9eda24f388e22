package inventory

import "sync/atomic"

// Text is a text in the two languages Garde speaks to people in. Both are
// required where the text is shown to data subjects (a purpose's name and
// description).
type Text struct {
	EN string // English
	FR string // French
}

// Sensitivity is how much harm a category of data can do if misused. Every
// sensitivity other than SensitivityOrdinary must be personal.
type Sensitivity string

// The sensitivities, as written in garde.yaml.
const (
	SensitivityOrdinary        Sensitivity = "ordinary"
	SensitivitySpecial         Sensitivity = "special" // GDPR Art. 9: health, biometrics, religion…
	SensitivityChild           Sensitivity = "child"   // data about children (GDPR Art. 8, COPPA)
	SensitivityPreciseLocation Sensitivity = "precise_location"
	SensitivityFinancial       Sensitivity = "financial"
)

// LegalBasis is the GDPR Art. 6(1) ground a purpose relies on.
type LegalBasis string

// The legal bases of GDPR Art. 6(1)(a)–(f), as written in garde.yaml.
const (
	Consent             LegalBasis = "consent"
	Contract            LegalBasis = "contract"
	LegalObligation     LegalBasis = "legal_obligation"
	VitalInterests      LegalBasis = "vital_interests"
	PublicTask          LegalBasis = "public_task"
	LegitimateInterests LegalBasis = "legitimate_interests"
)

// Channel is the kind of system a source sends events from.
type Channel string

// The seven channels.
const (
	ChannelWeb     Channel = "web"
	ChannelIOS     Channel = "ios"
	ChannelAndroid Channel = "android"
	ChannelServer  Channel = "server"
	ChannelIoT     Channel = "iot"
	ChannelLoyalty Channel = "loyalty"
	ChannelPOS     Channel = "pos"
)

// Channels lists the seven channels in their canonical order.
func Channels() []Channel {
	return []Channel{ChannelWeb, ChannelIOS, ChannelAndroid, ChannelServer, ChannelIoT, ChannelLoyalty, ChannelPOS}
}

// Where a retention period starts (Retention.From).
const (
	FromCollection  = "collection"   // when the value was collected
	FromLastContact = "last_contact" // the person's last own contact (CNIL: a click counts, an open does not)
	FromContractEnd = "contract_end" // the end of the customer relationship
)

// What happens when a retention period ends (Retention.Then).
const (
	ThenDelete    = "delete"
	ThenAnonymise = "anonymise"
)

// Inventory is a validated data map. It is read-only after Parse and safe for
// concurrent use. Every Field's Category is non-nil and every PurposeSet
// names only purposes of this inventory.
type Inventory struct {
	Version      int
	Organisation Organisation
	Categories   []*Category // in file order
	Purposes     []*Purpose  // in file order; Purposes[i].Index == i; at most 64
	Sources      []*Source   // in file order
	Plan         Plan
	Consent      ConsentRules
	Roles        []*Role // in file order, or the default roles
	Banner       Banner  // the consent banner (/consent.js)

	categories map[string]*Category
	purposes   map[string]*Purpose
	writeKeys  map[string]*Source
}

// Organisation is the controller the inventory belongs to.
type Organisation struct {
	Name    string
	Country string // ISO 3166-1 alpha-2, upper case; the default country for phone numbers
	DPO     Contact
}

// Contact is a named contact point (the data protection officer).
type Contact struct {
	Name  string
	Email string
}

// Category is a kind of data (fideslang-style dotted key, e.g.
// "user.contact.email"). Personal is true unless the file says
// `personal: false`: values of personal categories are sealed in the vault;
// values of non-personal ones are stored in clear after redaction.
type Category struct {
	Key         string
	Sensitivity Sensitivity
	Personal    bool
	Description Text
}

// Purpose is a use the organisation makes of data, with the legal basis it
// relies on and how long data kept for it may live. Index is the purpose's
// position in Inventory.Purposes and its bit in a PurposeSet.
type Purpose struct {
	Key                 string
	Index               int
	Name                Text
	Description         Text
	LegalBasis          LegalBasis
	ExplicitConsent     bool // GDPR Art. 9(2)(a); meaningful only with Consent
	DirectMarketing     bool // the person may object at any time, absolutely (Art. 21(2)-(3))
	TargetedAdvertising bool
	// SaleOrSharing: the purpose sells or shares personal data (CCPA), so
	// an opt-out (Global Privacy Control, GPP) stops it.
	SaleOrSharing bool
	// ConsentExpiry overrides ConsentRules.Expiry for this purpose.
	ConsentExpiry Period
	// TCF maps the purpose to IAB TCF purposes and special features.
	TCF       TCFMapping
	Retention Retention
}

// Retention says how long data kept for a purpose lives: Period counted from
// From, after which it is deleted or anonymised (Then).
type Retention struct {
	Period Period
	From   string // FromCollection (default), FromLastContact or FromContractEnd
	Then   string // ThenDelete (default) or ThenAnonymise
}

// Source is a system allowed to send events, identified by its write key.
type Source struct {
	Key      string
	Channel  Channel
	WriteKey string   // a secret: never logged, never echoed in a Problem
	Origins  []string // browser origins allowed by CORS; empty means any
}

// Plan is the tracking plan: the only events, properties, context fields and
// traits that may be stored. In an inventory returned by Parse the maps are
// never nil.
type Plan struct {
	Context     map[string]*Field     // by dotted path into the Segment context ("ip", "page.url")
	Page        *EventSpec            // page and screen calls; nil means they are not collected
	Events      map[string]*EventSpec // track calls, by event name
	Traits      map[string]*Field     // identify traits
	GroupTraits map[string]*Field     // group traits
}

// EventSpec declares one event (or the page/screen calls, Name "page"): the
// purposes it serves and its properties.
type EventSpec struct {
	Name       string
	Purposes   PurposeSet
	Properties map[string]*Field
}

// Field declares one value: its category, the purposes it may be used for,
// and the JSON type it must have. An event property that lists no purposes
// inherits its event's, so Purposes is the field's effective set.
type Field struct {
	Name     string
	Category *Category
	Purposes PurposeSet
	Type     FieldType
	path     atomic.Pointer[string] // Path's last result
}

// Path returns prefix + f.Name, the field's path in a stored event
// ("properties.email", "context.ip"): made once, since a field is read
// under one prefix, instead of for every value collected.
func (f *Field) Path(prefix string) string {
	if p := f.path.Load(); p != nil && len(*p) == len(prefix)+len(f.Name) && (*p)[:len(prefix)] == prefix {
		return *p
	}
	p := prefix + f.Name
	f.path.Store(&p)
	return p
}

// Personal reports whether the field's value is personal data. A field
// without a category counts as personal (deny by default).
func (f *Field) Personal() bool {
	return f.Category == nil || f.Category.Personal
}
