package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"time"

	"github.com/garde-privacy/garde"
)

// Session is a signed-in console session. Its token — 256 random bits, the
// cookie's value — is returned once, in Token, by Login; the store keeps only
// its SHA-256 hash, so a copy of the database opens no session. A session
// ends 12 hours after sign-in or 30 minutes after its last use, whichever
// comes first (NIST SP 800-63B rev. 4, AAL2), or when it is revoked.
type Session struct {
	ID         string // opaque, not a secret: names the session in lists and audit entries
	OperatorID string
	TokenHash  []byte
	Token      string // set only by Login; never stored
	// MFA is true when the sign-in used a second factor.
	MFA bool
	// EnrolOnly marks the short session of an operator who must enrol TOTP
	// before anything else: Authenticate refuses it, AuthenticateEnrolment
	// accepts only it.
	EnrolOnly bool
	Created   time.Time
	LastSeen  time.Time
	Expires   time.Time // absolute end
}

// String names the session by id only.
func (s Session) String() string { return fmt.Sprintf("session %s of %s", s.ID, s.OperatorID) }

// GoString is String: %#v must not print the token either.
func (s Session) GoString() string { return s.String() }

// LogValue keeps the token out of structured logs.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.String("operator", s.OperatorID))
}

// HashToken is how a session token is stored and looked up.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func (a *Auth) newSession(ctx context.Context, o *Operator, mfa, enrolOnly bool) (Session, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Session{}, garde.Wrap(garde.EInternal, err, "could not create a session")
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := a.clock.Now()
	life := a.cfg.SessionMaxAge
	if enrolOnly {
		life = a.cfg.EnrolmentMaxAge
	}
	s := Session{
		ID: "ses_" + garde.RandomID(), OperatorID: o.ID, TokenHash: HashToken(token),
		MFA: mfa, EnrolOnly: enrolOnly, Created: now, LastSeen: now, Expires: now.Add(life),
	}
	if err := a.store.CreateSession(ctx, &s); err != nil {
		return Session{}, err
	}
	s.Token = token
	return s, nil
}

var errSignIn = garde.Errorf(garde.EUnauthorized, "sign-in required")

// Authenticate returns the operator and the full session of a token. It
// refuses, with garde.EUnauthorized, an unknown token, an expired or idle
// session (which it deletes), a disabled operator, an enrolment-only
// session, and a session without a second factor for a role that now
// requires one. It records the use at most once a TouchEvery.
func (a *Auth) Authenticate(ctx context.Context, token string) (Operator, Session, error) {
	o, s, err := a.authenticate(ctx, token)
	if err != nil {
		return Operator{}, Session{}, err
	}
	if s.EnrolOnly {
		return Operator{}, Session{}, garde.Errorf(garde.EUnauthorized, "two-factor enrolment required")
	}
	if a.cfg.RequiresMFA(o.Role) && !s.MFA {
		a.store.DeleteSession(ctx, s.ID)
		return Operator{}, Session{}, garde.Errorf(garde.EUnauthorized, "sign in again with two-factor authentication")
	}
	return o, s, nil
}

// AuthenticateEnrolment accepts only the enrolment-only session that Login
// returns to an operator who must enrol TOTP: the pages that call EnrolTOTP
// and ConfirmTOTP use it, and nothing else does.
func (a *Auth) AuthenticateEnrolment(ctx context.Context, token string) (Operator, Session, error) {
	o, s, err := a.authenticate(ctx, token)
	if err != nil {
		return Operator{}, Session{}, err
	}
	if !s.EnrolOnly {
		return Operator{}, Session{}, garde.Errorf(garde.EForbidden, "two-factor authentication is already enrolled")
	}
	return o, s, nil
}

func (a *Auth) authenticate(ctx context.Context, token string) (Operator, Session, error) {
	if token == "" || len(token) > 128 {
		return Operator{}, Session{}, errSignIn
	}
	s, err := a.store.FindSession(ctx, HashToken(token))
	if garde.ErrorCode(err) == garde.ENotFound {
		return Operator{}, Session{}, errSignIn
	}
	if err != nil {
		return Operator{}, Session{}, err
	}
	now := a.clock.Now()
	switch {
	case !now.Before(s.Expires):
		a.store.DeleteSession(ctx, s.ID)
		return Operator{}, Session{}, garde.Errorf(garde.EUnauthorized, "session expired; sign in again")
	case now.Sub(s.LastSeen) >= a.cfg.SessionIdle:
		a.store.DeleteSession(ctx, s.ID)
		return Operator{}, Session{}, garde.Errorf(garde.EUnauthorized, "session expired after %d minutes without use; sign in again", int(a.cfg.SessionIdle.Minutes()))
	}
	o, err := a.store.FindOperatorByID(ctx, s.OperatorID)
	if garde.ErrorCode(err) == garde.ENotFound || err == nil && o.Disabled {
		a.store.DeleteSession(ctx, s.ID)
		return Operator{}, Session{}, errSignIn
	}
	if err != nil {
		return Operator{}, Session{}, err
	}
	if now.Sub(s.LastSeen) >= a.cfg.TouchEvery {
		if err := a.store.TouchSession(ctx, s.ID, now); err != nil {
			return Operator{}, Session{}, err
		}
		s.LastSeen = now
	}
	return *o, *s, nil
}

// Logout ends a session.
func (a *Auth) Logout(ctx context.Context, s Session) error { return a.store.DeleteSession(ctx, s.ID) }

// RevokeSessions ends every session of an operator.
func (a *Auth) RevokeSessions(ctx context.Context, operatorID string) error {
	return a.store.DeleteOperatorSessions(ctx, operatorID)
}

// PurgeSessions deletes the sessions that can no longer be used, for a
// periodic job; it returns how many.
func (a *Auth) PurgeSessions(ctx context.Context) (int, error) {
	now := a.clock.Now()
	return a.store.DeleteStaleSessions(ctx, now, now.Add(-a.cfg.SessionIdle))
}
