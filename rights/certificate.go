package rights

import (
	"slices"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jws"
)

// CertificateType is the JWS "typ" of an erasure certificate, so that no
// other signed document (a consent receipt, a link) passes for one.
const CertificateType = "garde-erasure-certificate+jwt"

// Certificate is the signed proof of an erasure: what was erased, when,
// which keys were destroyed, who was told. It is signed with the vault's
// certificates key (vault.UseCertificates) and checked offline with
// VerifyCertificate (`garde rights verify-certificate`). It names the person
// only by pseudonymous subject ids: it can be handed to the person, a
// vendor or an auditor.
type Certificate struct {
	ID       string            `json:"id"`
	Subject  garde.SubjectID   `json:"subject"` // the canonical subject
	Members  []garde.SubjectID `json:"members"` // Subject and the subjects merged into it
	ErasedAt time.Time         `json:"erasedAt"`
	// Categories are the inventory categories of the data erased, with the
	// number of rows (events, traits) that held a value of each.
	Categories []CategoryCount `json:"categories"`
	Rows       Rows            `json:"rows"`
	// KeysDestroyed are the members' data keys, destroyed before any row
	// was deleted.
	KeysDestroyed []DestroyedKey `json:"keyDestroyed"`
	// Suppressed: markers were kept so that the person is not collected again.
	Suppressed bool     `json:"suppressed"`
	Kept       []string `json:"kept"` // what erasure keeps on purpose (see Kept)
	Told       Told     `json:"told"`
	Actor      string   `json:"actor"`
	Reason     string   `json:"reason,omitempty"`
}

// CategoryCount is one category erased.
type CategoryCount struct {
	Category string `json:"category"`
	Rows     int    `json:"rows"`
}

// DestroyedKey names a destroyed data key: its subject and the SHA-256 of
// its wrapped form ("sha256:…"), which matches the key in a key backup taken
// before the erasure; Digest is empty when the subject had no key.
type DestroyedKey struct {
	Subject garde.SubjectID `json:"subject"`
	Digest  string          `json:"digest,omitempty"`
}

// Told says who is told of the erasure: the outbox topic, and the
// destinations and vendors subscribed to it when known.
type Told struct {
	Topic      string   `json:"topic"`
	Recipients []string `json:"recipients,omitempty"`
}

func (c *Certificate) sign(s jws.Signer) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", garde.Wrap(garde.EInternal, err, "cannot encode the erasure certificate")
	}
	return jws.Sign(s, CertificateType, b)
}

// VerifyCertificate checks an erasure certificate's signature against keys
// (a JWKS, or jws.KeyFunc(signer.PublicKey)) and its typ, and returns it.
// Every failure is an EInvalid: a tampered, truncated or foreign token, or a
// payload that is not a complete certificate.
func VerifyCertificate(token string, keys jws.KeyFinder) (*Certificate, error) {
	payload, _, err := jws.VerifyType(token, CertificateType, keys)
	if err != nil {
		return nil, err
	}
	var c Certificate
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, garde.Wrap(garde.EInvalid, err, "payload is not an erasure certificate")
	}
	if c.ID == "" || !c.Subject.Valid() || !slices.Contains(c.Members, c.Subject) || c.ErasedAt.IsZero() ||
		c.Actor == "" || c.Told.Topic == "" || len(c.KeysDestroyed) != len(c.Members) {
		return nil, garde.Errorf(garde.EInvalid, "payload is not an erasure certificate")
	}
	return &c, nil
}
