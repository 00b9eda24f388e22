package access_test

import (
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

// cheap keeps the tests fast; the defaults are measured by the benchmark.
var cheap = access.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestCheckPassword(t *testing.T) {
	const email = "jean.dupont@example.com"
	tests := []struct {
		name     string
		password string
		mfa      bool
		wantRule string // "" when accepted
	}{
		{"7 with MFA", "vQ7#kx2", true, "at least 8"},
		{"8 with MFA", "vQ7#kx2m", true, ""},
		{"8 without MFA", "vQ7#kx2m", false, "at least 15"},
		{"14 without MFA", "vQ7#kx2mTr9!pz", false, "at least 15"},
		{"15 without MFA", "vQ7#kx2mTr9!pzw", false, ""},
		{"64", longPassphrase(64), false, ""},
		{"64 with MFA", longPassphrase(64), true, ""},
		{"256", longPassphrase(256), false, ""},
		{"257", longPassphrase(257), false, "at most 256"},
		{"no composition rules: lower-case words", "tangerine otter cobblestone", false, ""},
		{"block-listed", "1qaz2wsx3edc4rfv", false, "common or breached"},
		{"block-listed with MFA", "baseball", true, "common or breached"},
		{"block-listed, decorated", "Password2024!!!!", false, "common or breached"},
		{"block-listed, upper case", "QWERTYUIOPASDFGHJKL", false, "common or breached"},
		{"contains email name", "xx jean.dupont rules", false, "email"},
		{"contains email word", "my name is dupont, ok?", false, "email"},
		{"contains product name", "I love GARDE so much!", false, "product name"},
		{"repeated character", "aaaaaaaaaaaaaaaa", false, "repeated"},
		{"repeated pattern", "abcabcabcabcabcab", false, "repeated"},
		{"sequence", "123456789012345", false, "repeated"},
		{"descending sequence", "zyxwvutsrqponmlk", false, "repeated"},
		{"unicode counted in characters", "éèàùâêîôûëïüÿçœ", false, ""},
		{"NFKC: full-width digits normalised", "ｐａｓｓｗｏｒｄ２０２４!!!!", false, "common or breached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := access.CheckPassword(tt.password, access.PasswordPolicy{MFA: tt.mfa, Email: email})
			if tt.wantRule == "" {
				if err != nil {
					t.Fatalf("got %v, want accepted", err)
				}
				return
			}
			if garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("got %v, want an %s error", err, garde.EInvalid)
			}
			msg := garde.ErrorMessage(err)
			if !strings.Contains(msg, tt.wantRule) {
				t.Errorf("got message %q, want it to name the rule %q", msg, tt.wantRule)
			}
			if len(tt.password) >= 8 && strings.Contains(msg, tt.password) {
				t.Errorf("message %q echoes the password", msg)
			}
		})
	}
}

func longPassphrase(n int) string {
	words := []string{"tangerine", "otter", "cobble", "lantern", "mosaic", "quartz", "willow", "ember"}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[i%len(words)])
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(' ')
	}
	return b.String()[:n]
}

func TestBlocklistSize(t *testing.T) {
	if n := access.BlocklistSize(); n < 30000 {
		t.Errorf("block-list has %d entries, want at least 30000", n)
	}
}

func TestHashVerify(t *testing.T) {
	h, err := access.HashPassword("tangerine otter cobblestone", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string", h)
	}
	h2, _ := access.HashPassword("tangerine otter cobblestone", cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt missing")
	}
	tests := []struct {
		name       string
		password   string
		want       access.Argon2Params
		ok, rehash bool
	}{
		{"right", "tangerine otter cobblestone", cheap, true, false},
		{"wrong", "tangerine otter cobblestonE", cheap, false, false},
		{"empty", "", cheap, false, false},
		{"right, parameters raised", "tangerine otter cobblestone", access.Argon2Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true, true},
		{"wrong, parameters raised", "nope", access.DefaultArgon2, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := access.VerifyPassword(h, tt.password, tt.want)
			if err != nil || ok != tt.ok || rehash != tt.rehash {
				t.Errorf("got %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
	t.Run("NFKC", func(t *testing.T) {
		h, _ := access.HashPassword("caf\u00e9 au lait, s'il vous pla\u00eet", cheap) // precomposed é
		ok, _, err := access.VerifyPassword(h, "cafe\u0301 au lait, s'il vous pla\u00eet", cheap)
		if !ok || err != nil {
			t.Errorf("decomposed form: got %v, %v; want a match", ok, err)
		}
	})
}

func TestParseHash(t *testing.T) {
	good := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	p, salt, key, err := access.ParseHash(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory != 19456 || p.Time != 2 || p.Threads != 1 || len(salt) != 16 || len(key) != 32 {
		t.Errorf("got %+v, salt %d, key %d", p, len(salt), len(key))
	}
	bad := []string{
		"",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$t=2,m=19456,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=019456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g$",
	}
	for _, s := range bad {
		if _, _, _, err := access.ParseHash(s); garde.ErrorCode(err) != garde.EInvalid {
			t.Errorf("ParseHash(%q) = %v, want an %s error", s, err, garde.EInvalid)
		}
		if ok, _, err := access.VerifyPassword(s, "x", cheap); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want no match and an error", s, ok, err)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	h, _ := access.HashPassword("seed", cheap)
	f.Add(h)
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := access.ParseHash(s)
		if err != nil {
			return
		}
		// Whatever parses is bounded and round-trips; verify only cheap ones.
		if p.Memory > 1<<21 || p.Time > 64 || len(salt) > 64 || len(key) > 64 {
			t.Fatalf("ParseHash(%q) accepted out-of-range %+v", s, p)
		}
		if p.Memory <= 1024 && p.Time <= 2 {
			if _, _, err := access.VerifyPassword(s, "x", p); err != nil {
				t.Fatalf("VerifyPassword of a parsed hash: %v", err)
			}
		}
	})
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := access.HashPassword("tangerine otter cobblestone", access.DefaultArgon2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h, _ := access.HashPassword("tangerine otter cobblestone", access.DefaultArgon2)
	for b.Loop() {
		access.VerifyPassword(h, "tangerine otter cobblestone", access.DefaultArgon2)
	}
}
