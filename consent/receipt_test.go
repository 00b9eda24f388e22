package consent_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/jws"
)

// edSigner is a fixed Ed25519 key for tests.
type edSigner struct{ priv ed25519.PrivateKey }

func newEdSigner() edSigner {
	seed := sha256.Sum256([]byte("receipt test key"))
	return edSigner{ed25519.NewKeyFromSeed(seed[:])}
}
func (s edSigner) KeyID() string { return "test-key" }
func (s edSigner) Sign(msg []byte) (string, []byte, error) {
	return "test-key", ed25519.Sign(s.priv, msg), nil
}
func (s edSigner) Find(kid string) (ed25519.PublicKey, bool) {
	return s.priv.Public().(ed25519.PublicKey), kid == "test-key"
}

func sampleReceipt(t testing.TB) string {
	inv := inventory.MustExample()
	rec := consent.Record{Seq: 1, ID: "cr_1", Subject: garde.SubjectID("s_aaaaaaaaaaaaaaaaaaaaaaaaaa"), Purpose: "analytics",
		Decision: consent.Given, LegalBasis: "consent", Time: t0, Expires: t0.AddDate(0, 13, 0), Source: consent.SourceBanner,
		Notice: consent.Notice{Version: 1, Hash: "ab", Language: "fr"}, Country: "FR", ReceiptID: "rcpt_1", Prev: consent.Genesis}
	rec.Hash = rec.ComputeHash()
	tok, err := consent.NewReceipt(inv, []consent.Record{rec}, t0).Sign(newEdSigner())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestReceiptRoundTrip(t *testing.T) {
	r, err := consent.VerifyReceipt(sampleReceipt(t), newEdSigner())
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "rcpt_1" || r.Jurisdiction != "FR" || len(r.Purposes) != 1 || r.Purposes[0].Termination != t0.AddDate(0, 13, 0).Format(time.RFC3339) {
		t.Fatalf("got %+v", r)
	}
	// a token of another type signed by the same key is not a receipt
	other, _ := jws.Sign(newEdSigner(), "garde-guardian-link+jwt", []byte(`{"consentReceiptID":"x"}`))
	if _, err := consent.VerifyReceipt(other, newEdSigner()); err == nil {
		t.Fatal("a link token was accepted as a receipt")
	}
}

// FuzzVerifyReceipt: the receipt parser never panics, and accepts only
// tokens the key signed.
func FuzzVerifyReceipt(f *testing.F) {
	good := sampleReceipt(f)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		r, err := consent.VerifyReceipt(tok, newEdSigner())
		if err == nil && (r == nil || tok != good && r.ID == "") {
			t.Fatalf("accepted %q", tok)
		}
		if err != nil && garde.ErrorCode(err) != garde.EInvalid {
			t.Fatalf("error code %s", garde.ErrorCode(err))
		}
	})
}
