package access

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/garde-privacy/garde"
)

// Reasons a sign-in failed, for the audit log and the insider-threat rules.
// They are the internal cause (errors.Is) of the one public error every
// refused sign-in gets: the caller cannot tell an unknown email from a wrong
// password, a wrong code, a locked or a disabled account.
var (
	ErrUnknownEmail  = errors.New("unknown email")
	ErrWrongPassword = errors.New("wrong password")
	ErrWrongCode     = errors.New("wrong or missing second factor")
	ErrLocked        = errors.New("sign-in locked after repeated failures")
	ErrDisabled      = errors.New("operator disabled")
)

// LoginFailedMessage is the public message of every refused sign-in.
const LoginFailedMessage = "wrong email, password or code, or sign-in temporarily locked"

func loginFailed(reason error) error {
	return garde.Wrap(garde.EUnauthorized, reason, LoginFailedMessage)
}

// Login signs an operator in with email, password and, when the operator has
// TOTP or the role requires it, code: a current TOTP code or an unused
// recovery code (which it consumes). It returns the new session with its
// token.
//
// The rules: attempts are rate-limited per source address and per email
// (garde.ETooMany); every refusal is the same garde.EUnauthorized error, and
// an unknown email costs the same password hash as a known one; after
// LockAfter consecutive failures sign-in is locked for LockFor, and after
// MaxFailures until an administrator unlocks it. An operator whose role
// requires a second factor but who has none enrolled gets an enrolment-only
// session (Session.EnrolOnly), good only for EnrolTOTP and ConfirmTOTP.
func (a *Auth) Login(ctx context.Context, email, password, code, remoteAddr string) (Session, error) {
	email = NormalizeEmail(email)
	now := a.clock.Now()
	if !a.ipLimit.Allow(ipKey(remoteAddr), now) || !a.acctLimit.Allow(emailKey(email), now) {
		return Session{}, garde.Errorf(garde.ETooMany, "too many sign-in attempts; wait a minute and try again")
	}
	o, err := a.store.FindOperatorByEmail(ctx, email)
	if garde.ErrorCode(err) == garde.ENotFound {
		a.verify(ctx, a.dummyHash, password)
		return Session{}, loginFailed(ErrUnknownEmail)
	}
	if err != nil {
		return Session{}, err
	}
	defer a.lock(o.ID)()
	// Read again under the lock: a concurrent attempt may have counted a
	// failure or used a code.
	if o, err = a.store.FindOperatorByID(ctx, o.ID); err != nil {
		return Session{}, err
	}
	now = a.clock.Now()
	if o.Disabled || o.Locked(now) {
		a.verify(ctx, a.dummyHash, password)
		if o.Disabled {
			return Session{}, loginFailed(ErrDisabled)
		}
		return Session{}, loginFailed(ErrLocked)
	}
	ok, rehash, err := a.verify(ctx, o.PasswordHash, password)
	if err != nil {
		return Session{}, err
	}
	if !ok {
		return Session{}, a.fail(ctx, o, now, ErrWrongPassword)
	}
	if rehash {
		if h, err := a.hash(ctx, password); err == nil {
			o.PasswordHash = h
		}
	}
	needMFA := o.MFAEnabled || a.cfg.RequiresMFA(o.Role)
	if needMFA && !o.MFAEnabled {
		// Password right, second factor still to enrol.
		o.FailedLogins, o.LockedUntil = 0, time.Time{}
		if err := a.store.UpdateOperator(ctx, o); err != nil {
			return Session{}, err
		}
		return a.newSession(ctx, o, false, true)
	}
	if needMFA {
		if isRecoveryCode(code) {
			ok = useRecoveryCode(o, code)
		} else {
			step, err := a.checkTOTP(ctx, o, code)
			if err != nil {
				return Session{}, err
			}
			ok = step != 0
			if ok {
				o.TOTPLastStep = step
			}
		}
		if !ok {
			return Session{}, a.fail(ctx, o, now, ErrWrongCode)
		}
	}
	o.FailedLogins, o.LockedUntil = 0, time.Time{}
	if err := a.store.UpdateOperator(ctx, o); err != nil {
		return Session{}, err
	}
	return a.newSession(ctx, o, needMFA, false)
}

// fail counts a failed sign-in and locks when the count calls for it.
func (a *Auth) fail(ctx context.Context, o *Operator, now time.Time, reason error) error {
	o.FailedLogins++
	switch {
	case o.FailedLogins >= a.cfg.MaxFailures:
		o.LockedUntil = lockedForever
	case o.FailedLogins%a.cfg.LockAfter == 0:
		o.LockedUntil = now.Add(a.cfg.LockFor)
	}
	if err := a.store.UpdateOperator(ctx, o); err != nil {
		return err
	}
	return loginFailed(reason)
}

// lockedForever is the lock an administrator must lift (Unlock).
var lockedForever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// hash and verify compute argon2id under a semaphore, so that a burst of
// sign-ins cannot take more than MaxConcurrent × Argon2.Memory of memory.
func (a *Auth) hash(ctx context.Context, password string) (string, error) {
	if err := a.acquire(ctx); err != nil {
		return "", err
	}
	defer a.release()
	return HashPassword(password, a.cfg.Argon2)
}

func (a *Auth) verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	if err := a.acquire(ctx); err != nil {
		return false, false, err
	}
	defer a.release()
	if len(password) > maxPasswordBytes {
		// Longer than any accepted password: spend the same time, match nothing.
		VerifyPassword(a.dummyHash, "", a.cfg.Argon2)
		return false, false, nil
	}
	return VerifyPassword(encoded, password, a.cfg.Argon2)
}

func (a *Auth) acquire(ctx context.Context) error {
	select {
	case a.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return garde.Wrap(garde.EUnavailable, ctx.Err(), "server busy; try again")
	}
}

func (a *Auth) release() { <-a.hashSem }

// emailKey keys the per-account limiter without keeping emails in memory.
func emailKey(email string) string {
	h := sha256.Sum256([]byte(email))
	return string(h[:16])
}
