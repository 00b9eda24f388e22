package rights_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/rights"
)

type certKey struct{ priv ed25519.PrivateKey }

func newCertKey() certKey {
	seed := sha256.Sum256([]byte("certificate test key"))
	return certKey{ed25519.NewKeyFromSeed(seed[:])}
}
func (k certKey) KeyID() string { return "cert-key" }
func (k certKey) Sign(msg []byte) (string, []byte, error) {
	return "cert-key", ed25519.Sign(k.priv, msg), nil
}
func (k certKey) Find(kid string) (ed25519.PublicKey, bool) {
	return k.priv.Public().(ed25519.PublicKey), kid == "cert-key"
}

func sampleCertificate(t testing.TB) string {
	s := garde.SubjectID("s_aaaaaaaaaaaaaaaaaaaaaaaaaa")
	c := rights.Certificate{
		ID: "er_1", Subject: s, Members: []garde.SubjectID{s}, ErasedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Categories:    []rights.CategoryCount{{Category: "user.contact.email", Rows: 3}},
		Rows:          rights.Rows{Subjects: 1, Identities: 1, Events: 3},
		KeysDestroyed: []rights.DestroyedKey{{Subject: s, Digest: "sha256:00"}},
		Kept:          rights.Kept, Told: rights.Told{Topic: rights.TopicSubjectErased}, Actor: "op_1",
	}
	b, _ := json.Marshal(c)
	tok, err := jws.Sign(newCertKey(), rights.CertificateType, b)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyCertificateSample(t *testing.T) {
	c, err := rights.VerifyCertificate(sampleCertificate(t), newCertKey())
	if err != nil || c.ID != "er_1" || c.Rows.Events != 3 {
		t.Fatalf("got %+v, %v", c, err)
	}
}

// FuzzVerifyCertificate: no input makes VerifyCertificate panic, accept a
// token other than the one signed, or fail with anything but EInvalid.
func FuzzVerifyCertificate(f *testing.F) {
	good := sampleCertificate(f)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(good + ".")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := rights.VerifyCertificate(tok, newCertKey())
		if err == nil && (c == nil || tok != good) {
			t.Fatalf("accepted %q", tok)
		}
		if err != nil && (c != nil || garde.ErrorCode(err) != garde.EInvalid) {
			t.Fatalf("error code %s (%v)", garde.ErrorCode(err), err)
		}
	})
}
