package bundle

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/garde-privacy/garde"
)

// DefaultTTL is how long a download link works when Downloads.TTL is zero.
const DefaultTTL = 7 * 24 * time.Hour

// TokenSize is the number of random bytes in a download token; a token is
// written as their unpadded base64url encoding (43 characters).
const TokenSize = 32

// tokenLen is the length of an encoded token.
var tokenLen = base64.RawURLEncoding.EncodedLen(TokenSize)

// notValid is the one answer to a link that cannot be served: unknown,
// malformed, altered, already used, expired, or whose person was erased.
// It tells nothing about which.
const notValid = "this link is not valid any more"

// Download is a copy as stored: sealed, behind the SHA-256 of its link's
// token.
type Download struct {
	ID        string
	RequestID string
	Subject   garde.SubjectID
	TokenHash []byte // SHA-256 of the token's bytes
	Sealed    []byte // nil once taken or expired
	Created   time.Time
	Expires   time.Time
	Consumed  time.Time // zero until taken
}

// DownloadStore keeps copies behind their links. Implemented by
// store.Downloads.
type DownloadStore interface {
	// CreateDownload stores d.
	CreateDownload(ctx context.Context, d Download) error
	// FindDownload returns the download whose token hashes to hash while it
	// still holds its copy (not taken, not wiped), or an ENotFound.
	FindDownload(ctx context.Context, hash []byte) (Download, error)
	// ConsumeDownload marks download id taken at at and wipes its copy, in
	// one statement, only if it was not taken yet: of two concurrent calls
	// exactly one succeeds; the other (and any later one) gets an
	// ENotFound.
	ConsumeDownload(ctx context.Context, id string, at time.Time) error
	// PurgeDownloads wipes the copies whose links expired at or before
	// now, returning how many it wiped.
	PurgeDownloads(ctx context.Context, now time.Time) (int, error)
}

// Sealer seals a copy with its person's own data key: destroying that key
// (erasure) makes a copy not yet taken unreadable. The vault implements it.
type Sealer interface {
	Seal(ctx context.Context, s garde.SubjectID, field string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, s garde.SubjectID, field string, sealed []byte) ([]byte, error)
}

// Downloads hands copies over once, through an expiring link.
//
// A link carries a token of TokenSize random bytes; only the token's
// SHA-256 is stored, so a copy of the database cannot serve a copy. Signed
// links exist elsewhere (consent/guardian_link.go); for a link that works
// once a random token whose hash is stored is equivalent — it cannot be
// forged or altered, the server must look the link up anyway to spend it —
// and simpler: no signing key, nothing to rotate.
//
// Take serves a copy at most once, race-free: the copy is opened first and
// then spent by a conditional update that only one caller can win; the
// copy is wiped from the row as it is spent (secure_delete overwrites it on
// disk). An erased person's copy no longer opens: it is sealed with the
// person's data key, field "download:" + its id.
type Downloads struct {
	Store  DownloadStore
	Sealer Sealer
	Clock  garde.Clock
	// TTL is how long a link works (DefaultTTL when zero).
	TTL time.Duration
}

func (d *Downloads) ttl() time.Duration {
	if d.TTL > 0 {
		return d.TTL
	}
	return DefaultTTL
}

func (d *Downloads) now() time.Time {
	if d.Clock == nil {
		return time.Now().UTC()
	}
	return d.Clock.Now().UTC()
}

// field is the associated data a copy is sealed under: the copy opens only
// as the download it was stored as.
func field(id string) string { return "download:" + id }

// Put seals zip, the copy answering requestID, under subject's data key
// and stores it behind a fresh link. It returns the link's token (shown to
// the person once, never stored) and when the link stops working. Copies
// whose links expired meanwhile are wiped on the way.
func (d *Downloads) Put(ctx context.Context, requestID string, subject garde.SubjectID, zip []byte) (token string, expires time.Time, err error) {
	if requestID == "" || subject == "" {
		return "", time.Time{}, garde.Errorf(garde.EInvalid, "a download needs a request and a subject")
	}
	now := d.now()
	if _, err := d.Store.PurgeDownloads(ctx, now); err != nil {
		return "", time.Time{}, err
	}
	var raw [TokenSize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", time.Time{}, garde.Wrap(garde.EInternal, err, "no randomness for a download link")
	}
	hash := sha256.Sum256(raw[:])
	dl := Download{ID: "d_" + garde.RandomID(), RequestID: requestID, Subject: subject, TokenHash: hash[:],
		Created: now, Expires: now.Add(d.ttl())}
	if dl.Sealed, err = d.Sealer.Seal(ctx, subject, field(dl.ID), zip); err != nil {
		return "", time.Time{}, err
	}
	if err := d.Store.CreateDownload(ctx, dl); err != nil {
		return "", time.Time{}, err
	}
	return base64.RawURLEncoding.EncodeToString(raw[:]), dl.Expires, nil
}

// Take returns the copy behind token and the request it answers, once. A
// second call, an unknown, malformed, altered or expired token, and the
// link of a person erased since, all fail alike — EInvalid for a token
// that cannot be one, ENotFound otherwise — with the same message ("this
// link is not valid any more"), so the answer discloses nothing. Any other
// error (the database is unavailable) leaves the link usable.
func (d *Downloads) Take(ctx context.Context, token string) (zip []byte, requestID string, err error) {
	raw, ok := DecodeToken(token)
	if !ok {
		return nil, "", garde.Errorf(garde.EInvalid, notValid)
	}
	hash := sha256.Sum256(raw)
	dl, err := d.Store.FindDownload(ctx, hash[:])
	if err != nil {
		return nil, "", gone(err)
	}
	now := d.now()
	if !now.Before(dl.Expires) {
		if _, err := d.Store.PurgeDownloads(ctx, now); err != nil {
			return nil, "", err
		}
		return nil, "", garde.Errorf(garde.ENotFound, notValid)
	}
	zip, err = d.Sealer.Open(ctx, dl.Subject, field(dl.ID), dl.Sealed)
	if err != nil {
		if garde.ErrorCode(err) == garde.ENotFound {
			// the person was erased since: their key is gone, and so is the copy
			return nil, "", garde.Wrap(garde.ENotFound, err, notValid)
		}
		// the key store is unavailable, or the row was altered: an alarm,
		// and the link is not spent
		return nil, "", garde.Wrap(garde.EInternal, err, "the copy could not be opened")
	}
	if err := d.Store.ConsumeDownload(ctx, dl.ID, now); err != nil {
		return nil, "", gone(err)
	}
	return zip, dl.RequestID, nil
}

// gone turns a store's ENotFound into the one answer and passes other
// errors on.
func gone(err error) error {
	if garde.ErrorCode(err) == garde.ENotFound {
		return garde.Errorf(garde.ENotFound, notValid)
	}
	return err
}

// DecodeToken decodes a download token: exactly TokenSize bytes in
// canonical unpadded base64url. ok is false for anything else.
func DecodeToken(token string) (raw []byte, ok bool) {
	if len(token) != tokenLen {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != TokenSize {
		return nil, false
	}
	return raw, true
}
