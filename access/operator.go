package access

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
)

// Operator is a person who signs in to the console. Its secrets are kept
// only in forms that are useless to a thief of the database: the password as
// an argon2id hash, the TOTP secret sealed by a Sealer, the recovery codes as
// SHA-256 hashes. An Operator formats (%v, %+v, %#v, slog) without any of them.
type Operator struct {
	ID    string
	Email string // lower-cased; personal data of the operator: never logged
	Name  string
	Role  string

	PasswordHash    string // argon2id, PHC string format
	PasswordChanged time.Time

	TOTPSealed   []byte // the base32 TOTP secret, sealed; nil: none enrolled
	TOTPLastStep int64  // the last time step a TOTP code was accepted for
	MFAEnabled   bool   // TOTP enrolled and confirmed
	// RecoveryCodes are the hex SHA-256 hashes of the unused recovery codes.
	RecoveryCodes []string

	FailedLogins int       // consecutive failed sign-ins
	LockedUntil  time.Time // zero: not locked

	Created  time.Time
	Disabled bool
}

// String names the operator by id and role only.
func (o Operator) String() string { return fmt.Sprintf("operator %s (%s)", o.ID, o.Role) }

// GoString is String: %#v must not print secrets either.
func (o Operator) GoString() string { return o.String() }

// LogValue keeps secrets and the email out of structured logs.
func (o Operator) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", o.ID), slog.String("role", o.Role))
}

// Locked reports whether sign-in is locked at now.
func (o Operator) Locked(now time.Time) bool { return now.Before(o.LockedUntil) }

// OperatorStore keeps operators, their sessions and training records. The
// store holds only what it is given: hashes and sealed secrets. Find methods
// return a garde.ENotFound error when nothing matches; CreateOperator returns
// a garde.EConflict error when the email is taken.
type OperatorStore interface {
	CreateOperator(ctx context.Context, o *Operator) error
	FindOperatorByID(ctx context.Context, id string) (*Operator, error)
	// FindOperatorByEmail looks up a lower-cased email.
	FindOperatorByEmail(ctx context.Context, email string) (*Operator, error)
	FindOperators(ctx context.Context) ([]*Operator, error)
	// CountOperators counts the operators of a role, disabled ones included.
	CountOperators(ctx context.Context, role string) (int, error)
	// UpdateOperator replaces every field of the operator with o.ID but
	// ID and Created.
	UpdateOperator(ctx context.Context, o *Operator) error

	CreateSession(ctx context.Context, s *Session) error
	// FindSession finds a session by the SHA-256 hash of its token.
	FindSession(ctx context.Context, tokenHash []byte) (*Session, error)
	// TouchSession records that the session was used at seen.
	TouchSession(ctx context.Context, id string, seen time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteOperatorSessions(ctx context.Context, operatorID string) error
	// DeleteStaleSessions deletes the sessions that expired before now or
	// were last seen before idleBefore, and returns how many.
	DeleteStaleSessions(ctx context.Context, now, idleBefore time.Time) (int, error)

	CreateTraining(ctx context.Context, t Training) error
	// FindTrainings returns an operator's training records, oldest first.
	FindTrainings(ctx context.Context, operatorID string) ([]Training, error)
}

// Sealer encrypts the secrets Garde must be able to read back (TOTP
// secrets). field names what is sealed and must be bound to the ciphertext
// (as AEAD associated data), so that a sealed value copied to another
// operator's row does not open.
type Sealer interface {
	Seal(ctx context.Context, field string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, field string, sealed []byte) ([]byte, error)
}

// NewAESSealer returns a Sealer that uses AES-256-GCM under a 32-byte key
// with a random nonce and the field as associated data. The key must come
// from the vault or a key file, never from the data database.
func NewAESSealer(key []byte) (Sealer, error) {
	if len(key) != 32 {
		return nil, garde.Errorf(garde.EInvalid, "sealer key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return aesSealer{aead}, nil
}

type aesSealer struct{ aead cipher.AEAD }

func (s aesSealer) Seal(_ context.Context, field string, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plaintext, []byte(field)), nil
}

func (s aesSealer) Open(_ context.Context, field string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, garde.Errorf(garde.EInternal, "sealed value too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(field))
	if err != nil {
		return nil, garde.Wrap(garde.EInternal, err, "sealed value does not open")
	}
	return pt, nil
}

// RateLimit is a token bucket: Burst attempts at once, then one every Every.
type RateLimit struct {
	Every time.Duration
	Burst int
}

// Config configures Auth. Zero fields take the defaults noted.
type Config struct {
	Store  OperatorStore // required
	Sealer Sealer        // required: seals TOTP secrets
	Clock  garde.Clock   // garde.SystemClock

	Argon2 Argon2Params // DefaultArgon2
	// RequiresMFA reports whether a role reaches personal data and so must
	// sign in with TOTP. Default: every role.
	RequiresMFA func(role string) bool
	// CSRFKey keys the CSRF tokens (32 bytes or more). Default: a random key,
	// so that forms opened before a restart must be reloaded.
	CSRFKey []byte
	Issuer  string // shown by authenticator apps; "Garde"

	LockAfter       int           // consecutive failures that lock sign-in: 10
	LockFor         time.Duration // how long: 15 minutes
	MaxFailures     int           // consecutive failures that lock until an admin unlocks: 100
	IPLimit         RateLimit     // sign-in attempts per source address: 20, then 1 every 6 s
	AccountLimit    RateLimit     // sign-in attempts per email: 10, then 1 every 20 s
	MaxConcurrent   int           // password hashes computed at once: 4 (bounds memory)
	SessionMaxAge   time.Duration // absolute lifetime: 12 hours
	SessionIdle     time.Duration // idle timeout: 30 minutes
	TouchEvery      time.Duration // least interval between recorded uses: 1 minute
	EnrolmentMaxAge time.Duration // lifetime of a TOTP-enrolment-only session: 15 minutes

	TrainingCourse   string        // the course that gates personal data: "data_protection"
	TrainingName     string        // its name in messages: "data-protection training"
	TrainingWarn     time.Duration // warn this long before expiry: 30 days
	TrainingValidity time.Duration // validity of a record without ValidUntil: 365 days
}

// Auth signs operators in and out, keeps their second factors, sessions and
// training, and refuses what the security baselines refuse. It assumes it is
// the only writer of operators (one Garde process): changes to one operator
// are serialised in memory.
type Auth struct {
	cfg         Config
	store       OperatorStore
	clock       garde.Clock
	ipLimit     *Limiter
	acctLimit   *Limiter
	hashSem     chan struct{}
	dummyHash   string
	locks       [64]sync.Mutex
	seed        maphash.Seed
	bootstrapMu sync.Mutex
}

// NewAuth returns an Auth over cfg.
func NewAuth(cfg Config) (*Auth, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, garde.Errorf(garde.EInvalid, "access: a store and a sealer are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = garde.SystemClock{}
	}
	if cfg.Argon2 == (Argon2Params{}) {
		cfg.Argon2 = DefaultArgon2
	}
	if err := cfg.Argon2.valid(); err != nil {
		return nil, err
	}
	if cfg.RequiresMFA == nil {
		cfg.RequiresMFA = func(string) bool { return true }
	}
	if len(cfg.CSRFKey) == 0 {
		cfg.CSRFKey = make([]byte, 32)
		rand.Read(cfg.CSRFKey)
	} else if len(cfg.CSRFKey) < 32 {
		return nil, garde.Errorf(garde.EInvalid, "access: the CSRF key must be at least 32 bytes")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "Garde"
	}
	setDefault(&cfg.LockAfter, 10)
	setDefault(&cfg.LockFor, 15*time.Minute)
	setDefault(&cfg.MaxFailures, 100)
	setDefault(&cfg.IPLimit, RateLimit{Every: 6 * time.Second, Burst: 20})
	setDefault(&cfg.AccountLimit, RateLimit{Every: 20 * time.Second, Burst: 10})
	setDefault(&cfg.MaxConcurrent, 4)
	setDefault(&cfg.SessionMaxAge, 12*time.Hour)
	setDefault(&cfg.SessionIdle, 30*time.Minute)
	setDefault(&cfg.TouchEvery, time.Minute)
	setDefault(&cfg.EnrolmentMaxAge, 15*time.Minute)
	setDefault(&cfg.TrainingCourse, "data_protection")
	setDefault(&cfg.TrainingName, "data-protection training")
	setDefault(&cfg.TrainingWarn, 30*24*time.Hour)
	setDefault(&cfg.TrainingValidity, 365*24*time.Hour)

	var pw [32]byte
	rand.Read(pw[:])
	dummy, err := HashPassword(string(pw[:]), cfg.Argon2)
	if err != nil {
		return nil, err
	}
	return &Auth{
		cfg:       cfg,
		store:     cfg.Store,
		clock:     cfg.Clock,
		ipLimit:   NewLimiter(cfg.IPLimit),
		acctLimit: NewLimiter(cfg.AccountLimit),
		hashSem:   make(chan struct{}, cfg.MaxConcurrent),
		dummyHash: dummy,
		seed:      maphash.MakeSeed(),
	}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// lock serialises the changes to one operator.
func (a *Auth) lock(id string) func() {
	m := &a.locks[maphash.String(a.seed, id)%uint64(len(a.locks))]
	m.Lock()
	return m.Unlock
}

// RequiresMFA reports whether role must sign in with a second factor.
func (a *Auth) RequiresMFA(role string) bool { return a.cfg.RequiresMFA(role) }

// NormalizeEmail is how emails are compared and stored: trimmed, lower case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func validEmail(email string) bool {
	local, domain, ok := strings.Cut(email, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(email, " \t\r\n<>,;") && len(email) <= 254
}

// CreateOperator creates an operator of role with a random initial password,
// returned once to be handed over. The operator enrols TOTP at first sign-in
// (Login then returns an enrolment-only session) when the role requires it.
func (a *Auth) CreateOperator(ctx context.Context, email, name, role string) (Operator, string, error) {
	email = NormalizeEmail(email)
	if !validEmail(email) {
		return Operator{}, "", garde.Errorf(garde.EInvalid, "a valid email address is required")
	}
	if strings.TrimSpace(role) == "" {
		return Operator{}, "", garde.Errorf(garde.EInvalid, "a role is required")
	}
	password, err := a.generatePassword(email)
	if err != nil {
		return Operator{}, "", err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return Operator{}, "", err
	}
	now := a.clock.Now()
	o := &Operator{
		ID: "op_" + garde.RandomID(), Email: email, Name: strings.TrimSpace(name), Role: role,
		PasswordHash: hash, PasswordChanged: now, Created: now,
	}
	if err := a.store.CreateOperator(ctx, o); err != nil {
		return Operator{}, "", err
	}
	return *o, password, nil
}

// generatePassword returns 5 groups of 4 random symbols (99 bits) from an
// alphabet without look-alikes, which satisfies the policy without MFA.
func (a *Auth) generatePassword(email string) (string, error) {
	for range 8 {
		pw := randomGroups(5)
		if CheckPassword(pw, PasswordPolicy{Email: email}) == nil {
			return pw, nil
		}
	}
	return "", garde.Errorf(garde.EInternal, "could not generate a password")
}

// ChangePassword replaces an operator's password after checking the old one
// and the policy, and signs the operator out everywhere.
func (a *Auth) ChangePassword(ctx context.Context, operatorID, old, password string) error {
	defer a.lock(operatorID)()
	o, err := a.store.FindOperatorByID(ctx, operatorID)
	if err != nil {
		return err
	}
	ok, _, err := a.verify(ctx, o.PasswordHash, old)
	if err != nil {
		return err
	}
	if !ok {
		return garde.Errorf(garde.EForbidden, "the current password is wrong")
	}
	return a.setPassword(ctx, o, password)
}

// SetPassword replaces an operator's password (an administrator's reset)
// after checking the policy, and signs the operator out everywhere.
func (a *Auth) SetPassword(ctx context.Context, operatorID, password string) error {
	defer a.lock(operatorID)()
	o, err := a.store.FindOperatorByID(ctx, operatorID)
	if err != nil {
		return err
	}
	return a.setPassword(ctx, o, password)
}

func (a *Auth) setPassword(ctx context.Context, o *Operator, password string) error {
	pol := PasswordPolicy{MFA: o.MFAEnabled || a.cfg.RequiresMFA(o.Role), Email: o.Email}
	if err := CheckPassword(password, pol); err != nil {
		return err
	}
	hash, err := a.hash(ctx, password)
	if err != nil {
		return err
	}
	o.PasswordHash, o.PasswordChanged = hash, a.clock.Now()
	if err := a.store.UpdateOperator(ctx, o); err != nil {
		return err
	}
	return a.store.DeleteOperatorSessions(ctx, o.ID)
}

// SetRole changes an operator's role and signs the operator out everywhere,
// so that no session keeps the old role's reach.
func (a *Auth) SetRole(ctx context.Context, operatorID, role string) error {
	if strings.TrimSpace(role) == "" {
		return garde.Errorf(garde.EInvalid, "a role is required")
	}
	return a.update(ctx, operatorID, true, func(o *Operator) { o.Role = role })
}

// SetDisabled disables (and signs out) or re-enables an operator.
func (a *Auth) SetDisabled(ctx context.Context, operatorID string, disabled bool) error {
	return a.update(ctx, operatorID, disabled, func(o *Operator) { o.Disabled = disabled })
}

// Unlock clears an operator's failed sign-ins and lock.
func (a *Auth) Unlock(ctx context.Context, operatorID string) error {
	return a.update(ctx, operatorID, false, func(o *Operator) { o.FailedLogins, o.LockedUntil = 0, time.Time{} })
}

// ResetMFA removes an operator's TOTP secret and recovery codes (a lost
// phone) and signs the operator out; the next sign-in enrols again.
func (a *Auth) ResetMFA(ctx context.Context, operatorID string) error {
	return a.update(ctx, operatorID, true, func(o *Operator) {
		o.TOTPSealed, o.TOTPLastStep, o.MFAEnabled, o.RecoveryCodes = nil, 0, false, nil
	})
}

func (a *Auth) update(ctx context.Context, operatorID string, signOut bool, change func(*Operator)) error {
	defer a.lock(operatorID)()
	o, err := a.store.FindOperatorByID(ctx, operatorID)
	if err != nil {
		return err
	}
	change(o)
	if err := a.store.UpdateOperator(ctx, o); err != nil {
		return err
	}
	if signOut {
		return a.store.DeleteOperatorSessions(ctx, operatorID)
	}
	return nil
}

// CreateFirstAdmin creates the first administrator with a generated password
// and an enrolled TOTP secret and recovery codes, all returned once and never
// again. It refuses (garde.EConflict) when an administrator exists.
func (a *Auth) CreateFirstAdmin(ctx context.Context, email string) (password, totpURL string, recovery []string, err error) {
	a.bootstrapMu.Lock()
	defer a.bootstrapMu.Unlock()
	n, err := a.store.CountOperators(ctx, RoleAdmin)
	if err != nil {
		return "", "", nil, err
	}
	if n > 0 {
		return "", "", nil, garde.Errorf(garde.EConflict, "an administrator already exists")
	}
	o, password, err := a.CreateOperator(ctx, email, "Administrator", RoleAdmin)
	if err != nil {
		return "", "", nil, err
	}
	defer a.lock(o.ID)()
	enr, err := a.newTOTP(ctx, &o)
	if err != nil {
		return "", "", nil, err
	}
	recovery, hashes, err := newRecoveryCodes()
	if err != nil {
		return "", "", nil, err
	}
	o.MFAEnabled, o.RecoveryCodes = true, hashes
	if err := a.store.UpdateOperator(ctx, &o); err != nil {
		return "", "", nil, err
	}
	return password, enr.URL, recovery, nil
}
