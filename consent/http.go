package consent

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/vault"
)

// MaxBody bounds a consent call's body.
const MaxBody = 64 << 10

// MaxCheck bounds how many subjects one check call may ask about.
const MaxCheck = 10_000

// Caller is who is calling: a source by its write key (a browser, an app)
// or an operator's API key.
type Caller struct {
	Source   *inventory.Source // set for a write key
	Operator string            // "apikey:<id>" for an API key
}

// Handler serves the public consent API.
type Handler struct {
	Inventory *inventory.Inventory
	Ledger    *Ledger
	Index     *Index
	BlindIdx  collect.Indexer
	Receipts  *vault.Signer
	// Published are other signers whose public keys /.well-known/jwks.json
	// lists too (erasure certificates), so that people can check what Garde
	// gave them offline.
	Published []*vault.Signer
	Notices   *Notices
	// Operator authenticates an operator's API key (Authorization: Bearer).
	Operator func(r *http.Request) (string, error)
	Clock    garde.Clock
	Log      *slog.Logger
	// GPCUpdated is the date /.well-known/gpc.json reports.
	GPCUpdated time.Time

	gpcOnce sync.Once
	gpcSeen *gpcSeen
}

// Register mounts the routes on mux; cors wraps the browser-facing ones.
func (h *Handler) Register(mux *http.ServeMux, cors func(http.Handler) http.Handler) {
	mux.Handle("POST /v1/consent", cors(http.HandlerFunc(h.post)))
	mux.Handle("GET /v1/consent", cors(http.HandlerFunc(h.get)))
	mux.Handle("OPTIONS /v1/consent", cors(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	mux.Handle("POST /v1/consent/check", http.HandlerFunc(h.check))
	mux.HandleFunc("GET /.well-known/jwks.json", h.jwks)
	mux.HandleFunc("GET /.well-known/gpc.json", h.gpc)
}

// Who names a person in a consent call.
type Who struct {
	UserID      string          `json:"userId,omitempty"`
	AnonymousID string          `json:"anonymousId,omitempty"`
	Subject     garde.SubjectID `json:"subject,omitempty"` // operators only
}

// PostBody is the body of POST /v1/consent.
type PostBody struct {
	WriteKey string `json:"writeKey,omitempty"`
	Who
	Decisions map[string]Decision `json:"decisions"`
	Explicit  bool                `json:"explicit,omitempty"`
	Source    string              `json:"source,omitempty"`
	Notice    Notice              `json:"notice"`
	Country   string              `json:"country,omitempty"`
	Region    string              `json:"region,omitempty"`
	Age       Age                 `json:"age"`
	TCString  string              `json:"tcString,omitempty"`
	GPPString string              `json:"gppString,omitempty"`
}

// PostAnswer answers POST /v1/consent.
type PostAnswer struct {
	ReceiptID string         `json:"receiptId"`
	Receipt   string         `json:"receipt"`
	Records   []RecordAnswer `json:"records"`
	State     State          `json:"state"`
}

// RecordAnswer is one recorded decision.
type RecordAnswer struct {
	ID       string    `json:"id"`
	Purpose  string    `json:"purpose"`
	Decision Decision  `json:"decision"`
	Expires  time.Time `json:"expires,omitzero"`
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	api.Error(w, r, h.Log, err)
}

func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return garde.Wrap(garde.EInvalid, err, "could not read the body")
	}
	if len(b) > MaxBody {
		return garde.Errorf(garde.ETooLarge, "body is larger than %d bytes", MaxBody)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return garde.Wrap(garde.EInvalid, err, "body is not a valid consent call: "+jsonReason(err))
	}
	return nil
}

// jsonReason names what is wrong with a body without quoting it: decoder
// messages may carry pieces of the input (an unknown key could be an
// e-mail address), and errors never carry personal data.
func jsonReason(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "unknown field"):
		return "a field is not part of the consent API"
	case strings.Contains(s, "cannot unmarshal"), strings.Contains(s, "type"):
		return "a field has the wrong type"
	}
	return "malformed JSON"
}

// caller authenticates a write key (Basic user name or body) or an API key.
func (h *Handler) caller(r *http.Request, bodyKey string) (Caller, error) {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		op, err := h.Operator(r)
		return Caller{Operator: op}, err
	}
	key, _, ok := r.BasicAuth()
	if !ok {
		key = bodyKey
	}
	if key == "" {
		key = r.URL.Query().Get("writeKey")
	}
	src := h.Inventory.SourceByWriteKey(key)
	if src == nil {
		return Caller{}, garde.Errorf(garde.EUnauthorized, "unknown or missing write key")
	}
	return Caller{Source: src}, nil
}

// identities turns who into blind indexes, strongest first.
func (h *Handler) identities(who Who) []collect.Identity {
	var ids []collect.Identity
	if who.UserID != "" {
		ids = append(ids, collect.Identity{Kind: collect.IdentityUser, Hash: h.BlindIdx.BlindIndex(collect.IdentityUser, who.UserID)})
	}
	if who.AnonymousID != "" {
		ids = append(ids, collect.Identity{Kind: collect.IdentityAnon, Hash: h.BlindIdx.BlindIndex(collect.IdentityAnon, who.AnonymousID)})
	}
	return ids
}

func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	var b PostBody
	if err := readJSON(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.caller(r, b.WriteKey)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := h.request(r, c, &b)
	if err == nil && h.Notices != nil {
		err = h.Notices.Fill(r.Context(), &req.Notice)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.Ledger.Decide(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.Clock.Now()
	token, err := NewReceipt(h.Inventory, res.Records, now).Sign(h.Receipts)
	if err != nil {
		h.fail(w, r, garde.Wrap(garde.EInternal, err, "could not sign the receipt"))
		return
	}
	a := PostAnswer{ReceiptID: res.Records[0].ReceiptID, Receipt: token, State: h.Index.State(res.Subject, now),
		Records: make([]RecordAnswer, len(res.Records))}
	for i, rec := range res.Records {
		a.Records[i] = RecordAnswer{rec.ID, rec.Purpose, rec.Decision, rec.Expires}
	}
	// what api.JSON writes, without reflection: this answer is in every call
	buf := answerBufs.Get().(*[]byte)
	out := append(a.appendJSON((*buf)[:0]), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	if cap(out) <= 64<<10 {
		*buf = out
		answerBufs.Put(buf)
	}
}

// answerBufs holds the buffers answers are written in.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// request builds a ledger request from a call: explicit decisions, then
// what the signals stand for (a TC string, a GPP string, Sec-GPC), the
// explicit ones winning over a TC string and the opt-outs winning over all.
func (h *Handler) request(r *http.Request, c Caller, b *PostBody) (*Request, error) {
	req := &Request{
		Decisions: map[string]Decision{}, Explicit: b.Explicit, Source: b.Source, Notice: b.Notice,
		Country: b.Country, Region: b.Region, Age: b.Age, UserAgent: r.UserAgent(), IP: api.RemoteHost(r),
		Signals: Signals{TCString: b.TCString, GPPString: b.GPPString, GPC: r.Header.Get("Sec-GPC") == "1"},
	}
	switch {
	case c.Source != nil:
		if b.Subject != "" {
			return nil, garde.Errorf(garde.EForbidden, "a write key names people by userId or anonymousId only")
		}
		req.IDs, req.Create, req.Collector = h.identities(b.Who), true, "source:"+c.Source.Key
		if req.Source == "" {
			req.Source = SourceBanner
		}
		if req.Source == SourceOperator || req.Source == SourceSystem || req.Source == SourceGuardian {
			return nil, garde.Errorf(garde.EForbidden, "a write key cannot record decisions of source %s", req.Source)
		}
	default:
		req.Collector = c.Operator
		if req.Source == "" {
			req.Source = SourceOperator
		}
		if b.Subject != "" {
			if !b.Subject.Valid() {
				return nil, garde.Errorf(garde.EInvalid, "subject %q is not a subject id", garde.Truncate(string(b.Subject), 40))
			}
			req.IDs = []collect.Identity{{Kind: subjectKind, Hash: []byte(b.Subject)}}
		} else {
			req.IDs = h.identities(b.Who)
		}
	}
	if len(req.IDs) == 0 {
		return nil, garde.Errorf(garde.EInvalid, "name the person: userId or anonymousId")
	}
	if b.TCString != "" {
		d, err := TCFDecisions(h.Inventory, b.TCString)
		if err != nil {
			return nil, err
		}
		merge(req.Decisions, d)
	}
	merge(req.Decisions, b.Decisions)
	if b.GPPString != "" {
		d, child, err := GPPDecisions(h.Inventory, b.GPPString)
		if err != nil {
			return nil, err
		}
		merge(req.Decisions, d)
		if child && req.Age.Status != "minor" {
			req.Age = Age{Status: "minor", Method: "gpp_known_child"}
		}
	}
	if req.Signals.GPC {
		merge(req.Decisions, GPCDecisions(h.Inventory))
	}
	if len(req.Decisions) == 0 {
		return nil, garde.Errorf(garde.EInvalid, "no decision given: send decisions, a tcString, a gppString or Sec-GPC: 1")
	}
	return req, nil
}

// subjectKind marks an identity that is a subject id itself (operators).
const subjectKind = "subject"

func merge(into, from map[string]Decision) {
	for k, v := range from {
		into[k] = v
	}
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	c, err := h.caller(r, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	who := Who{UserID: q.Get("userId"), AnonymousID: q.Get("anonymousId")}
	s, err := h.find(r.Context(), c, who, garde.SubjectID(q.Get("subject")))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, h.Index.State(s, h.Clock.Now()))
}

// find resolves a person without creating anyone. An unknown person gets
// the state of nobody (every consent purpose off), not a 404, so that the
// answer does not reveal whether Garde knows them — except to operators.
func (h *Handler) find(ctx context.Context, c Caller, who Who, subject garde.SubjectID) (garde.SubjectID, error) {
	if subject != "" {
		if c.Operator == "" {
			return "", garde.Errorf(garde.EForbidden, "a write key names people by userId or anonymousId only")
		}
		if !subject.Valid() {
			return "", garde.Errorf(garde.EInvalid, "subject %q is not a subject id", garde.Truncate(string(subject), 40))
		}
		return h.Ledger.Canonical(ctx, []collect.Identity{{Kind: subjectKind, Hash: []byte(subject)}}, c.Operator != "")
	}
	ids := h.identities(who)
	if len(ids) == 0 {
		return "", garde.Errorf(garde.EInvalid, "name the person: userId or anonymousId")
	}
	return h.Ledger.Canonical(ctx, ids, c.Operator != "")
}

// CheckBody is the body of POST /v1/consent/check.
type CheckBody struct {
	Purposes []string `json:"purposes"`
	Subjects []Who    `json:"subjects"`
}

// CheckAnswer holds one result per subject, in order.
type CheckAnswer struct {
	Results []CheckResult `json:"results"`
}

// CheckResult lists the purposes allowed now for one subject.
type CheckResult struct {
	Allowed []string `json:"allowed"`
	Known   bool     `json:"known"`
}

func (h *Handler) check(w http.ResponseWriter, r *http.Request) {
	op, err := h.Operator(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var b CheckBody
	if err := readJSON(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(b.Subjects) > MaxCheck {
		h.fail(w, r, garde.Errorf(garde.ETooLarge, "at most %d subjects per call", MaxCheck))
		return
	}
	set, err := h.Inventory.PurposeSetOf(b.Purposes...)
	if err != nil || len(b.Purposes) == 0 {
		h.fail(w, r, garde.Errorf(garde.EInvalid, "purposes: name one or more purposes of the inventory"))
		return
	}
	// resolve everyone named by userId or anonymousId in one look-up
	firsts := make([]collect.Identity, len(b.Subjects))
	var batch []collect.Identity
	for i, who := range b.Subjects {
		if who.Subject != "" {
			continue
		}
		ids := h.identities(Who{UserID: who.UserID, AnonymousID: who.AnonymousID})
		if len(ids) == 0 {
			h.fail(w, r, garde.Errorf(garde.EInvalid, "subjects[%d]: name the person: userId, anonymousId or subject", i))
			return
		}
		firsts[i] = ids[0]
		batch = append(batch, ids...)
	}
	found, err := h.Ledger.Subjects.FindCanonicalByIdentities(r.Context(), batch)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.Clock.Now()
	a := CheckAnswer{Results: make([]CheckResult, len(b.Subjects))}
	for i, who := range b.Subjects {
		var s garde.SubjectID
		if who.Subject != "" {
			if s, err = h.find(r.Context(), Caller{Operator: op}, Who{}, who.Subject); err != nil && garde.ErrorCode(err) != garde.ENotFound {
				h.fail(w, r, err)
				return
			}
		} else {
			s = found[firsts[i].Kind+"\x00"+string(firsts[i].Hash)]
			if s == "" && who.UserID != "" && who.AnonymousID != "" {
				anon := h.identities(Who{AnonymousID: who.AnonymousID})[0]
				s = found[anon.Kind+"\x00"+string(anon.Hash)]
			}
		}
		res := CheckResult{Allowed: []string{}, Known: s != ""}
		if s != "" {
			res.Allowed = h.Inventory.PurposeKeys(h.Index.Allowed(s, set, now))
		}
		a.Results[i] = res
	}
	api.JSON(w, http.StatusOK, a)
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	keys := h.Receipts.Keys()
	for _, s := range h.Published {
		keys = append(keys, s.Keys()...)
	}
	api.JSON(w, http.StatusOK, jws.KeySet(keys))
}

func (h *Handler) gpc(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	api.JSON(w, http.StatusOK, map[string]any{"gpc": true, "lastUpdate": h.GPCUpdated.UTC().Format("2006-01-02")})
}

// SubjectIdentity names a subject by its id in a Request's IDs: for
// operators and the privacy centre, who know the person by id.
func SubjectIdentity(s garde.SubjectID) collect.Identity {
	return collect.Identity{Kind: subjectKind, Hash: []byte(s)}
}
