package verify_test

import (
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/verify"
)

// TestEvidenceValidate: a known method, an operator, and a short note
// without personal data; errors never quote the note.
func TestEvidenceValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		e    verify.Evidence
		want string
	}{
		{"id document", verify.Evidence{Operator: "op_1", Method: verify.MethodIDDocument, Note: "passport checked at the Lyon shop, not kept"}, ""},
		{"account login, no note", verify.Evidence{Operator: "op_1", Method: verify.MethodAccountLogin}, ""},
		{"in person, French, two lines", verify.Evidence{Operator: "op_1", Method: verify.MethodInPerson, Note: "Cliente connue du magasin.\nVérifié par la gérante."}, ""},
		{"other with a note", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: "video call with the account's security questions"}, ""},
		{"note of 500 bytes", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: strings.Repeat("é", 250)}, ""},
		{"no operator", verify.Evidence{Method: verify.MethodInPerson}, garde.EInvalid},
		{"operator with a space", verify.Evidence{Operator: "Ann Dupont", Method: verify.MethodInPerson}, garde.EInvalid},
		{"no method", verify.Evidence{Operator: "op_1"}, garde.EInvalid},
		{"unknown method", verify.Evidence{Operator: "op_1", Method: "phone-call"}, garde.EInvalid},
		{"method in capitals", verify.Evidence{Operator: "op_1", Method: "ID-DOCUMENT"}, garde.EInvalid},
		{"other without a note", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: "  \n "}, garde.EInvalid},
		{"note of 501 bytes", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: strings.Repeat("a", 501)}, garde.EInvalid},
		{"note not UTF-8", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: "ok \xff"}, garde.EInvalid},
		{"note with a control character", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: "ok \x1b[31m"}, garde.EInvalid},
		{"note with an email", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: "wrote from ann.dupont@example.com"}, garde.EInvalid},
		{"note with a phone number", verify.Evidence{Operator: "op_1", Method: verify.MethodOther, Note: "called back on 06 12 34 56 78"}, garde.EInvalid},
		{"note with an IBAN", verify.Evidence{Operator: "op_1", Method: verify.MethodIDDocument, Note: "RIB FR7630006000011234567890189"}, garde.EInvalid},
		{"note with a NIR", verify.Evidence{Operator: "op_1", Method: verify.MethodIDDocument, Note: "carte vitale 2 69 05 19 123 456 88"}, garde.EInvalid},
	} {
		err := c.e.Validate()
		if got := errCode(err); got != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		if err != nil && c.e.Note != "" && len(strings.TrimSpace(c.e.Note)) > 3 && strings.Contains(err.Error(), c.e.Note) {
			t.Errorf("%s: the error quotes the note", c.name)
		}
	}
}
