package verify

import (
	"strings"
	"unicode/utf8"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/redact"
)

// The ways an operator may have checked a person's identity (Evidence.Method).
const (
	MethodIDDocument   = "id-document"   // an identity document was shown (and not kept)
	MethodAccountLogin = "account-login" // the person signed in to their account in front of the operator
	MethodInPerson     = "in-person"     // the person is known to the operator, in person
	MethodOther        = "other"         // anything else, described in Note
)

// MaxEvidenceNote bounds Evidence.Note, in bytes.
const MaxEvidenceNote = 500

// Evidence records how an operator verified a person's identity, when
// neither a code nor a site token could. The caller records it in the audit
// log with the request.
//
// Note says how, in at most 500 bytes, and must hold no personal data: no
// document number, address, phone number, date of birth or name — "passport
// checked at the Lyon shop" and not its number. Validate refuses a note in
// which redact finds an email address, phone number, payment card, IBAN or
// French NIR, but it cannot find everything: the operator is responsible.
type Evidence struct {
	Operator string // the operator's id (access.Operator's), not their name
	Method   string // MethodIDDocument, MethodAccountLogin, MethodInPerson or MethodOther
	Note     string // optional, required for MethodOther; no personal data
}

// Validate checks e: an operator id, a known method, and a note of at most
// MaxEvidenceNote bytes of text (required for MethodOther) with no personal
// data that redact can find. Errors are EInvalid and never quote the note.
func (e Evidence) Validate() error {
	if e.Operator == "" || len(e.Operator) > 128 || !printableASCII(e.Operator) {
		return garde.Errorf(garde.EInvalid, "evidence: an operator id of 1 to 128 printable ASCII characters is required")
	}
	switch e.Method {
	case MethodIDDocument, MethodAccountLogin, MethodInPerson, MethodOther:
	default:
		return garde.Errorf(garde.EInvalid, "evidence: method must be one of %s, %s, %s, %s",
			MethodIDDocument, MethodAccountLogin, MethodInPerson, MethodOther)
	}
	note := strings.TrimSpace(e.Note)
	switch {
	case e.Method == MethodOther && note == "":
		return garde.Errorf(garde.EInvalid, "evidence: method other needs a note saying how")
	case len(e.Note) > MaxEvidenceNote:
		return garde.Errorf(garde.EInvalid, "evidence: note longer than %d bytes", MaxEvidenceNote)
	case !utf8.ValidString(e.Note) || hasControlExceptNewline(e.Note):
		return garde.Errorf(garde.EInvalid, "evidence: note must be text")
	}
	if _, found := redact.String(e.Note); found.Total() > 0 {
		return garde.Errorf(garde.EInvalid, "evidence: the note seems to hold personal data (%s); describe the check, not the person",
			kinds(found))
	}
	return nil
}

func hasControlExceptNewline(s string) bool {
	return hasControl(strings.NewReplacer("\r", "", "\n", "", "\t", "").Replace(s))
}

// kinds names the kinds of personal data found, e.g. "phone, iban".
func kinds(c redact.Counts) string {
	var names []string
	for k := redact.Kind(0); k < redact.NumKinds; k++ {
		if c[k] > 0 {
			names = append(names, k.String())
		}
	}
	return strings.Join(names, ", ")
}
