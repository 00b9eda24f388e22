package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/garde-privacy/garde"
)

// RecoveryCodeCount is how many recovery codes an operator holds. Each is
// 16 random symbols (79 bits) written as four groups of four, shown once,
// stored as a SHA-256 hash (79 bits cannot be brute-forced, so no slow hash
// is needed), and consumed by its use.
const RecoveryCodeCount = 10

// codeAlphabet has 31 symbols without look-alikes (no 0/O, 1/I/L).
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// randomGroups returns n groups of 4 random symbols joined by dashes.
func randomGroups(n int) string {
	b := make([]byte, 0, 5*n)
	for i := range 4 * n {
		if i > 0 && i%4 == 0 {
			b = append(b, '-')
		}
		b = append(b, codeAlphabet[randIndex(len(codeAlphabet))])
	}
	return string(b)
}

// randIndex returns a uniform random number in [0, n), n ≤ 256.
func randIndex(n int) int {
	limit := 256 - 256%n
	var buf [1]byte
	for {
		rand.Read(buf[:])
		if int(buf[0]) < limit {
			return int(buf[0]) % n
		}
	}
}

// newRecoveryCodes returns fresh codes and their hashes.
func newRecoveryCodes() (codes, hashes []string, err error) {
	for range RecoveryCodeCount {
		c := randomGroups(4)
		codes = append(codes, c)
		hashes = append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes, nil
}

// hashRecoveryCode hashes a code as typed: case, spaces and dashes do not
// matter.
func hashRecoveryCode(code string) string {
	c := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(code)))
	h := sha256.Sum256([]byte(c))
	return hex.EncodeToString(h[:])
}

// isRecoveryCode reports whether code has the shape of a recovery code
// rather than a TOTP code.
func isRecoveryCode(code string) bool { return len(strings.TrimSpace(code)) > totpDigits.Length() }

// useRecoveryCode removes code from o's recovery codes if it is one of them,
// comparing with every hash in constant time.
func useRecoveryCode(o *Operator, code string) bool {
	h := []byte(hashRecoveryCode(code))
	found := -1
	for i, stored := range o.RecoveryCodes {
		if subtle.ConstantTimeCompare(h, []byte(stored)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return false
	}
	o.RecoveryCodes = slices.Delete(slices.Clone(o.RecoveryCodes), found, found+1)
	return true
}

// RegenerateRecoveryCodes replaces an operator's recovery codes with fresh
// ones, returned once.
func (a *Auth) RegenerateRecoveryCodes(ctx context.Context, operatorID string) ([]string, error) {
	defer a.lock(operatorID)()
	o, err := a.store.FindOperatorByID(ctx, operatorID)
	if err != nil {
		return nil, err
	}
	if !o.MFAEnabled {
		return nil, garde.Errorf(garde.EConflict, "two-factor authentication is not enrolled")
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	o.RecoveryCodes = hashes
	if err := a.store.UpdateOperator(ctx, o); err != nil {
		return nil, err
	}
	return codes, nil
}
