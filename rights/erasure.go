package rights

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/vault"
)

// Erasure (GDPR Art. 17, CCPA § 1798.105).
//
// Erase makes a person unreadable first and absent second: it destroys the
// data keys of the canonical subject and of every subject merged into it
// (vault.Shred, which also truncates the key database's write-ahead log),
// so that nothing sealed for them opens again from any copy of the data —
// backups included, since data backups never carry keys. Then, in one write
// transaction, it deletes their subjects, identities (the blind indexes),
// events, traits and pending guardian requests, optionally keeps a
// suppression marker per identity, and queues a "subject.erased" outbox
// message carrying the signed certificate for every destination and vendor;
// then it truncates the data database's write-ahead log (secure_delete is on
// for every connection, so the deleted rows are overwritten in place).
//
// Kept on purpose, because they are proof the controller must be able to
// show and hold no personal data in clear: the consent ledger
// (consent_records: pseudonymous subject ids, purposes, decisions, salted
// hashes of IP and user agent — hash-chained, so a deletion would break the
// chain), decided guardian requests (proof of parental consent: salted hash
// of the guardian's address only), the audit log (pseudonymous ids only,
// append-only), the requests table, earlier outbox messages and the
// certificate itself. Once the key is gone and the identities deleted, the
// subject id they name points to no one.

// TopicSubjectErased is the outbox topic of an erasure: destinations and
// vendors must erase what they hold of the message's subject and members.
// The payload is ErasedMessage.
const TopicSubjectErased = "subject.erased"

// Kept names what erasure deliberately keeps (see the package notes above);
// every certificate lists it, so the person knows.
var Kept = []string{"consent ledger (pseudonymous)", "decided guardian requests (hashes only)", "audit log (pseudonymous)", "request records"}

// EraseOptions are an erasure's choices.
type EraseOptions struct {
	// Suppress keeps a minimal marker per identity (a hash of its blind
	// index) so that collection can refuse to create the person again.
	Suppress bool
	// Reason is the operator's free text (at most 500 bytes), written into
	// the certificate: never personal data.
	Reason string
	// Actor is who erased (an operator id, "cli", "privacy-centre"); required.
	Actor string
}

// Shredder destroys subjects' data keys (*vault.Vault).
type Shredder interface {
	Shred(ctx context.Context, subjects ...garde.SubjectID) error
}

// WrappedKeys finds a subject's wrapped data key (store.Keys), so that the
// certificate can name the key destroyed by the SHA-256 of its wrapped form.
type WrappedKeys interface {
	FindSubjectKey(ctx context.Context, s garde.SubjectID) (vault.WrappedKey, bool, error)
}

// CertificateSigner signs certificates and finds the public keys that verify
// them: the vault's signer of use vault.UseCertificates.
type CertificateSigner interface {
	jws.Signer
	PublicKey(kid string) (ed25519.PublicKey, bool)
}

// EraseStore is what erasure needs from the data database (store.Erase).
type EraseStore interface {
	// FindMembers returns the canonical subject s belongs to, followed by
	// every subject merged into it; an ENotFound if s is unknown.
	FindMembers(ctx context.Context, s garde.SubjectID) ([]garde.SubjectID, error)
	// EraseSubjects carries e out in one write transaction: it reads the
	// canonical subject's members again (a merge may have happened since
	// FindMembers), calls e.Event and e.Trait for every row before deleting
	// it, deletes events, traits, identities, pending guardian requests and
	// subjects, inserts e.Marker of every identity into suppressions when
	// e.Suppress, and queues e.Message in the outbox; then it checkpoints
	// and truncates the write-ahead log. The transaction committed if and
	// only if the returned *Erased is not nil: a checkpoint that could not
	// complete is reported with a non-nil *Erased. An ENotFound if the
	// canonical subject is gone.
	EraseSubjects(ctx context.Context, e *ErasePlan) (*Erased, error)
	// FindSuppression reports whether the suppression marker is kept.
	FindSuppression(ctx context.Context, marker []byte) (bool, error)
}

// ErasePlan is one erasure as the store carries it out.
type ErasePlan struct {
	Subject  garde.SubjectID   // canonical
	Members  []garde.SubjectID // as FindMembers found them, Subject first
	Time     time.Time
	Suppress bool
	// Event and Trait see each row before it is deleted (to count the
	// categories erased); they must not keep the slices.
	Event func(typ, name string, properties, context, sealed []byte)
	Trait func(name, category string)
	// Marker returns the suppression marker of an identity.
	Marker func(kind string, hash []byte) []byte
	// Message returns the outbox message's topic and payload once the rows
	// are counted and deleted (e's members and counts are in erased).
	Message func(erased *Erased) (topic string, payload []byte, err error)
}

// Erased is what the store erased.
type Erased struct {
	Members      []garde.SubjectID // the canonical subject first
	Rows         Rows
	Suppressions int   // markers written
	Outbox       int64 // the outbox message's id
}

// Rows counts the rows erased, per table.
type Rows struct {
	Subjects         int `json:"subjects"`
	Identities       int `json:"identities"`
	Events           int `json:"events"`
	Traits           int `json:"traits"`
	GuardianRequests int `json:"guardianRequests"`
}

// ErasedMessage is the payload of a TopicSubjectErased outbox message.
type ErasedMessage struct {
	Certificate string            `json:"certificate"` // the signed certificate (JWS)
	ID          string            `json:"id"`
	Subject     garde.SubjectID   `json:"subject"`
	Members     []garde.SubjectID `json:"members"`
	ErasedAt    time.Time         `json:"erasedAt"`
}

// Eraser erases data subjects. Only the rights worker and the operator's
// CLI hold one. It is safe for concurrent use if its parts are.
type Eraser struct {
	Data      EraseStore
	Keys      Shredder          // the vault
	KeyStore  WrappedKeys       // optional: names destroyed keys by digest
	Certs     CertificateSigner // vault.UseCertificates
	Clock     garde.Clock       // garde.SystemClock when nil
	Inventory *inventory.Inventory
	// Recipients name the destinations and vendors subscribed to
	// TopicSubjectErased, for the certificate's "told"; empty: the outbox
	// tells every subscriber.
	Recipients []string
	// OnErased, if set, runs after each erasure: the place to drop the
	// subjects from in-memory caches (the collection writer's identity
	// cache, the consent index) and to audit the erasure.
	OnErased func(ctx context.Context, c *Certificate)
}

const (
	maxReason = 500
	maxActor  = 200
)

// Erase erases subject (any member of a merged person erases all of them)
// and returns the signed certificate and its payload. Errors: EInvalid for a
// malformed subject id or options, ENotFound for an unknown subject. It may
// be retried after any failure: keys already destroyed are ignored, and the
// rows go in one transaction. If only the final write-ahead-log checkpoint
// fails, the certificate is returned with an EUnavailable error: the rows
// are gone, and their old pages leave the log at the next checkpoint.
func (e *Eraser) Erase(ctx context.Context, subject garde.SubjectID, opts EraseOptions) (*Certificate, string, error) {
	if !subject.Valid() {
		return nil, "", garde.Errorf(garde.EInvalid, "not a subject id")
	}
	if err := opts.check(); err != nil {
		return nil, "", err
	}
	members, err := e.Data.FindMembers(ctx, subject)
	if err != nil {
		return nil, "", err
	}
	keys, err := e.keyDigests(ctx, members)
	if err != nil {
		return nil, "", err
	}
	// the key first: once it is gone nothing sealed for the person opens,
	// and a failure below leaves the subject in place for a retry
	if err := e.Keys.Shred(ctx, members...); err != nil {
		return nil, "", garde.Wrap(garde.EUnavailable, err, "could not destroy the subject's keys; retry")
	}
	now := e.now()
	c := &Certificate{
		ID: "er_" + garde.RandomID(), Subject: members[0], ErasedAt: now,
		Suppressed: opts.Suppress, Kept: Kept,
		Told:  Told{Topic: TopicSubjectErased, Recipients: slices.Clone(e.Recipients)},
		Actor: opts.Actor, Reason: opts.Reason,
	}
	tally := e.newTally()
	var token string
	er := &ErasePlan{
		Subject: members[0], Members: members, Time: now, Suppress: opts.Suppress,
		Event: tally.event, Trait: tally.trait, Marker: SuppressionMarker,
		Message: func(done *Erased) (string, []byte, error) {
			c.Members, c.Rows = done.Members, done.Rows
			c.Categories = tally.counts()
			c.KeysDestroyed = keysOf(done.Members, keys)
			var err error
			if token, err = c.sign(e.Certs); err != nil {
				return "", nil, err
			}
			payload, err := json.Marshal(ErasedMessage{Certificate: token, ID: c.ID, Subject: c.Subject, Members: c.Members, ErasedAt: now})
			return TopicSubjectErased, payload, err
		},
	}
	done, err := e.Data.EraseSubjects(ctx, er)
	if done == nil {
		if err == nil {
			err = garde.Errorf(garde.EInternal, "the store erased nothing")
		}
		return nil, "", err
	}
	// subjects merged in between FindMembers and the transaction
	if extra := without(done.Members, members); len(extra) > 0 {
		if serr := e.Keys.Shred(ctx, extra...); serr != nil {
			err = errors.Join(err, garde.Wrap(garde.EUnavailable, serr, "could not destroy the keys of subjects merged meanwhile; erase again"))
		}
	}
	if e.OnErased != nil {
		e.OnErased(ctx, c)
	}
	if err != nil {
		return c, token, garde.Wrap(garde.EUnavailable, err, "erased, but the write-ahead log is not truncated yet")
	}
	return c, token, nil
}

// Suppressed reports whether an identity (kind and blind index, as in
// collect.Identity) belongs to a person erased with Suppress: collection
// should then refuse to create them again.
func (e *Eraser) Suppressed(ctx context.Context, kind string, hash []byte) (bool, error) {
	return e.Data.FindSuppression(ctx, SuppressionMarker(kind, hash))
}

// Verify checks a certificate against the eraser's own keys.
func (e *Eraser) Verify(token string) (*Certificate, error) {
	return VerifyCertificate(token, jws.KeyFunc(e.Certs.PublicKey))
}

// SuppressionMarker is what a suppression keeps of an identity: the
// SHA-256 of a fixed label, its kind and its blind index — never the blind
// index itself, which would match the identities of a backup directly.
func SuppressionMarker(kind string, hash []byte) []byte {
	h := sha256.New()
	h.Write([]byte("garde/suppression/v1\x00" + kind + "\x00"))
	h.Write(hash)
	return h.Sum(nil)
}

func (o *EraseOptions) check() error {
	switch {
	case strings.TrimSpace(o.Actor) == "":
		return garde.Errorf(garde.EInvalid, "an erasure names its actor")
	case len(o.Actor) > maxActor:
		return garde.Errorf(garde.EInvalid, "actor longer than %d bytes", maxActor)
	case len(o.Reason) > maxReason:
		return garde.Errorf(garde.EInvalid, "reason longer than %d bytes", maxReason)
	}
	return nil
}

func (e *Eraser) now() time.Time {
	if e.Clock == nil {
		return time.Now().UTC().Truncate(time.Millisecond)
	}
	return e.Clock.Now().UTC().Truncate(time.Millisecond)
}

// keyDigests returns "sha256:" + hex of each member's wrapped key, read
// before the key is destroyed ("" for a member that had none).
func (e *Eraser) keyDigests(ctx context.Context, members []garde.SubjectID) (map[garde.SubjectID]string, error) {
	out := make(map[garde.SubjectID]string, len(members))
	if e.KeyStore == nil {
		return out, nil
	}
	for _, s := range members {
		wk, ok, err := e.KeyStore.FindSubjectKey(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("rights: find key of %s: %w", s, err)
		}
		if ok {
			sum := sha256.Sum256(wk.Wrapped)
			out[s] = "sha256:" + hex.EncodeToString(sum[:])
		}
	}
	return out, nil
}

func keysOf(members []garde.SubjectID, digests map[garde.SubjectID]string) []DestroyedKey {
	out := make([]DestroyedKey, len(members))
	for i, s := range members {
		out[i] = DestroyedKey{Subject: s, Digest: digests[s]}
	}
	return out
}

func without(a, b []garde.SubjectID) []garde.SubjectID {
	var out []garde.SubjectID
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// tally counts, per inventory category, the rows that held a value of it.
type tally struct {
	inv *inventory.Inventory
	n   map[string]int
	row map[string]bool // the current row's categories
}

// Undeclared is the category of values the inventory no longer declares.
const Undeclared = "undeclared"

func (e *Eraser) newTally() *tally {
	return &tally{inv: e.Inventory, n: map[string]int{}, row: map[string]bool{}}
}

func (t *tally) trait(name, category string) {
	if category == "" {
		category = Undeclared
	}
	t.n[category]++
}

func (t *tally) event(typ, name string, properties, context, sealed []byte) {
	clear(t.row)
	var spec *inventory.EventSpec
	var plan inventory.Plan
	if t.inv != nil {
		plan = t.inv.Plan
		switch typ {
		case "track":
			spec = plan.Events[name]
		case "page", "screen":
			spec = plan.Page
		}
	}
	field := func(path string) {
		var f *inventory.Field
		switch {
		case strings.HasPrefix(path, "properties."):
			if spec != nil {
				f = spec.Properties[path[len("properties."):]]
			}
		case strings.HasPrefix(path, "context."):
			f = plan.Context[path[len("context."):]]
		case strings.HasPrefix(path, "traits."):
			f = plan.Traits[path[len("traits."):]]
		}
		if f == nil || f.Category == nil {
			t.row[Undeclared] = true
			return
		}
		t.row[f.Category.Key] = true
	}
	for _, k := range objectKeys(properties) {
		field("properties." + k)
	}
	for _, k := range objectKeys(context) {
		field("context." + k)
	}
	for _, k := range objectKeys(sealed) {
		field(k)
	}
	for c := range t.row {
		t.n[c]++
	}
}

func (t *tally) counts() []CategoryCount {
	out := make([]CategoryCount, 0, len(t.n))
	for c, n := range t.n {
		out = append(out, CategoryCount{Category: c, Rows: n})
	}
	slices.SortFunc(out, func(a, b CategoryCount) int { return strings.Compare(a.Category, b.Category) })
	return out
}

// objectKeys returns the member names of a JSON object (none for anything
// else).
func objectKeys(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
