package consent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
)

// Tx is what the ledger needs inside a write transaction.
type Tx interface {
	// LastConsent returns the last record's seq and hash (0 and Genesis for
	// an empty ledger).
	LastConsent(ctx context.Context) (seq int64, hash []byte, err error)
	// CreateConsent appends records (Seq, Prev and Hash set).
	CreateConsent(ctx context.Context, recs []Record) error
	// CreateOutbox queues messages for destinations and vendors.
	CreateOutbox(ctx context.Context, msgs []Message) error
}

// Store reads the ledger.
type Store interface {
	// FindConsent calls fn for every record in seq order (from after).
	FindConsent(ctx context.Context, f Filter, fn func(*Record) error) error
}

// Filter selects ledger records.
type Filter struct {
	Subjects []garde.SubjectID // any of these; all when empty
	After    int64             // seq
}

// Message is an outbox message: something destinations and vendors must
// be told (a withdrawal, an opt-out, an erasure).
type Message struct {
	Topic   string          `json:"topic"`
	Subject garde.SubjectID `json:"subject"`
	Payload json.RawMessage `json:"payload"`
	Time    time.Time       `json:"time"`
}

// Outbox topics.
const TopicConsentWithdrawn = "consent.withdrawn"

// Writer runs jobs inside the collection writer's group commits, so that a
// decision and the events around it are ordered and durable together.
type Writer interface {
	Do(ctx context.Context, job collect.Job) error
}

// Ledger records decisions. It is safe for concurrent use.
type Ledger struct {
	Inventory *inventory.Inventory
	Index     *Index
	Writer    Writer
	Store     Store
	Subjects  Subjects
	// TxOf adapts the writer's transaction to the ledger's Tx.
	TxOf  func(collect.Tx) Tx
	Clock garde.Clock
	// Salt keys the hashes of IP addresses and user agents.
	Salt []byte
	// Audit appends the audit entry of a decision inside its transaction
	// (actor, subject, purposes); nil records none.
	Audit func(ctx context.Context, tx collect.Tx, actor string, s garde.SubjectID, purposes []string) error
}

// Request is one person's decisions, as received.
type Request struct {
	// IDs identify the person, strongest first (blind indexes); Create lets
	// the ledger create the subject (a write key may, an operator may not).
	IDs       []collect.Identity
	Create    bool
	Decisions map[string]Decision // by purpose key
	Explicit  bool
	Source    string
	Notice    Notice
	Country   string
	Region    string
	Age       Age
	Guardian  string
	Signals   Signals
	Collector string
	IP        string
	UserAgent string
}

// Result is what recording decisions produced.
type Result struct {
	Subject garde.SubjectID
	Records []Record
}

// Check validates req against the inventory without recording anything.
func (l *Ledger) Check(req *Request) error {
	if len(req.Decisions) == 0 {
		return garde.Errorf(garde.EInvalid, "no decision given")
	}
	if !slices.Contains(Sources, req.Source) {
		return garde.Errorf(garde.EInvalid, "source %q: want one of %s", garde.Truncate(req.Source, 20), strings.Join(Sources, ", "))
	}
	for key, d := range req.Decisions {
		if key == AllPurposes {
			if d != Restricted && d != Lifted {
				return garde.Errorf(garde.EInvalid, "purpose \"*\" takes only restricted or lifted")
			}
			continue
		}
		p := l.Inventory.Purpose(key)
		if p == nil {
			return garde.Errorf(garde.EInvalid, "unknown purpose %q", garde.Truncate(key, 40))
		}
		if err := decisionFits(p, d); err != nil {
			return err
		}
	}
	switch req.Age.Status {
	case "", "adult", "minor", "unknown":
	default:
		return garde.Errorf(garde.EInvalid, "age status %q: want adult, minor or unknown", garde.Truncate(req.Age.Status, 20))
	}
	if req.Age.Years < 0 || req.Age.Years > 130 {
		return garde.Errorf(garde.EInvalid, "age %d is not plausible", req.Age.Years)
	}
	// what the records keep as text must read back as it was hashed: JSON
	// has no room for bytes that are not UTF-8
	for _, f := range [...]struct{ name, value string }{
		{"notice.hash", req.Notice.Hash}, {"notice.language", req.Notice.Language}, {"country", req.Country},
		{"region", req.Region}, {"age.method", req.Age.Method}, {"guardian", req.Guardian},
		{"tcString", req.Signals.TCString}, {"gppString", req.Signals.GPPString}, {"collector", req.Collector},
	} {
		if !utf8.ValidString(f.value) {
			return garde.Errorf(garde.EInvalid, "%s is not valid UTF-8", f.name)
		}
	}
	return nil
}

// decisionFits says whether decision d can be taken on purpose p.
func decisionFits(p *inventory.Purpose, d Decision) error {
	switch d {
	case Given, Refused, Withdrawn:
		if p.LegalBasis != inventory.Consent {
			return garde.Errorf(garde.EInvalid, "purpose %s is based on %s, not consent: it takes objected or opted_out", p.Key, p.LegalBasis)
		}
	case Objected:
		if p.LegalBasis != inventory.LegitimateInterests && !p.DirectMarketing {
			return garde.Errorf(garde.EInvalid, "purpose %s is based on %s: an objection applies to legitimate interests and direct marketing", p.Key, p.LegalBasis)
		}
	case OptedOut:
		if !p.SaleOrSharing && !p.TargetedAdvertising {
			return garde.Errorf(garde.EInvalid, "purpose %s neither sells, shares nor targets ads: nothing to opt out of", p.Key)
		}
	case Expired, Restricted, Lifted:
		return garde.Errorf(garde.EInvalid, "decision %s is recorded by Garde itself", d)
	default:
		return garde.Errorf(garde.EInvalid, "decision %q: want given, refused, withdrawn, objected or opted_out", garde.Truncate(string(d), 20))
	}
	return nil
}

// NeedsGuardian reports whether req gives a consent that the person, a
// minor under the age of digital consent of their jurisdiction, cannot
// give alone (GDPR Art. 8, France's joint consent under 15, COPPA under 13,
// CCPA opt-in under 16 for sale or sharing).
func (l *Ledger) NeedsGuardian(req *Request) bool {
	if req.Age.Status != "minor" || req.Source == SourceGuardian {
		return false
	}
	years, r := req.Age.Years, &l.Inventory.Consent
	threshold := r.ConsentAge(req.Country)
	if j, ok := r.JointConsent[strings.ToUpper(req.Country)]; ok && j > threshold {
		threshold = j
	}
	if strings.EqualFold(req.Country, "US") {
		threshold = r.COPPAAge
	}
	for key, d := range req.Decisions {
		if d != Given {
			continue
		}
		p := l.Inventory.Purpose(key)
		t := threshold
		if strings.EqualFold(req.Country, "US") && p != nil && p.SaleOrSharing && strings.EqualFold(req.Region, "CA") {
			t = r.SaleOptInAge // the teen's own opt-in from 13; a parent's below
			if years >= r.COPPAAge {
				continue
			}
		}
		if years == 0 || years < t {
			return true
		}
	}
	return false
}

// Decide validates req, records its decisions in one ledger transaction
// (with the withdrawals queued in the outbox), and returns the records. A
// given consent to targeted advertising by a known minor is refused.
func (l *Ledger) Decide(ctx context.Context, req *Request) (*Result, error) {
	if err := l.Check(req); err != nil {
		return nil, err
	}
	if req.Age.Status == "minor" {
		for key, d := range req.Decisions {
			if p := l.Inventory.Purpose(key); p != nil && p.TargetedAdvertising && d == Given {
				return nil, garde.Errorf(garde.EForbidden, "purpose %s targets advertising: it is never allowed for a minor", key)
			}
		}
		if l.NeedsGuardian(req) {
			return nil, garde.Errorf(garde.ENoConsent, "a guardian must consent for a person of this age: start the guardian flow")
		}
	}
	return l.decideWithin(ctx, req, nil)
}

// records builds req's records, in purpose order, without subject or chain.
func (l *Ledger) records(req *Request, now time.Time) []Record {
	keys := make([]string, 0, len(req.Decisions))
	for k := range req.Decisions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	receipt := "rcpt_" + garde.RandomID()
	ipHash, uaHash := l.hash("ip", req.IP), l.hash("ua", req.UserAgent)
	country, region := strings.ToUpper(req.Country), strings.ToUpper(req.Region)
	recs := make([]Record, 0, len(keys))
	for _, k := range keys {
		d := req.Decisions[k]
		r := Record{
			ID: recordID(now), Purpose: k, Decision: d, Explicit: req.Explicit, Time: now,
			Source: req.Source, Notice: req.Notice, Country: country, Region: region,
			Age: req.Age, Guardian: req.Guardian, Signals: req.Signals, Collector: req.Collector,
			IPHash: ipHash, UAHash: uaHash, ReceiptID: receipt,
		}
		if r.Age.Status == "" {
			r.Age.Status = "unknown"
		}
		if p := l.Inventory.Purpose(k); p != nil {
			r.LegalBasis = string(p.LegalBasis)
			if d == Given {
				r.Expires = l.Inventory.ConsentExpiryOf(p).AddTo(now)
			}
		} else {
			r.LegalBasis = "-"
		}
		recs = append(recs, r)
	}
	return recs
}

// append chains recs after the ledger's last record and writes them, with
// an outbox message for every withdrawal, objection and opt-out.
func (l *Ledger) append(ctx context.Context, tx Tx, recs []Record) error {
	seq, prev, err := tx.LastConsent(ctx)
	if err != nil {
		return err
	}
	var out []Message
	for i := range recs {
		r := &recs[i]
		seq++
		r.Seq, r.Prev = seq, prev
		r.Hash = r.ComputeHash()
		prev = r.Hash
		switch r.Decision {
		case Withdrawn, Objected, OptedOut, Restricted:
			payload, _ := json.Marshal(map[string]any{"purpose": r.Purpose, "decision": r.Decision, "record": r.ID})
			out = append(out, Message{Topic: TopicConsentWithdrawn, Subject: r.Subject, Payload: payload, Time: r.Time})
		}
	}
	if err := tx.CreateConsent(ctx, recs); err != nil {
		return err
	}
	if len(out) > 0 {
		return tx.CreateOutbox(ctx, out)
	}
	return nil
}

// hash is the salted hash of an IP address or user agent: proof that the
// same device decided, without keeping the value.
func (l *Ledger) hash(kind, v string) string {
	if v == "" {
		return ""
	}
	m := hmac.New(sha256.New, l.Salt)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(v))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:16])
}

// recordID returns a new record id: "cr_" and a garde.SortableID. Ids sort
// by creation, so the ledger's unique index on them grows at its end, where
// a group commit dirties a page or two, instead of on a random page per
// record. The time is the record's own, already in it.
func recordID(now time.Time) string { return "cr_" + garde.SortableID(now) }

// Load rebuilds the index from the whole ledger; canonical maps a subject
// to the subject it was merged into.
func (l *Ledger) Load(ctx context.Context, canonical func(garde.SubjectID) garde.SubjectID) (int, error) {
	n := 0
	err := l.Store.FindConsent(ctx, Filter{}, func(r *Record) error {
		r.Subject = canonical(r.Subject)
		l.Index.Apply(r)
		n++
		return nil
	})
	return n, err
}

// Break is where a chain stops verifying.
type Break struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// VerifyChain walks the whole ledger and returns the number of records and
// the first one that does not verify (nil when all do).
func VerifyChain(ctx context.Context, st Store) (int, *Break, error) {
	n, prev, want := 0, Genesis, int64(1)
	var brk *Break
	err := st.FindConsent(ctx, Filter{}, func(r *Record) error {
		if brk != nil {
			return nil
		}
		n++
		switch {
		case r.Seq != want:
			brk = &Break{r.Seq, r.ID, "sequence gap: a record before it was removed or records were moved"}
		case !hmac.Equal(r.Prev, prev):
			brk = &Break{r.Seq, r.ID, "previous hash does not match: a record before it was removed, inserted or moved"}
		case !hmac.Equal(r.ComputeHash(), r.Hash):
			brk = &Break{r.Seq, r.ID, "hash does not match its content: the record was edited"}
		}
		prev, want = r.Hash, r.Seq+1
		return nil
	})
	return n, brk, err
}

// Subjects finds people without creating them.
type Subjects interface {
	// FindSubjectByIdentity returns the subject an identity belongs to
	// (ENotFound when none).
	FindSubjectByIdentity(ctx context.Context, kind string, hash []byte) (garde.SubjectID, error)
	// FindCanonical returns the subject s was merged into, or s (ENotFound
	// when s does not exist).
	FindCanonical(ctx context.Context, s garde.SubjectID) (garde.SubjectID, error)
	// FindCanonicalByIdentities resolves many identities at once, keyed by
	// kind + "\x00" + hash; unknown ones are absent.
	FindCanonicalByIdentities(ctx context.Context, ids []collect.Identity) (map[string]garde.SubjectID, error)
}

// Canonical finds the person ids name, strongest first, without creating
// anyone. When strict is false an unknown person is "" and no error.
func (l *Ledger) Canonical(ctx context.Context, ids []collect.Identity, strict bool) (garde.SubjectID, error) {
	for _, id := range ids {
		var s garde.SubjectID
		var err error
		if id.Kind == subjectKind {
			s = garde.SubjectID(id.Hash)
		} else {
			s, err = l.Subjects.FindSubjectByIdentity(ctx, id.Kind, id.Hash)
		}
		if err == nil {
			s, err = l.Subjects.FindCanonical(ctx, s)
		}
		if garde.ErrorCode(err) == garde.ENotFound {
			continue
		}
		return s, err
	}
	if strict {
		return "", garde.Errorf(garde.ENotFound, "no such person")
	}
	return "", nil
}

// ExpireDue records an Expired decision for every consent whose expiry has
// passed (the gate already treats it as refused; the record completes the
// proof and shows in the person's history). It returns how many it wrote.
func (l *Ledger) ExpireDue(ctx context.Context) (int, error) {
	now := l.Clock.Now().UTC()
	due := l.Index.due(now)
	const chunk = 1000
	for start := 0; start < len(due); start += chunk {
		recs := due[start:min(start+chunk, len(due))]
		for i := range recs {
			p := l.Inventory.Purpose(recs[i].Purpose)
			recs[i].ID, recs[i].Decision, recs[i].LegalBasis, recs[i].Time = recordID(now), Expired, string(p.LegalBasis), now
			recs[i].Source, recs[i].Collector, recs[i].Age = SourceSystem, "system", Age{Status: "unknown"}
		}
		err := l.Writer.Do(ctx, func(ctx context.Context, tx collect.Tx, _ collect.Resolve) (func(), error) {
			if err := l.append(ctx, l.TxOf(tx), recs); err != nil {
				return nil, err
			}
			return func() {
				for i := range recs {
					l.Index.Apply(&recs[i])
				}
			}, nil
		})
		if err != nil {
			return start, err
		}
	}
	return len(due), nil
}
