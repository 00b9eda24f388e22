package verify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/mail"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
)

// Mail is a message with a one-time code. Text holds the code: whoever
// handles a Mail must not log it, nor its address.
type Mail struct {
	To      string // the address the person gave
	Subject string
	Text    string // plain text, in Lang
	Lang    string // "fr" or "en"
}

// Sender delivers a code by email. It must not log the address or the code.
type Sender func(ctx context.Context, m Mail) error

// Limit allows N events in any window of length Per.
type Limit struct {
	N   int
	Per time.Duration
}

func (l Limit) or(def Limit) Limit {
	if l.N <= 0 || l.Per <= 0 {
		return def
	}
	return l
}

// Defaults of Codes.
const (
	DefaultTTL         = 10 * time.Minute
	DefaultMaxAttempts = 5
)

// Default limits of Codes.
var (
	DefaultPerAddress = Limit{N: 3, Per: time.Hour}
	DefaultPerIP      = Limit{N: 20, Per: time.Hour}
	DefaultWrongPerIP = Limit{N: 30, Per: time.Hour}
)

// Kinds of rate-limit events (Event.Kind).
const (
	EventAddress = "address" // a code sent to an address
	EventIP      = "ip"      // a code asked for from an IP
	EventWrongIP = "wrong"   // a wrong code typed from an IP
)

// pruneAfter is how long rate-limit events and dead codes are kept at least.
const pruneAfter = 24 * time.Hour

// Code is a one-time code as it is stored: an HMAC of the code, never the
// code itself.
type Code struct {
	RequestID string
	Hash      []byte // HMAC-SHA-256 of the request id and the code, under Codes.Key
	Identity  []byte // the caller's identity key; empty once the code is used
	Created   time.Time
	Expires   time.Time
	Attempts  int  // wrong codes typed so far
	Consumed  bool // the code was used
}

// CodeStore keeps one-time codes and rate-limit events
// (store.Verifications). UpdateCodes runs fn in one write transaction,
// serialised with every other write to the database: what fn reads through
// tx cannot change before it commits, so that two concurrent callers never
// both pass a limit or both count the same attempt. It commits when fn
// returns nil and rolls back otherwise.
type CodeStore interface {
	UpdateCodes(ctx context.Context, fn func(tx CodeTx) error) error
}

// CodeTx is what Codes reads and writes inside one transaction. Times are
// kept to the nanosecond.
type CodeTx interface {
	// FindCode returns the code of a request; ENotFound if it has none.
	FindCode(ctx context.Context, requestID string) (Code, error)
	// SaveCode creates the request's code or replaces it entirely.
	SaveCode(ctx context.Context, c Code) error
	// CountEvents counts the events of kind and key at or after since.
	CountEvents(ctx context.Context, kind string, key []byte, since time.Time) (int, error)
	// CreateEvent records one event.
	CreateEvent(ctx context.Context, kind string, key []byte, at time.Time) error
	// DeleteBefore deletes the events before t and the codes that expired
	// before t.
	DeleteBefore(ctx context.Context, t time.Time) error
}

// Codes sends and checks one-time codes by email. Its fields are read-only
// once in use; it is safe for concurrent use.
type Codes struct {
	Store CodeStore
	// Key (32 bytes, derived from the vault by the caller) keys the HMACs
	// of codes, addresses and IPs.
	Key   []byte
	Send  Sender
	Clock garde.Clock // garde.SystemClock when nil
	// TTL is how long a code works (DefaultTTL when zero).
	TTL time.Duration
	// MaxAttempts wrong codes kill a code (DefaultMaxAttempts when zero).
	MaxAttempts int
	// PerAddress and PerIP limit the codes sent to one address and asked
	// for from one IP; WrongPerIP limits the wrong codes typed from one IP,
	// across requests. A zero Limit is the default.
	PerAddress, PerIP, WrongPerIP Limit
}

// The public messages. A wrong, expired, used or unknown code gets the same.
var (
	errWrongCode  = garde.Errorf(garde.EInvalid, "wrong or expired code")
	errDeadCode   = garde.Errorf(garde.ETooMany, "too many wrong codes: ask for a new code")
	errWrongFlood = garde.Errorf(garde.ETooMany, "too many wrong codes from this network: try again later")
	errTooMany    = garde.Errorf(garde.ETooMany, "too many codes asked for: try again later")
)

// Start issues a fresh code for request and sends it to address. identity
// is the caller's opaque identity key for the address (the blind index of
// the normalised email; never the address itself): it is stored so that
// Check can return it. Any earlier code of the request dies. ip is the
// caller's IP address; when empty (a command line, a test) only the address
// limit applies.
//
// Errors: EInvalid for a malformed request id, address or identity;
// ETooMany past a rate limit (nothing is sent, nothing counted);
// EUnavailable when the mail cannot be sent. Start behaves and takes (about)
// the same time whether or not anyone is known under the address: it does
// not know, nor ask.
func (c *Codes) Start(ctx context.Context, requestID, address string, identity []byte, lang, ip string) error {
	if err := c.ready(); err != nil {
		return err
	}
	if !validRequestID(requestID) {
		return garde.Errorf(garde.EInvalid, "malformed request id")
	}
	if !validAddress(address) {
		return garde.Errorf(garde.EInvalid, "this is not an email address")
	}
	if len(identity) == 0 || len(identity) > 256 {
		return garde.Errorf(garde.EInvalid, "an identity key of 1 to 256 bytes is required")
	}
	lang = mailLang(lang)
	now := c.now()
	code := newCode()
	ttl := c.ttl()
	type limited struct {
		kind  string
		key   []byte
		limit Limit
	}
	keys := []limited{{EventAddress, c.mac("address", strings.ToLower(address)), c.PerAddress.or(DefaultPerAddress)}}
	if ip != "" {
		keys = append(keys, limited{EventIP, c.mac("ip", ip), c.PerIP.or(DefaultPerIP)})
	}
	saved := Code{RequestID: requestID, Hash: c.codeHash(requestID, code), Identity: identity,
		Created: now, Expires: now.Add(ttl)}
	var over bool
	err := c.Store.UpdateCodes(ctx, func(tx CodeTx) error {
		over = false
		if err := tx.DeleteBefore(ctx, now.Add(-c.keep())); err != nil {
			return err
		}
		for _, k := range keys {
			n, err := tx.CountEvents(ctx, k.kind, k.key, now.Add(-k.limit.Per))
			if err != nil {
				return err
			}
			if n >= k.limit.N {
				over = true
				// keep checking the other keys: the same work either way
			}
		}
		if over {
			return nil // commit the pruning only
		}
		for _, k := range keys {
			if err := tx.CreateEvent(ctx, k.kind, k.key, now); err != nil {
				return err
			}
		}
		return tx.SaveCode(ctx, saved)
	})
	if err != nil {
		return storeError(err)
	}
	if over {
		return errTooMany
	}
	if err := c.Send(ctx, codeMail(address, code, lang, ttl)); err != nil {
		return garde.Wrap(garde.EUnavailable, err, "the code could not be sent: try again later")
	}
	return nil
}

// Check checks code for request; on success it returns the identity passed
// to Start and consumes the code (it works once). A wrong code counts an
// attempt; wrong, expired, used, malformed and unknown codes all answer the
// same EInvalid "wrong or expired code". The wrong code that uses up the
// last attempt, and any code after it (even the right one), answer ETooMany;
// so does any code from an IP past its limit of wrong codes (without
// counting an attempt). Codes are compared in constant time, by their HMAC.
func (c *Codes) Check(ctx context.Context, requestID, code, ip string) ([]byte, error) {
	if err := c.ready(); err != nil {
		return nil, err
	}
	code = strings.ReplaceAll(code, " ", "")
	well := validRequestID(requestID) && validCode(code)
	var hash []byte
	if well {
		hash = c.codeHash(requestID, code)
	} else {
		hash = c.codeHash("", "") // the same work
	}
	now := c.now()
	tries := c.maxAttempts()
	wrong := c.WrongPerIP.or(DefaultWrongPerIP)
	var ipKey []byte
	if ip != "" {
		ipKey = c.mac("ip", ip)
	}
	var identity []byte
	var result error
	err := c.Store.UpdateCodes(ctx, func(tx CodeTx) error {
		identity, result = nil, nil
		if ipKey != nil {
			n, err := tx.CountEvents(ctx, EventWrongIP, ipKey, now.Add(-wrong.Per))
			if err != nil {
				return err
			}
			if n >= wrong.N {
				result = errWrongFlood
				return nil
			}
		}
		// a wrong answer of any kind is counted against the IP
		miss := func(err error) error {
			result = err
			if ipKey == nil {
				return nil
			}
			return tx.CreateEvent(ctx, EventWrongIP, ipKey, now)
		}
		if !well {
			return miss(errWrongCode)
		}
		saved, err := tx.FindCode(ctx, requestID)
		if garde.ErrorCode(err) == garde.ENotFound {
			return miss(errWrongCode)
		}
		if err != nil {
			return err
		}
		match := hmac.Equal(saved.Hash, hash)
		switch {
		case saved.Consumed || !now.Before(saved.Expires):
			return miss(errWrongCode)
		case saved.Attempts >= tries:
			return miss(errDeadCode)
		case !match:
			saved.Attempts++
			if err := tx.SaveCode(ctx, saved); err != nil {
				return err
			}
			if saved.Attempts >= tries {
				return miss(errDeadCode)
			}
			return miss(errWrongCode)
		}
		identity = saved.Identity
		saved.Consumed, saved.Identity = true, nil
		return tx.SaveCode(ctx, saved)
	})
	if err != nil {
		return nil, storeError(err)
	}
	if result != nil {
		return nil, result
	}
	return identity, nil
}

func (c *Codes) ready() error {
	if c.Store == nil || c.Send == nil || len(c.Key) < 32 {
		return garde.Errorf(garde.EInternal, "verification codes are not configured")
	}
	return nil
}

func (c *Codes) now() time.Time {
	if c.Clock == nil {
		return garde.SystemClock{}.Now()
	}
	return c.Clock.Now()
}

func (c *Codes) ttl() time.Duration {
	if c.TTL <= 0 {
		return DefaultTTL
	}
	return c.TTL
}

func (c *Codes) maxAttempts() int {
	if c.MaxAttempts <= 0 {
		return DefaultMaxAttempts
	}
	return c.MaxAttempts
}

// keep is how far back events and dead codes must be kept: a day, or the
// longest limit window.
func (c *Codes) keep() time.Duration {
	d := max(pruneAfter, c.ttl())
	for _, l := range []Limit{c.PerAddress.or(DefaultPerAddress), c.PerIP.or(DefaultPerIP), c.WrongPerIP.or(DefaultWrongPerIP)} {
		d = max(d, l.Per)
	}
	return d
}

// mac is the HMAC of a labelled value under Key.
func (c *Codes) mac(label, value string) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte("garde/verify/" + label + "\x00"))
	m.Write([]byte(value))
	return m.Sum(nil)
}

// codeHash binds a code to its request: a code is no good for another one.
func (c *Codes) codeHash(requestID, code string) []byte {
	return c.mac("code", requestID+"\x00"+code)
}

// newCode returns 6 decimal digits from crypto/rand, uniformly: values at
// or above the largest multiple of 10⁶ that fits in 32 bits are drawn again.
func newCode() string {
	const n = 1_000_000
	const limit = (1 << 32) - (1<<32)%n
	var b [4]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
		v := binary.BigEndian.Uint32(b[:])
		if uint64(v) < limit {
			return formatCode(v % n)
		}
	}
}

func formatCode(v uint32) string {
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:])
}

func validCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validRequestID accepts the ids Garde makes ("r_…", "v_…"): 1 to 100
// letters, digits, '_' and '-'.
func validRequestID(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}

// validAddress accepts one bare address (no name, no angle brackets).
func validAddress(s string) bool {
	if s == "" || len(s) > 254 || strings.ContainsAny(s, "\r\n") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// storeError keeps the store's *garde.Error, and hides any other cause
// behind a safe message.
func storeError(err error) error {
	if garde.ErrorCode(err) != garde.EInternal {
		return err
	}
	return garde.Wrap(garde.EUnavailable, err, "verification is unavailable: try again later")
}
