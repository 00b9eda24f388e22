package consent

import (
	"encoding/hex"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/jws"
)

// ReceiptType is the JWS "typ" of a consent receipt.
const ReceiptType = "garde-consent-receipt+jwt"

// Receipt is what a person keeps of a decision: the JWS payload, after the
// Kantara Consent Receipt v1.1 fields (version, jurisdiction,
// consentTimestamp, collectionMethod, consentReceiptID, language,
// piiPrincipalId, piiControllers, policyUrl, services → purposes), with the
// ledger records' ids and hashes so that the receipt can be matched against
// the ledger.
type Receipt struct {
	Version          string           `json:"version"`
	ID               string           `json:"consentReceiptID"`
	Issuer           string           `json:"iss"`
	Subject          garde.SubjectID  `json:"piiPrincipalId"`
	IssuedAt         int64            `json:"iat"`
	ConsentTimestamp int64            `json:"consentTimestamp"`
	Jurisdiction     string           `json:"jurisdiction"`
	CollectionMethod string           `json:"collectionMethod"`
	Language         string           `json:"language,omitempty"`
	Notice           Notice           `json:"notice"`
	Controllers      []Controller     `json:"piiControllers"`
	Purposes         []ReceiptPurpose `json:"purposes"`
	Signals          *Signals         `json:"signals,omitempty"`
	Sensitive        bool             `json:"sensitive"`
}

// Controller is the organisation responsible, with its DPO contact.
type Controller struct {
	Name    string `json:"piiController"`
	Contact string `json:"contact,omitempty"`
	Email   string `json:"email,omitempty"`
	Country string `json:"country,omitempty"`
}

// ReceiptPurpose is one decision of a receipt.
type ReceiptPurpose struct {
	Purpose     string   `json:"purpose"`
	Decision    Decision `json:"decision"`
	ConsentType string   `json:"consentType"` // "EXPLICIT" or "EXPRESSED"
	LegalBasis  string   `json:"legalBasis"`
	Termination string   `json:"termination,omitempty"` // expiry, RFC 3339
	Record      string   `json:"record"`
	RecordHash  string   `json:"recordHash"`
}

// NewReceipt describes recs (one decision call, same receipt id).
func NewReceipt(inv *inventory.Inventory, recs []Record, now time.Time) Receipt {
	r := Receipt{Version: "KI-CR-v1.1.0", Issuer: inv.Organisation.Name, IssuedAt: now.Unix(),
		Controllers: []Controller{{Name: inv.Organisation.Name, Contact: inv.Organisation.DPO.Name, Email: inv.Organisation.DPO.Email, Country: inv.Organisation.Country}}}
	for i, rec := range recs {
		if i == 0 {
			r.ID, r.Subject, r.ConsentTimestamp = rec.ReceiptID, rec.Subject, rec.Time.Unix()
			r.Jurisdiction, r.CollectionMethod, r.Language, r.Notice = rec.Country, rec.Source, rec.Notice.Language, rec.Notice
			if rec.Region != "" {
				r.Jurisdiction += "-" + rec.Region
			}
			if rec.Signals != (Signals{}) {
				s := rec.Signals
				r.Signals = &s
			}
		}
		p := ReceiptPurpose{Purpose: rec.Purpose, Decision: rec.Decision, ConsentType: "EXPRESSED", LegalBasis: rec.LegalBasis,
			Record: rec.ID, RecordHash: hex.EncodeToString(rec.Hash)}
		if rec.Explicit {
			p.ConsentType = "EXPLICIT"
		}
		if !rec.Expires.IsZero() {
			p.Termination = rec.Expires.UTC().Format(time.RFC3339)
		}
		if pp := inv.Purpose(rec.Purpose); pp != nil && pp.ExplicitConsent {
			r.Sensitive = true
		}
		r.Purposes = append(r.Purposes, p)
	}
	return r
}

// Sign returns the receipt as a compact JWS signed by s.
func (r Receipt) Sign(s jws.Signer) (string, error) {
	return jws.Sign(s, ReceiptType, r.appendJSON(make([]byte, 0, 1024)))
}

// VerifyReceipt checks token's signature against keys and returns the
// receipt it holds.
func VerifyReceipt(token string, keys jws.KeyFinder) (*Receipt, error) {
	payload, _, err := jws.VerifyType(token, ReceiptType, keys)
	if err != nil {
		return nil, err
	}
	var r Receipt
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, garde.Wrap(garde.EInvalid, err, "receipt payload is not a consent receipt")
	}
	if r.ID == "" || r.Subject == "" || len(r.Purposes) == 0 {
		return nil, garde.Errorf(garde.EInvalid, "receipt payload is not a consent receipt")
	}
	return &r, nil
}
