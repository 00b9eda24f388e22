package collect

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
	"github.com/garde-privacy/garde/inventory"
)

// Handler serves the Segment-compatible tracking API, so that Segment's and
// RudderStack's SDKs (server and browser) send to Garde unchanged.
type Handler struct {
	Inventory *inventory.Inventory
	Pipeline  *Pipeline
	Writer    *Writer
	Metrics   *Metrics
	Log       *slog.Logger
	Clock     garde.Clock
	// GPC is told of the records of a call that carried Sec-GPC: 1, once
	// they are stored, so that the consent ledger records the opt-out of
	// sale and sharing it stands for (CCPA §7025). Nil ignores the signal.
	GPC func(r *http.Request, src *inventory.Source, recs []Record) error
}

// paths maps each collection path to the message type it implies ("" for a
// batch). The one-letter paths are those of Segment's browser library.
var paths = map[string]string{
	"track": TypeTrack, "t": TypeTrack,
	"identify": TypeIdentify, "i": TypeIdentify,
	"page": TypePage, "p": TypePage,
	"screen": TypeScreen, "s": TypeScreen,
	"group": TypeGroup, "g": TypeGroup,
	"alias": TypeAlias, "a": TypeAlias,
	"batch": "", "b": "", "import": "",
}

// Register mounts the collection routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for p, typ := range paths {
		mux.Handle("POST /v1/"+p, h.CORS(h.collect(typ, typ == "")))
		mux.Handle("OPTIONS /v1/"+p, h.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})))
	}
	mux.Handle("GET /v1/projects/{writeKey}/settings", h.CORS(http.HandlerFunc(h.settings)))
	mux.Handle("GET /sourceConfig", h.CORS(http.HandlerFunc(h.sourceConfig)))
	mux.Handle("GET /sourceConfig/", h.CORS(http.HandlerFunc(h.sourceConfig)))
}

// Response answers a collection call.
type Response struct {
	Success  bool       `json:"success"`
	Accepted int        `json:"accepted"`
	Dropped  int        `json:"dropped"`
	Rejected []Rejected `json:"rejected,omitempty"`
	// Error is set when nothing in the call was usable, so that every 4xx
	// answer carries the same machine-readable error as api.ErrorBody.
	Error *api.ErrorDetail `json:"error,omitempty"`
}

// Rejected names a message of a batch that was refused as bad input.
type Rejected struct {
	Index     int             `json:"index"`
	MessageID string          `json:"messageId,omitempty"`
	Error     api.ErrorDetail `json:"error"`
}

func (h *Handler) collect(typ string, batch bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		resp, err := h.serve(r, typ, batch)
		if err != nil {
			h.Metrics.Rejected.WithLabelValues(garde.ErrorCode(err)).Inc()
			api.Error(w, r, h.Log, err)
			return
		}
		h.Metrics.RequestSeconds.Observe(time.Since(start).Seconds())
		status := http.StatusOK
		if resp.Accepted+resp.Dropped == 0 && len(resp.Rejected) > 0 {
			// nothing in the call was usable: say so with the first reason
			status = garde.ErrorStatus(resp.Rejected[0].Error.Code)
			resp.Success = false
			resp.Error = &resp.Rejected[0].Error
		}
		writeResponse(w, status, resp)
	})
}

// writeResponse answers a call with resp, as api.JSON would: written here
// in the usual case, nothing rejected (encoding/json's reflection was a
// tenth of the HTTP layer's cost for single events).
func writeResponse(w http.ResponseWriter, status int, resp *Response) {
	if len(resp.Rejected) > 0 || resp.Error != nil {
		api.JSON(w, status, resp)
		return
	}
	b := make([]byte, 0, 64)
	b = strconv.AppendBool(append(b, `{"success":`...), resp.Success)
	b = strconv.AppendInt(append(b, `,"accepted":`...), int64(resp.Accepted), 10)
	b = strconv.AppendInt(append(b, `,"dropped":`...), int64(resp.Dropped), 10)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(append(b, "}\n"...))
}

var jsonContentType = []string{"application/json"}

func (h *Handler) serve(r *http.Request, typ string, batch bool) (*Response, error) {
	body, release, err := readBody(r)
	if err != nil {
		return nil, err
	}
	defer release()
	// the records' buffers, given back with the body once answered
	a := getArena()
	defer a.put()
	received := h.Clock.Now()
	var msgs []*Message
	var resp Response
	key, _, hasBasic := r.BasicAuth()
	if !batch {
		m := &a.messages(1)[0]
		if err := m.read(body, typ, false, a.index()); err != nil {
			return nil, err
		}
		msgs = []*Message{m}
		if !hasBasic {
			key = m.WriteKey
		}
	} else {
		if err := scanJSON(body, MaxDepth, a.index()); err != nil {
			return nil, err
		}
		b, err := decodeBatch(body, a)
		if err != nil {
			return nil, err
		}
		if !hasBasic {
			key = b.WriteKey
		}
		slab := a.messages(len(b.Batch))
		msgs = make([]*Message, 0, len(b.Batch))
		for i, raw := range b.Batch {
			m := &slab[i]
			if err := m.read(raw, "", true, a.index()); err != nil {
				resp.Rejected = append(resp.Rejected, Rejected{Index: i, MessageID: messageID(raw), Error: api.Detail(err)})
				h.Metrics.Rejected.WithLabelValues(garde.ErrorCode(err)).Inc()
				msgs = append(msgs, nil)
				continue
			}
			if key == "" {
				key = m.WriteKey
			}
			inheritContext(m, b.Context)
			msgs = append(msgs, m)
		}
	}
	src := h.Inventory.SourceByWriteKey(key)
	if src == nil {
		return nil, garde.Errorf(garde.EUnauthorized, "unknown or missing write key")
	}
	if err := checkOrigin(src, r); err != nil {
		return nil, err
	}
	local := &Tally{}
	recs := a.records(len(msgs))
	for i, m := range msgs {
		if m == nil {
			continue
		}
		if i%16 == 15 {
			// let the writer goroutine run: readied while this request
			// prepares its batch, it would otherwise wait for this
			// goroutine's time slice to end, and every request waits
			// for the writer
			runtime.Gosched()
		}
		if rec, ok := h.Pipeline.prepare(a, src, m, received, local); ok {
			recs = append(recs, rec)
		} else {
			resp.Dropped++
		}
	}
	h.Writer.Preseal(r.Context(), recs)
	if err := h.Writer.Submit(r.Context(), recs, local); err != nil {
		return nil, err
	}
	if h.GPC != nil && r.Header.Get("Sec-GPC") == "1" && len(recs) > 0 {
		if err := h.GPC(r, src, recs); err != nil {
			return nil, err
		}
	}
	h.Metrics.observe(local)
	h.Metrics.Accepted.WithLabelValues(src.Key).Add(float64(len(recs)))
	resp.Success, resp.Accepted = true, len(recs)
	return &resp, nil
}

// readBody reads the request body, gunzipping it when it says so, and
// refuses a body (compressed or not) over MaxBody. Call release once
// nothing points into the body any more (see body.go).
func readBody(r *http.Request) (body []byte, release func(), err error) {
	var rd io.Reader = r.Body
	size := r.ContentLength // a hint for the buffer, when the body is sent as it is
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(io.LimitReader(r.Body, MaxBody+1))
		if err != nil {
			return nil, nil, garde.Wrap(garde.EInvalid, err, "body is not valid gzip")
		}
		defer zr.Close()
		rd, size = zr, -1
	default:
		return nil, nil, garde.Errorf(garde.EUnsupported, "content encoding %q is not supported (use gzip)", truncate(enc, 16))
	}
	b, class, err := readAll(io.LimitReader(rd, MaxBody+1), size)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || err == nil && len(b) > MaxBody:
		err = garde.Errorf(garde.ETooLarge, "body is larger than %d bytes", MaxBody)
	case err != nil:
		err = garde.Wrap(garde.EInvalid, err, "could not read the body")
	case len(b) == 0:
		err = garde.Errorf(garde.EInvalid, "body is empty")
	}
	if err != nil {
		putBody(b, class)
		return nil, nil, err
	}
	return b, func() { putBody(b, class) }, nil
}

// readAll is io.ReadAll into a buffer of the announced size (plus the byte
// that meets the end) from the pools of body.go, instead of one grown step
// by step; class is the buffer's (putBody).
func readAll(rd io.Reader, size int64) (b []byte, class int, err error) {
	if size <= 0 || size > MaxBody {
		size = 512
	}
	b, class = getBody(int(size) + 1)
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, class, nil
		}
		if err != nil {
			return b, class, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append choose the next size
		}
	}
}

// inheritContext gives a batched message the batch's context fields it does
// not set itself, as Segment's batch endpoint does.
func inheritContext(m *Message, ctx Object) {
	if len(ctx) == 0 {
		return
	}
	if len(m.Context) == 0 {
		m.Context = ctx
		return
	}
	own := m.Context
	merged := append(make([]byte, 0, len(own)+len(ctx)), own[:bytes.LastIndexByte(own, '}')]...)
	empty := len(bytes.TrimSpace(merged[1:])) == 0
	it := ctx.members()
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		if own.get(keyString(k)) != nil {
			continue
		}
		if !empty {
			merged = append(merged, ',')
		}
		empty = false
		merged = append(append(append(append(merged, '"'), k...), '"', ':'), v...)
	}
	m.Context = append(merged, '}')
}

// messageID digs the messageId out of a message that failed to decode, to
// name it in the answer; "" when there is none.
func messageID(raw []byte) string {
	if len(raw) == 0 || raw[0] != '{' {
		return ""
	}
	v := Object(raw).get("messageId")
	if len(v) == 0 || v[0] != '"' {
		return ""
	}
	if id := unquote(v); len(id) <= MaxIDLength {
		return id
	}
	return ""
}

// cors lets browsers call the API. Preflights are answered for any origin
// (the write key, and so the source, is not known yet); the call itself is
// refused when its source lists origins and this is not one of them.
// CORS lets browsers call a route from the sites of the sources.
func (h *Handler) CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" {
			hd := w.Header()
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Add("Vary", "Origin")
			hd.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding, Sec-GPC, AnonymousId")
			hd.Set("Access-Control-Allow-Credentials", "true")
			hd.Set("Access-Control-Max-Age", "600")
		}
		next.ServeHTTP(w, r)
	})
}

func checkOrigin(src *inventory.Source, r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" || len(src.Origins) == 0 || slices.Contains(src.Origins, origin) {
		return nil
	}
	return garde.Errorf(garde.EForbidden, "origin is not allowed for this source")
}
