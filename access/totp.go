package access

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/garde-privacy/garde"
)

// TOTP follows RFC 6238 with the parameters every authenticator app reads:
// SHA-1, 6 digits, a 30-second step, a 160-bit secret. A code is accepted for
// the current step and one step either side (clock skew), and at most once:
// the step it was accepted for is recorded, and codes for that step or an
// earlier one are refused (replay).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1
)

// TOTPEnrolment is what an authenticator app needs, shown once: the secret
// (to type in) and the otpauth:// URL (to show as a QR code). It formats
// without them.
type TOTPEnrolment struct {
	Secret string
	URL    string
}

func (TOTPEnrolment) String() string   { return "TOTP enrolment [redacted]" }
func (TOTPEnrolment) GoString() string { return "TOTP enrolment [redacted]" }

func totpField(operatorID string) string { return "operator.totp:" + operatorID }

// EnrolTOTP draws a new TOTP secret for an operator who has none confirmed,
// keeps it sealed, and returns it once; ConfirmTOTP turns it on.
func (a *Auth) EnrolTOTP(ctx context.Context, operatorID string) (TOTPEnrolment, error) {
	defer a.lock(operatorID)()
	o, err := a.store.FindOperatorByID(ctx, operatorID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if o.MFAEnabled {
		return TOTPEnrolment{}, garde.Errorf(garde.EConflict, "two-factor authentication is already enrolled; an administrator must reset it first")
	}
	enr, err := a.newTOTP(ctx, o)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if err := a.store.UpdateOperator(ctx, o); err != nil {
		return TOTPEnrolment{}, err
	}
	return enr, nil
}

// newTOTP draws a secret and seals it into o (not stored).
func (a *Auth) newTOTP(ctx context.Context, o *Operator) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: a.cfg.Issuer, AccountName: o.Email, Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return TOTPEnrolment{}, garde.Wrap(garde.EInternal, err, "could not create a TOTP secret")
	}
	sealed, err := a.cfg.Sealer.Seal(ctx, totpField(o.ID), []byte(key.Secret()))
	if err != nil {
		return TOTPEnrolment{}, garde.Wrap(garde.EInternal, err, "could not seal the TOTP secret")
	}
	o.TOTPSealed, o.TOTPLastStep = sealed, 0
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// ConfirmTOTP turns two-factor authentication on once the operator proves,
// with a code, that the authenticator holds the enrolled secret. It returns
// the operator's 10 recovery codes, shown once, and signs the operator out
// everywhere, so that the next session is a full one.
func (a *Auth) ConfirmTOTP(ctx context.Context, operatorID, code string) ([]string, error) {
	defer a.lock(operatorID)()
	o, err := a.store.FindOperatorByID(ctx, operatorID)
	if err != nil {
		return nil, err
	}
	if o.MFAEnabled {
		return nil, garde.Errorf(garde.EConflict, "two-factor authentication is already enrolled")
	}
	if o.TOTPSealed == nil {
		return nil, garde.Errorf(garde.EInvalid, "no TOTP enrolment is pending")
	}
	if !a.acctLimit.Allow("totp:"+operatorID, a.clock.Now()) {
		return nil, garde.Errorf(garde.ETooMany, "too many attempts; wait a minute and try again")
	}
	step, err := a.checkTOTP(ctx, o, code)
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, garde.Errorf(garde.EInvalid, "the code is wrong or has expired")
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	o.TOTPLastStep, o.MFAEnabled, o.RecoveryCodes = step, true, hashes
	if err := a.store.UpdateOperator(ctx, o); err != nil {
		return nil, err
	}
	if err := a.store.DeleteOperatorSessions(ctx, o.ID); err != nil {
		return nil, err
	}
	return codes, nil
}

// checkTOTP returns the time step that code is valid for, or 0 when it is
// wrong, outside the skew window or a replay. It does not record the step.
func (a *Auth) checkTOTP(ctx context.Context, o *Operator, code string) (int64, error) {
	code = strings.TrimSpace(code)
	if len(code) != totpDigits.Length() || strings.Trim(code, "0123456789") != "" || o.TOTPSealed == nil {
		return 0, nil
	}
	secret, err := a.cfg.Sealer.Open(ctx, totpField(o.ID), o.TOTPSealed)
	if err != nil {
		return 0, garde.Wrap(garde.EInternal, err, "could not open the TOTP secret")
	}
	return matchTOTP(string(secret), code, a.clock.Now(), o.TOTPLastStep)
}

// matchTOTP compares code with the codes of the steps around now, all of
// them, in constant time, and returns the matching step if it is later than
// last.
func matchTOTP(secret, code string, now time.Time, last int64) (int64, error) {
	cur := now.Unix() / totpPeriod
	var match int64
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, garde.Wrap(garde.EInternal, err, "could not compute a TOTP code")
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > last && match == 0 {
			match = step
		}
	}
	return match, nil
}

// TOTPCode returns the code of secret at t: for tests and tools that play the
// authenticator.
func TOTPCode(secret string, t time.Time) (string, error) {
	c, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("totp: %w", err)
	}
	return c, nil
}
