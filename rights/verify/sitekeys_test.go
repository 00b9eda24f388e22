package verify

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseSiteKeys(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	secret := []byte(strings.Repeat("s", MinHMACKey))
	spec := "web1:ed25519:" + base64.StdEncoding.EncodeToString(pub) + ", app1:hs256:" + base64.RawURLEncoding.EncodeToString(secret)
	k, err := ParseSiteKeys("https://shop.example", spec)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Ed25519["web1"].Equal(pub) || string(k.HMAC["app1"]) != string(secret) || k.Issuer != "https://shop.example" {
		t.Fatalf("keys %+v", k)
	}
	for _, bad := range []string{"", "web1", "web1:ed25519:", "web1:ed25519:AAAA", "web1:rsa:" + base64.StdEncoding.EncodeToString(pub),
		"app1:hs256:c2hvcnQ", "w:ed25519:" + base64.StdEncoding.EncodeToString(pub) + ",w:hs256:" + base64.StdEncoding.EncodeToString(secret),
		"w:ed25519:!!!"} {
		if _, err := ParseSiteKeys("https://shop.example", bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(secret)) {
			t.Errorf("%q: the error echoes the key", bad)
		}
	}
	if _, err := ParseSiteKeys("", spec); err == nil {
		t.Error("keys without an issuer accepted")
	}
}

func FuzzParseSiteKeys(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(nil)
	f.Add("web1:ed25519:" + base64.StdEncoding.EncodeToString(pub))
	f.Add("a:hs256:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 40))) + ",b:ed25519:x")
	f.Fuzz(func(t *testing.T, spec string) {
		k, err := ParseSiteKeys("https://shop.example", spec)
		if err == nil {
			if verr := k.Validate(); verr != nil {
				t.Fatalf("accepted keys that do not validate: %v", verr)
			}
		}
	})
}
