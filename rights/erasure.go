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
	"sync"
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
// for every connection, so the deleted rows are overwritten in place). The
// data transaction does its work while the key database deletes the keys,
// but commits only once they are deleted; Erase returns once both logs are
// truncated: from then on, no copy of the person's values or keys is left in
// either database's files.
//
// Performance (the rights issue's targets: one erasure p99 ≤ 5 ms, 10,000
// in ≤ 10 s; see erasure_bench_test.go): an erasure is bound by the fsyncs
// of two commits and two checkpoints, not by its deletes. Erase overlaps the
// two databases' (ErasePlan.Confirm, vault.Vault.ShredThen); EraseMany
// shares them among the people of a batch.
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

// StagedShredder is a Shredder that can tell when the keys are deleted
// (unreadable), before their destruction is final (*vault.Vault, see
// vault.Vault.ShredThen). Erase then lets the rows go from that moment,
// and still returns only once the destruction is final.
type StagedShredder interface {
	ShredThen(ctx context.Context, deleted func(), subjects ...garde.SubjectID) error
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
	// FindMembers), deletes events, traits, identities, pending guardian
	// requests and subjects, calling e.Event and e.Trait for every event
	// and trait row it deletes, inserts e.Marker of every identity into
	// suppressions when e.Suppress, queues e.Message in the outbox and
	// calls e.Confirm; then it commits, checkpoints and truncates the
	// write-ahead log. The transaction committed if and
	// only if the returned *Erased is not nil: a checkpoint that could not
	// complete is reported with a non-nil *Erased. An ENotFound if the
	// canonical subject is gone.
	EraseSubjects(ctx context.Context, e *ErasePlan) (*Erased, error)
	// EraseBatch carries out several plans as EraseSubjects does each, in
	// one write transaction and one checkpoint. done has an entry per plan,
	// nil for a plan whose canonical subject is gone (or was erased by an
	// earlier plan of the batch). The transaction committed if and only if
	// done is not nil and holds a non-nil entry; a checkpoint that could
	// not complete is reported with such a done.
	EraseBatch(ctx context.Context, plans []*ErasePlan) (done []*Erased, err error)
	// FindSuppression reports whether the suppression marker is kept.
	FindSuppression(ctx context.Context, marker []byte) (bool, error)
}

// ErasePlan is one erasure as the store carries it out.
type ErasePlan struct {
	Subject  garde.SubjectID   // canonical
	Members  []garde.SubjectID // as FindMembers found them, Subject first
	Time     time.Time
	Suppress bool
	// Event and Trait see each row as it is deleted, inside the
	// transaction (to count the categories erased); they must not keep the
	// slices.
	Event func(typ, name string, properties, context, sealed []byte)
	Trait func(name, category string)
	// Marker returns the suppression marker of an identity.
	Marker func(kind string, hash []byte) []byte
	// Message returns the outbox message's topic and payload once the rows
	// are counted and deleted (e's members and counts are in erased). It
	// may run on another goroutine, beside the deletes of a batch's other
	// plans; it is called after the plan's last Event and Trait.
	Message func(erased *Erased) (topic string, payload []byte, err error)
	// Confirm, if set, is called in the transaction after Message, just
	// before the commit; an error rolls the erasure back. Erase waits there
	// for the destruction of the keys, which runs meanwhile on the key
	// database: the rows still go only once the keys are gone, but the
	// deletes no longer wait for the key database's fsyncs.
	Confirm func() error
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
// rows go in one transaction. If only a final write-ahead-log checkpoint
// (of the data or the key database) fails, the certificate is returned
// with an EUnavailable error: the rows and keys are gone, and their old
// pages leave the log at the next checkpoint.
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
	// The key first: once it is gone nothing sealed for the person opens,
	// and a failure leaves the subject in place for a retry. The key
	// database's transaction runs while the data transaction deletes the
	// rows, which commits only once the keys are deleted (ErasePlan.Confirm:
	// the order holds); the key database's checkpoint then overlaps the data
	// database's commit and checkpoint, and Erase returns once both are
	// done. Run one after the other, the two databases' seven fsyncs made
	// most of an erasure's time.
	sh := e.shred(ctx, members)
	x := e.newErasing(members, keys, e.now(), opts, sh.confirm)
	done, err := e.Data.EraseSubjects(ctx, x.plan)
	serr := sh.wait()
	if done == nil {
		if serr != nil {
			return nil, "", garde.Wrap(garde.EUnavailable, serr, "could not destroy the subject's keys; retry")
		}
		if err == nil {
			err = garde.Errorf(garde.EInternal, "the store erased nothing")
		}
		return nil, "", err
	}
	// committed, hence the keys were deleted first: serr can only be the
	// failure of the key database's checkpoint
	return e.finish(ctx, x, done, errors.Join(err, serr))
}

// erasing is one person's erasure under way: the store's plan, and the
// certificate that the plan's Message completes and signs.
type erasing struct {
	plan  *ErasePlan
	cert  *Certificate
	token string
}

// newErasing prepares the erasure of a person (members, canonical first,
// with their keys' digests); confirm is the plan's Confirm.
func (e *Eraser) newErasing(members []garde.SubjectID, keys map[garde.SubjectID]string, now time.Time, opts EraseOptions, confirm func() error) *erasing {
	c := &Certificate{
		ID: "er_" + garde.RandomID(), Subject: members[0], ErasedAt: now,
		Suppressed: opts.Suppress, Kept: Kept,
		Told:  Told{Topic: TopicSubjectErased, Recipients: slices.Clone(e.Recipients)},
		Actor: opts.Actor, Reason: opts.Reason,
	}
	tally := e.newTally()
	x := &erasing{cert: c}
	x.plan = &ErasePlan{
		Subject: members[0], Members: members, Time: now, Suppress: opts.Suppress,
		Event: tally.event, Trait: tally.trait, Marker: SuppressionMarker, Confirm: confirm,
		Message: func(done *Erased) (string, []byte, error) {
			c.Members, c.Rows = done.Members, done.Rows
			c.Categories = tally.counts()
			c.KeysDestroyed = keysOf(done.Members, keys)
			var err error
			if x.token, err = c.sign(e.Certs); err != nil {
				return "", nil, err
			}
			payload, err := json.Marshal(ErasedMessage{Certificate: x.token, ID: c.ID, Subject: c.Subject, Members: c.Members, ErasedAt: now})
			return TopicSubjectErased, payload, err
		},
	}
	return x
}

// finish completes a committed erasure: the keys of subjects merged in
// between FindMembers and the transaction, then OnErased. err is the
// store's (a checkpoint that could not complete).
func (e *Eraser) finish(ctx context.Context, x *erasing, done *Erased, err error) (*Certificate, string, error) {
	if extra := without(done.Members, x.plan.Members); len(extra) > 0 {
		if serr := e.Keys.Shred(ctx, extra...); serr != nil {
			err = errors.Join(err, garde.Wrap(garde.EUnavailable, serr, "could not destroy the keys of subjects merged meanwhile; erase again"))
		}
	}
	if e.OnErased != nil {
		e.OnErased(ctx, x.cert)
	}
	if err != nil {
		return x.cert, x.token, garde.Wrap(garde.EUnavailable, err, "erased, but the write-ahead log is not truncated yet")
	}
	return x.cert, x.token, nil
}

// shredding is a destruction of keys running beside the data transaction.
type shredding struct {
	deleted chan struct{} // closed once the keys are deleted (unreadable)
	done    chan struct{} // closed once the destruction is over
	err     error
}

// shred starts destroying the subjects' keys.
func (e *Eraser) shred(ctx context.Context, subjects []garde.SubjectID) *shredding {
	sh := &shredding{deleted: make(chan struct{}), done: make(chan struct{})}
	var once sync.Once
	deleted := func() { once.Do(func() { close(sh.deleted) }) }
	go func() {
		defer close(sh.done)
		if st, ok := e.Keys.(StagedShredder); ok {
			sh.err = st.ShredThen(ctx, deleted, subjects...)
		} else {
			sh.err = e.Keys.Shred(ctx, subjects...)
		}
		if sh.err == nil {
			deleted()
		}
	}()
	return sh
}

// confirm is the data transaction's ErasePlan.Confirm: it waits until the
// keys are deleted — not until their destruction is final, whose fsyncs
// then overlap the data transaction's commit and checkpoint — and fails if
// they could not be deleted. It may be called any number of times.
func (sh *shredding) confirm() error {
	select {
	case <-sh.deleted:
		return nil
	case <-sh.done:
		select {
		case <-sh.deleted:
			return nil // deleted, then the final step failed: wait reports it
		default:
			return sh.err
		}
	}
}

// wait returns the destruction's outcome once it is over; it may be called
// any number of times.
func (sh *shredding) wait() error {
	<-sh.done
	return sh.err
}

// EraseResult is the erasure of one of EraseMany's subjects.
type EraseResult struct {
	Subject     garde.SubjectID // as given
	Certificate *Certificate    // nil when nothing was erased
	Token       string          // the signed certificate
	Err         error           // as Erase would return it for Subject
}

// bulkBatch is how many people EraseMany erases per batch. The fsyncs of
// the two transactions and of the two checkpoints, most of an erasure's
// time, are shared by the whole batch; collection, which waits for the data
// writer meanwhile, pauses for tens of milliseconds per batch, not seconds.
const bulkBatch = 250

// EraseMany erases several subjects, each as Erase would, with the same
// certificates, outbox messages and guarantees once it returns, but shares
// the work: per batch of people, one destruction of keys (one transaction
// and one truncated log on the key database) and one data transaction and
// checkpoint. It is for bulk erasures (closing a shop's accounts, a list
// sent by a controller); a person's own request goes through Erase.
//
// results has one entry per subject, in order; subjects of one person (a
// subject given twice, or two members of a merged person) share the
// person's certificate. A subject's own failure (EInvalid, ENotFound, an
// EUnavailable checkpoint) is in its Err; err reports a failure that
// stopped the run, also set as the Err of every subject left unerased. It
// may be retried like Erase.
func (e *Eraser) EraseMany(ctx context.Context, subjects []garde.SubjectID, opts EraseOptions) (results []EraseResult, err error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	results = make([]EraseResult, len(subjects))
	var people []*person
	byCanonical := map[garde.SubjectID]*person{}
	for i, s := range subjects {
		results[i].Subject = s
		if !s.Valid() {
			results[i].Err = garde.Errorf(garde.EInvalid, "not a subject id")
			continue
		}
		members, err := e.Data.FindMembers(ctx, s)
		if garde.ErrorCode(err) == garde.ENotFound {
			results[i].Err = err
			continue
		}
		if err != nil {
			return results, stopped(results, err)
		}
		p := byCanonical[members[0]]
		if p == nil {
			p = &person{members: members}
			byCanonical[members[0]] = p
			people = append(people, p)
		}
		p.asked = append(p.asked, i)
	}
	var batches [][]*person
	for start := 0; start < len(people); start += bulkBatch {
		batches = append(batches, people[start:min(start+bulkBatch, len(people))])
	}
	var digested <-chan error
	if len(batches) > 0 {
		digested = e.digest(ctx, batches[0])
	}
	for i, b := range batches {
		if err := <-digested; err != nil {
			return results, stopped(results, err)
		}
		if i+1 < len(batches) {
			// the next batch's keys are read (a reader of the key
			// database) while this one is erased (its writers)
			digested = e.digest(ctx, batches[i+1])
		}
		if err := e.eraseBatch(ctx, b, opts, results); err != nil {
			return results, stopped(results, err)
		}
	}
	return results, nil
}

// digest reads the digests of the people's keys on its own goroutine.
func (e *Eraser) digest(ctx context.Context, people []*person) <-chan error {
	out := make(chan error, 1)
	go func() {
		for _, p := range people {
			var err error
			if p.keys, err = e.keyDigests(ctx, p.members); err != nil {
				out <- err
				return
			}
		}
		out <- nil
	}()
	return out
}

// person is one person of EraseMany: members, canonical first, and the
// indexes of the subjects asked that belong to them.
type person struct {
	members []garde.SubjectID
	asked   []int
	keys    map[garde.SubjectID]string // the digests of their keys (digest)
}

// stopped sets err on every result without an outcome, and returns it.
func stopped(results []EraseResult, err error) error {
	for i := range results {
		if results[i].Certificate == nil && results[i].Err == nil {
			results[i].Err = err
		}
	}
	return err
}

// eraseBatch erases people (their keys digested) as Erase does one, in
// one Shred and one EraseBatch, and records their results.
func (e *Eraser) eraseBatch(ctx context.Context, people []*person, opts EraseOptions, results []EraseResult) error {
	var all []garde.SubjectID
	for _, p := range people {
		all = append(all, p.members...)
	}
	sh := e.shred(ctx, all)
	now := e.now()
	xs := make([]*erasing, len(people))
	plans := make([]*ErasePlan, len(people))
	for k, p := range people {
		xs[k] = e.newErasing(p.members, p.keys, now, opts, sh.confirm)
		plans[k] = xs[k].plan
	}
	done, err := e.Data.EraseBatch(ctx, plans)
	serr := sh.wait()
	if done == nil {
		if serr != nil {
			return garde.Wrap(garde.EUnavailable, serr, "could not destroy the subjects' keys; retry")
		}
		if err == nil {
			err = garde.Errorf(garde.EInternal, "the store erased nothing")
		}
		return err
	}
	err = errors.Join(err, serr) // as in Erase
	for k, p := range people {
		var r EraseResult
		if k < len(done) && done[k] != nil {
			r.Certificate, r.Token, r.Err = e.finish(ctx, xs[k], done[k], err)
		} else {
			r.Err = garde.Errorf(garde.ENotFound, "no such subject")
		}
		for _, i := range p.asked {
			r.Subject = results[i].Subject
			results[i] = r
		}
	}
	return nil
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
//
// Events are only copied as the store deletes them, and counted in counts,
// which runs in the plan's Message: a batch's store runs its plans'
// messages beside its deletes, so the JSON parsing and the certificate's
// signature, a fifth of an erasure's CPU, take the other core.
type tally struct {
	inv    *inventory.Inventory
	n      map[string]int
	row    map[string]bool // the current row's categories
	events []copiedEvent
	buf    []byte // the copied events' bytes
}

// copiedEvent is an event row as tally.event copied it: offsets in buf.
type copiedEvent struct {
	typ, name              string
	props, context, sealed [2]int
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

// event copies an event row (the store's slices do not outlive the call).
func (t *tally) event(typ, name string, properties, context, sealed []byte) {
	ev := copiedEvent{typ: typ, name: name}
	for _, f := range []struct {
		b  []byte
		at *[2]int
	}{{properties, &ev.props}, {context, &ev.context}, {sealed, &ev.sealed}} {
		*f.at = [2]int{len(t.buf), len(t.buf) + len(f.b)}
		t.buf = append(t.buf, f.b...)
	}
	t.events = append(t.events, ev)
}

// count adds the categories of an event row.
func (t *tally) count(typ, name string, properties, context, sealed []byte) {
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
	// a damaged value is still counted by what it could be read of
	_ = garde.SealedPaths(sealed, field)
	for c := range t.row {
		t.n[c]++
	}
}

func (t *tally) counts() []CategoryCount {
	for _, ev := range t.events {
		t.count(ev.typ, ev.name, t.buf[ev.props[0]:ev.props[1]], t.buf[ev.context[0]:ev.context[1]], t.buf[ev.sealed[0]:ev.sealed[1]])
	}
	t.events, t.buf = nil, nil
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
