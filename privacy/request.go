package privacy

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
)

// requestData is a request's page.
type requestData struct {
	ID            string
	Kind          string // a Kind…
	State         string // a state (rights.State)
	Received      string
	DueBy         string
	Reason        string
	Known         bool
	Running       bool   // still being answered: a refresh link
	Auto          bool   // the page refreshes by itself
	Done          string // the message of a change just made
	Download      string // the one-time link, "" when none
	DownloadUntil string
	LinkGone      bool // the copy was made but its link was used or has expired
	Certificate   string
	VerifyCommand string
	Consents      []consentRow
	Fields        []fieldRow
	ConsentAction string
	FieldAction   string
	Refresh       string
}

type consentRow struct {
	ID          string
	Purpose     string
	Name        string
	Description string
	LegalBasis  string
	Given       bool
	Expires     string
	Error       string
}

type fieldRow struct {
	ID       string
	Name     string
	Label    string
	Current  string
	Value    string // the input's value
	Error    string
	Personal bool
}

// pageErrors are the problems of a form posted on the request page, to
// show beside the purpose or field they concern.
type pageErrors struct {
	purpose, field, value, text string
}

// doneMessages are the ?done= values the request page confirms.
var doneMessages = map[string]string{"consent": "done.consent", "field": "done.field"}

func (c *Centre) request(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ok := c.authorised(w, r, v)
	if !ok {
		return
	}
	c.showRequest(w, r, v, id, http.StatusOK, r.URL.Query().Get("done"), pageErrors{})
}

// authorised returns the request id of the URL when this browser is
// verified for it; otherwise it has answered (404 for a malformed id, 403
// offering to verify again).
func (c *Centre) authorised(w http.ResponseWriter, r *http.Request, v *visit) (string, bool) {
	id := r.PathValue("id")
	v.here = requestPath(id)
	if !validID(id) {
		v.here = "/privacy"
		c.errorPage(w, r, v, http.StatusNotFound, "notfound.title", "notfound.text")
		return "", false
	}
	if c.sessionID(r) != id {
		c.forbidden(w, r, v, id)
		return "", false
	}
	return id, true
}

// forbidden is the page of a request this browser is not verified for.
func (c *Centre) forbidden(w http.ResponseWriter, r *http.Request, v *visit, id string) {
	c.render(w, r, v, http.StatusForbidden, "error.html", "forbidden.title",
		&errorData{Heading: "forbidden.title", Text: c.t(v, "forbidden.text"), Verify: requestPath(id) + "/verify"}, nil)
}

func (c *Centre) showRequest(w http.ResponseWriter, r *http.Request, v *visit, id string, status int, done string, pe pageErrors) {
	ctx := r.Context()
	st, err := c.Backend.Status(ctx, id)
	if err != nil {
		c.requestFailed(w, r, v, id, err)
		return
	}
	d := &requestData{ID: id, Kind: st.Kind, State: st.State, Received: moment(st.Received, v.lang),
		DueBy: day(st.DueBy, v.lang), Reason: st.Reason, Known: st.Known, Certificate: st.Certificate,
		ConsentAction: requestPath(id) + "/consents", FieldAction: requestPath(id) + "/fields", Refresh: requestPath(id)}
	if key, ok := doneMessages[done]; ok && status == http.StatusOK {
		d.Done = c.t(v, key)
	}
	d.Running = st.State == "verified" || st.State == "in_progress" || st.State == "extended"
	if st.Download != "" {
		d.Download = "/privacy/download/" + st.Download
		d.DownloadUntil = moment(st.DownloadExpires, v.lang)
	} else if st.Known && st.State == "completed" && (st.Kind == KindAccess || st.Kind == KindPortability) {
		d.LinkGone = true
	}
	if st.Certificate != "" {
		d.VerifyCommand = c.verifyCommand(r)
	}
	switch st.Kind {
	case KindConsents:
		d.Running = false
		if st.Known {
			cs, err := c.Backend.Consents(ctx, id)
			if err != nil {
				c.requestFailed(w, r, v, id, err)
				return
			}
			d.Consents = c.consentRows(v, cs, pe)
		}
	case KindRectification:
		d.Running = false
		if st.Known {
			fs, err := c.Backend.Fields(ctx, id)
			if err != nil {
				c.requestFailed(w, r, v, id, err)
				return
			}
			d.Fields = c.fieldRows(v, fs, pe)
		}
	}
	// refresh by itself only while an answer is minutes away, and never
	// over a form being filled in
	d.Auto = d.Running && st.State != "extended" && status == http.StatusOK
	v.refresh = d.Auto
	var problems []problem
	if pe.text != "" {
		problems = append(problems, problem{Field: c.problemField(d, pe), Text: pe.text})
	}
	c.render(w, r, v, status, "request.html", titleOf(st.Kind), d, problems)
}

func titleOf(kind string) string {
	if kind == KindConsents {
		return "consents.title"
	}
	return "request.title"
}

// problemField is the id of the control a problem is about, for the
// summary's link ("" when it is about no shown control).
func (c *Centre) problemField(d *requestData, pe pageErrors) string {
	for _, row := range d.Consents {
		if pe.purpose != "" && row.Purpose == pe.purpose {
			return row.ID
		}
	}
	for _, row := range d.Fields {
		if pe.field != "" && row.Name == pe.field {
			return row.ID
		}
	}
	return ""
}

func (c *Centre) consentRows(v *visit, cs []Consent, pe pageErrors) []consentRow {
	rows := make([]consentRow, 0, len(cs))
	for i, cn := range cs {
		row := consentRow{ID: "consent-" + strconv.Itoa(i), Purpose: cn.Purpose, Name: cn.Purpose,
			Description: cn.Description, LegalBasis: cn.LegalBasis, Given: cn.Given}
		if c.Inventory != nil {
			if p := c.Inventory.Purpose(cn.Purpose); p != nil {
				row.Name = purposeName(p, v.lang)
				if row.Description == "" {
					row.Description = inLang(p.Description, v.lang)
				}
			}
		}
		if cn.Given {
			row.Expires = day(cn.Expires, v.lang)
		}
		if pe.purpose != "" && pe.purpose == cn.Purpose {
			row.Error = pe.text
		}
		rows = append(rows, row)
	}
	return rows
}

func (c *Centre) fieldRows(v *visit, fs []Field, pe pageErrors) []fieldRow {
	rows := make([]fieldRow, 0, len(fs))
	for i, f := range fs {
		row := fieldRow{ID: "field-" + strconv.Itoa(i), Name: f.Name, Label: f.Name, Current: f.Value, Value: f.Value}
		if c.Inventory != nil {
			if cat := c.Inventory.Category(f.Category); cat != nil {
				if n := inLang(cat.Description, v.lang); n != "" {
					row.Label = n + " (" + f.Name + ")"
				}
			}
		}
		if pe.field != "" && pe.field == f.Name {
			row.Error, row.Value = pe.text, pe.value
		}
		rows = append(rows, row)
	}
	return rows
}

// requestFailed answers an error of the backend about a request: 403 when
// the backend no longer holds the verification (the person verifies
// again), else the error's status.
func (c *Centre) requestFailed(w http.ResponseWriter, r *http.Request, v *visit, id string, err error) {
	if garde.ErrorCode(err) == garde.EForbidden {
		c.forbidden(w, r, v, id)
		return
	}
	c.fail(w, r, v, err)
}

// verifyCommand is how to check an erasure certificate offline.
func (c *Centre) verifyCommand(r *http.Request) string {
	cmd := "garde rights verify-certificate certificate.txt"
	if plainHost(r.Host) {
		scheme := "http"
		if c.Secure || r.TLS != nil {
			scheme = "https"
		}
		cmd += " --jwks " + scheme + "://" + r.Host + "/.well-known/jwks.json"
	}
	return cmd
}

// plainHost accepts a host[:port] of letters, digits, dots, dashes and
// colons (IPv6 in brackets), nothing that could be read as a second
// command.
func plainHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range []byte(h) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == ':',
			c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// decide gives or withdraws consent to one purpose.
func (c *Centre) decide(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ok := c.authorised(w, r, v)
	if !ok {
		return
	}
	purpose, give := r.PostForm.Get("purpose"), r.PostForm.Get("give")
	if purpose == "" || len(purpose) > 100 || (give != "yes" && give != "no") {
		c.showRequest(w, r, v, id, http.StatusBadRequest, "", pageErrors{text: c.t(v, "consents.invalid")})
		return
	}
	err := c.Backend.Decide(r.Context(), id, Decision{Purpose: purpose, Give: give == "yes", Lang: v.lang,
		IP: api.RemoteHost(r), UserAgent: garde.Truncate(r.UserAgent(), 256)})
	if err != nil {
		c.formFailed(w, r, v, id, err, pageErrors{purpose: purpose})
		return
	}
	http.Redirect(w, r, requestPath(id)+"?done=consent", http.StatusSeeOther)
}

// rectify corrects one field.
func (c *Centre) rectify(w http.ResponseWriter, r *http.Request, v *visit) {
	id, ok := c.authorised(w, r, v)
	if !ok {
		return
	}
	field, value := r.PostForm.Get("field"), r.PostForm.Get("value")
	if field == "" || len(field) > 100 {
		c.showRequest(w, r, v, id, http.StatusBadRequest, "", pageErrors{text: c.t(v, "fields.invalid")})
		return
	}
	value = strings.TrimSpace(value)
	if err := c.Backend.Rectify(r.Context(), id, field, value); err != nil {
		c.formFailed(w, r, v, id, err, pageErrors{field: field, value: value})
		return
	}
	http.Redirect(w, r, requestPath(id)+"?done=field", http.StatusSeeOther)
}

// formFailed shows the request page again with the error of a form: beside
// its purpose or field, with the error's status.
func (c *Centre) formFailed(w http.ResponseWriter, r *http.Request, v *visit, id string, err error, pe pageErrors) {
	status := c.status(r, err)
	switch {
	case status == http.StatusForbidden:
		c.forbidden(w, r, v, id)
		return
	case status >= 500:
		c.fail(w, r, v, err)
		return
	}
	fallback := "consents.rejected"
	if pe.field != "" {
		fallback = "fields.rejected"
	}
	pe.text = c.errorTextOr(v, err, fallback)
	c.showRequest(w, r, v, id, status, "", pe)
}

// download hands over the copy behind a one-time link. A used, expired or
// unknown link gets one same answer.
func (c *Centre) download(w http.ResponseWriter, r *http.Request, v *visit) {
	if r.Method == http.MethodHead {
		// a link checker's HEAD must not spend the one-time link
		w.Header().Set("Allow", "GET")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	token := r.PathValue("token")
	if token == "" || len(token) > 256 {
		c.gone(w, r, v)
		return
	}
	zip, err := c.Backend.Take(r.Context(), token)
	if err != nil {
		switch garde.ErrorCode(err) {
		case garde.ENotFound, garde.EInvalid, garde.EConflict, garde.EForbidden:
			c.gone(w, r, v)
		default:
			c.fail(w, r, v, err)
		}
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="garde-data.zip"`)
	h.Set("Content-Length", strconv.Itoa(len(zip)))
	w.WriteHeader(http.StatusOK)
	w.Write(zip)
}

// gone is the answer to a download link that works no more.
func (c *Centre) gone(w http.ResponseWriter, r *http.Request, v *visit) {
	v.here = "/privacy"
	c.errorPage(w, r, v, http.StatusGone, "gone.title", "gone.text")
}
