package consent

import (
	"crypto/sha256"
	"time"

	"github.com/garde-privacy/garde"
)

// Decision is what a record says about a subject and a purpose.
type Decision string

// The decisions. Given is the only one that allows a consent-based purpose;
// Objected stops a purpose based on legitimate interests; OptedOut stops a
// purpose that sells or shares data (CCPA, Global Privacy Control);
// Restricted and Lifted concern every purpose at once (GDPR Art. 18:
// stored, not processed).
const (
	Given      Decision = "given"
	Refused    Decision = "refused"
	Withdrawn  Decision = "withdrawn"
	Expired    Decision = "expired"
	Objected   Decision = "objected"
	OptedOut   Decision = "opted_out"
	Restricted Decision = "restricted"
	Lifted     Decision = "lifted"
)

// Valid reports whether d is one of the decisions.
func (d Decision) Valid() bool {
	switch d {
	case Given, Refused, Withdrawn, Expired, Objected, OptedOut, Restricted, Lifted:
		return true
	}
	return false
}

// AllPurposes is the purpose of Restricted and Lifted records.
const AllPurposes = "*"

// Sources: how a decision reached Garde.
const (
	SourceBanner   = "banner"
	SourceForm     = "form"
	SourceAPI      = "api"
	SourceImport   = "import"
	SourceOperator = "operator"
	SourceSignal   = "signal"   // Global Privacy Control, a TC or GPP string
	SourceGuardian = "guardian" // a guardian's decision for a minor
	SourceSystem   = "system"   // expiry
)

// Sources lists the valid sources.
var Sources = []string{SourceBanner, SourceForm, SourceAPI, SourceImport, SourceOperator, SourceSignal, SourceGuardian, SourceSystem}

// Notice names the text a person was shown when deciding.
type Notice struct {
	Version  int    `json:"version"`
	Hash     string `json:"hash"` // hex SHA-256 of the exact text, in Language
	Language string `json:"language"`
}

// Age is the age assertion behind a decision and how it was obtained.
type Age struct {
	// Status is "adult", "minor" or "unknown".
	Status string `json:"status"`
	// Years is the declared or verified age, 0 when unknown.
	Years int `json:"years,omitempty"`
	// Method: "self_declared", "account", "verified", "guardian".
	Method string `json:"method,omitempty"`
}

// Signals are the machine-readable privacy signals present with a decision.
type Signals struct {
	GPC       bool   `json:"gpc,omitempty"`
	TCString  string `json:"tcString,omitempty"`
	GPPString string `json:"gppString,omitempty"`
}

// Record is one entry of the ledger.
type Record struct {
	Seq        int64           `json:"seq"`
	ID         string          `json:"id"`
	Subject    garde.SubjectID `json:"subject"`
	Purpose    string          `json:"purpose"`
	Decision   Decision        `json:"decision"`
	LegalBasis string          `json:"legalBasis"`
	// Explicit: the person gave an express statement (GDPR Art. 9(2)(a)),
	// required for special categories.
	Explicit  bool      `json:"explicit,omitempty"`
	Time      time.Time `json:"time"`
	Expires   time.Time `json:"expires,omitzero"`
	Source    string    `json:"source"`
	Notice    Notice    `json:"notice"`
	Country   string    `json:"country,omitempty"`
	Region    string    `json:"region,omitempty"` // US state, e.g. "CA"
	Age       Age       `json:"age"`
	Guardian  string    `json:"guardian,omitempty"` // id of the guardian request that authorised it
	Signals   Signals   `json:"signals"`
	Collector string    `json:"collector"` // "source:web", "operator:…", "apikey:…", "system"
	IPHash    string    `json:"ipHash,omitempty"`
	UAHash    string    `json:"uaHash,omitempty"`
	ReceiptID string    `json:"receiptId,omitempty"`
	Prev      []byte    `json:"-"`
	Hash      []byte    `json:"-"`
}

// canonical is the encoding a record's hash covers: the JSON of this struct
// (fields in this order, times in UTC RFC 3339 with nanoseconds, "" when
// zero, no HTML escaping), preceded by the previous record's hash in hex. A
// third party can recompute it from an export. Record.appendCanonical
// writes it by hand, byte for byte as the JSON encoder writes this struct.
type canonical struct {
	V          int             `json:"v"`
	Prev       string          `json:"prev"`
	Seq        int64           `json:"seq"`
	ID         string          `json:"id"`
	Subject    garde.SubjectID `json:"subject"`
	Purpose    string          `json:"purpose"`
	Decision   Decision        `json:"decision"`
	LegalBasis string          `json:"legalBasis"`
	Explicit   bool            `json:"explicit"`
	Time       string          `json:"time"`
	Expires    string          `json:"expires"`
	Source     string          `json:"source"`
	Notice     Notice          `json:"notice"`
	Country    string          `json:"country"`
	Region     string          `json:"region"`
	Age        Age             `json:"age"`
	Guardian   string          `json:"guardian"`
	Signals    Signals         `json:"signals"`
	Collector  string          `json:"collector"`
	IPHash     string          `json:"ipHash"`
	UAHash     string          `json:"uaHash"`
	ReceiptID  string          `json:"receiptId"`
}

// Canonical returns the bytes r.Hash is the SHA-256 of.
func (r *Record) Canonical() []byte { return r.appendCanonical(nil) }

// ComputeHash returns the record's chain hash.
func (r *Record) ComputeHash() []byte {
	var buf [1024]byte
	h := sha256.Sum256(r.appendCanonical(buf[:0]))
	return h[:]
}

// Genesis is the Prev of the first record.
var Genesis = make([]byte, sha256.Size)
