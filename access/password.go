package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/garde-privacy/garde"
)

// Password lengths, in Unicode code points after NFKC normalisation
// (NIST SP 800-63B rev. 4, § 3.1.1.2).
const (
	MinPasswordLength    = 15  // a password that is the only factor
	MinPasswordLengthMFA = 8   // a password used with a second factor
	MaxPasswordLength    = 256 // far above the 64 NIST asks verifiers to allow
	maxPasswordBytes     = 4 * MaxPasswordLength
)

// Argon2Params are the argon2id cost parameters of a password hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultArgon2 is OWASP's first argon2id configuration (m=19 MiB, t=2, p=1).
// BenchmarkHashPassword measures 45-65 ms a hash (20 MB allocated) on the
// shared 2-core development machine, within the ~100 ms sign-in budget;
// stronger parameters would cross it there. A hash made with other
// parameters is replaced at the next successful sign-in.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds that ParseHash enforces, so that a corrupt or hostile hash string
// cannot make a verification allocate gigabytes or spin for minutes.
const (
	maxArgon2Memory = 1 << 21 // KiB: 2 GiB
	maxArgon2Time   = 64
	minSaltLen      = 8
	maxSaltLen      = 64
	minKeyLen       = 16
	maxKeyLen       = 64
)

var b64 = base64.RawStdEncoding.Strict()

// HashPassword returns the argon2id hash of password in PHC string format,
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" (base64 without padding).
// The password is NFKC-normalised first, so that the same characters typed
// on different keyboards verify alike. It does not check the policy: see
// CheckPassword.
func HashPassword(password string, p Argon2Params) (string, error) {
	if err := p.valid(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", garde.Wrap(garde.EInternal, err, "could not hash the password")
	}
	key := argon2.IDKey([]byte(normalizePassword(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodeHash(p, salt, key), nil
}

func encodeHash(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports, in constant time over the hash, whether password
// matches the PHC string encoded, and whether the hash should be replaced
// because it was made with parameters other than want. A malformed hash is an
// error, never a match.
func VerifyPassword(encoded, password string, want Argon2Params) (ok, rehash bool, err error) {
	p, salt, key, err := ParseHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(normalizePassword(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p != want, nil
}

// ParseHash decodes an argon2id PHC string. It accepts only argon2id version
// 19 with the parameters in the order m, t, p and bounded costs.
func ParseHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	bad := func(why string) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, garde.Errorf(garde.EInvalid, "malformed password hash: %s", why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("want m, t and p parameters")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return bad("want m, t and p parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter out of range")
		}
		vals[i] = n
	}
	if vals[2] < 1 || vals[2] > 255 {
		return bad("parameter out of range")
	}
	p = Argon2Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return bad("salt is not base64")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return bad("hash is not base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.valid(); err != nil {
		return bad("parameter out of range")
	}
	return p, salt, key, nil
}

func (p Argon2Params) valid() error {
	switch {
	case p.Threads < 1,
		p.Time < 1 || p.Time > maxArgon2Time,
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory,
		p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen,
		p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return garde.Errorf(garde.EInvalid, "argon2id parameters out of range")
	}
	return nil
}

// normalizePassword applies NFKC, so that e.g. a full-width digit and an
// ASCII digit, or a precomposed and a decomposed "é", are the same password.
func normalizePassword(pw string) string { return norm.NFKC.String(pw) }

// PasswordPolicy tells CheckPassword about the account the password is for.
type PasswordPolicy struct {
	// MFA is true when the password is always used with a second factor.
	MFA bool
	// Email is the operator's address; its local part may not appear in the
	// password.
	Email string
}

// CheckPassword applies the password rules of NIST SP 800-63B rev. 4: at
// least 15 characters when the password is the only factor, 8 with a second
// factor, at most 256, no composition rules, not on the block-list of common
// and breached passwords (also with digits or symbols around it), not one
// character or short pattern repeated or a plain sequence, and not containing
// the operator's email name or the product's name. The error is a
// garde.EInvalid whose message names the rule that failed; it never echoes the
// password.
func CheckPassword(password string, pol PasswordPolicy) error {
	if len(password) > maxPasswordBytes {
		return garde.Errorf(garde.EInvalid, "password must be at most %d characters", MaxPasswordLength)
	}
	pw := normalizePassword(password)
	n := utf8.RuneCountInString(pw)
	min := MinPasswordLength
	if pol.MFA {
		min = MinPasswordLengthMFA
	}
	switch {
	case !utf8.ValidString(pw):
		return garde.Errorf(garde.EInvalid, "password must be valid UTF-8 text")
	case n < min && pol.MFA:
		return garde.Errorf(garde.EInvalid, "password must be at least %d characters", min)
	case n < min:
		return garde.Errorf(garde.EInvalid, "password must be at least %d characters (%d with two-factor authentication)", min, MinPasswordLengthMFA)
	case n > MaxPasswordLength:
		return garde.Errorf(garde.EInvalid, "password must be at most %d characters", MaxPasswordLength)
	}
	lower := strings.ToLower(pw)
	if strings.Contains(lower, "garde") {
		return garde.Errorf(garde.EInvalid, "password must not contain the product name")
	}
	for _, part := range emailParts(pol.Email) {
		if strings.Contains(lower, part) {
			return garde.Errorf(garde.EInvalid, "password must not contain your email address or name")
		}
	}
	if isRepetitive(lower) {
		return garde.Errorf(garde.EInvalid, "password must not be a repeated character, pattern or plain sequence")
	}
	if blocked(lower) {
		return garde.Errorf(garde.EInvalid, "password is on the list of common or breached passwords")
	}
	return nil
}

// emailParts returns the pieces of an email's local part that a password may
// not contain: the whole local part and its dot-, dash-, plus- or
// underscore-separated words of four characters or more.
func emailParts(email string) []string {
	local, _, _ := strings.Cut(strings.ToLower(normalizePassword(strings.TrimSpace(email))), "@")
	if local == "" {
		return nil
	}
	var parts []string
	if utf8.RuneCountInString(local) >= 3 {
		parts = append(parts, local)
	}
	for _, w := range strings.FieldsFunc(local, func(r rune) bool { return strings.ContainsRune(".-+_", r) }) {
		if utf8.RuneCountInString(w) >= 4 && w != local {
			parts = append(parts, w)
		}
	}
	return parts
}

// isRepetitive reports whether s is one short unit repeated ("aaaa…",
// "abcabc…") or a run of consecutive code points ("123456789…", "zyxw…").
func isRepetitive(s string) bool {
	r := []rune(s)
	for period := 1; period <= len(r)/2; period++ {
		rep := true
		for i := period; i < len(r); i++ {
			if r[i] != r[i-period] {
				rep = false
				break
			}
		}
		if rep {
			return true
		}
	}
	for _, step := range []rune{1, -1} {
		seq := true
		for i := 1; i < len(r); i++ {
			d := r[i] - r[i-1]
			// digits wrap around: …7890123…
			if d != step && !(r[i-1] == '9' && r[i] == '0' && step == 1) && !(r[i-1] == '0' && r[i] == '9' && step == -1) {
				seq = false
				break
			}
		}
		if seq {
			return true
		}
	}
	return false
}
