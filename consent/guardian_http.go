package consent

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/api"
)

// Register mounts the guardian flow on mux: POST /v1/consent/guardian
// (wrapped by cors: browsers call it), and the guardian's page,
// GET and POST /consent/guardian/{token}.
func (g *Guardians) Register(mux *http.ServeMux, cors func(http.Handler) http.Handler) {
	mux.Handle("POST /v1/consent/guardian", cors(http.HandlerFunc(g.post)))
	mux.Handle("OPTIONS /v1/consent/guardian", cors(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	mux.HandleFunc("GET /consent/guardian/{token}", g.page)
	mux.HandleFunc("POST /consent/guardian/{token}", g.answer)
}

// GuardianBody is the body of POST /v1/consent/guardian: the minor's call
// to POST /v1/consent, with the guardian's address.
type GuardianBody struct {
	PostBody
	GuardianEmail string `json:"guardianEmail"`
}

// GuardianPostAnswer answers POST /v1/consent/guardian (202 Accepted: the
// guardian has been written to).
type GuardianPostAnswer struct {
	RequestID string    `json:"requestId"`
	Expires   time.Time `json:"expires"`
}

func (g *Guardians) post(w http.ResponseWriter, r *http.Request) {
	h := g.API
	var b GuardianBody
	if err := readJSON(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	c, err := h.caller(r, b.WriteKey)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := h.request(r, c, &b.PostBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	gr, err := g.request(r.Context(), req, b.GuardianEmail, Lang(b.Notice.Language, preferredLang(r, "")))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	api.JSON(w, http.StatusAccepted, GuardianPostAnswer{RequestID: gr.ID, Expires: gr.Expires})
}

// page shows the guardian the purposes asked for, each unticked, with
// Approve and Refuse buttons of the same style.
func (g *Guardians) page(w http.ResponseWriter, r *http.Request) {
	gr, err := g.Open(r.Context(), r.PathValue("token"))
	if err != nil {
		g.errorPage(w, r, err, "")
		return
	}
	lang := preferredLang(r, gr.Lang)
	g.render(w, http.StatusOK, pageTmpl, g.pageData(gr, lang))
}

// answer records the guardian's answer from the page's form and shows a
// confirmation with the receipt id.
func (g *Guardians) answer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		g.errorPage(w, r, garde.Wrap(garde.EInvalid, err, "the form could not be read"), "")
		return
	}
	approve := map[string]bool{}
	age := Age{Status: "unknown"}
	switch r.PostForm.Get("action") {
	case "approve":
		for _, k := range r.PostForm["purpose"] {
			approve[k] = true
		}
		if r.PostForm.Get("guardian") == "yes" {
			age = Age{Status: "adult", Method: "self_declared"}
		} else if len(approve) > 0 {
			g.errorPage(w, r, garde.Errorf(garde.EInvalid, "confirm that you are the child's parent or guardian, and an adult"), "adult")
			return
		}
	case "refuse":
	default:
		g.errorPage(w, r, garde.Errorf(garde.EInvalid, "the form has no answer"), "")
		return
	}
	res, err := g.decide(r.Context(), r.PathValue("token"), approve, age, api.RemoteHost(r), r.UserAgent())
	if err != nil {
		g.errorPage(w, r, err, "")
		return
	}
	lang := preferredLang(r, "")
	if lang == "" {
		lang = Lang(res.Records[0].Notice.Language, "")
	}
	d := g.doneData(res, lang)
	g.render(w, http.StatusOK, doneTmpl, d)
}

// preferredLang returns "fr" or "en", whichever Accept-Language prefers,
// else fallback.
func preferredLang(r *http.Request, fallback string) string {
	best, bestQ := "", 0.0
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			} else {
				q = 0
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if (base == "fr" || base == "en") && q > bestQ {
			best, bestQ = base, q
		}
	}
	if best == "" {
		return fallback
	}
	return best
}

// The page's sentences.
type pageText struct {
	Title, Intro, IntroAge, Joint, Legend, Adult, Approve, Refuse, Until, Colon string
	DoneTitle, DoneGiven, DoneRefused, Receipt, ReceiptToken, Withdraw          string
	ErrTitle, ErrUsed, ErrExpired, ErrInvalid, ErrAdult, ErrOther               string
}

var pageTexts = map[string]pageText{
	"en": {
		Title:        "A child asks for your consent",
		Colon:        ":",
		Intro:        "A child who says you are their parent or guardian asked %s for the purposes below. At their age the law does not let them consent alone. Nothing is allowed until you answer.",
		IntroAge:     "A child aged %d who says you are their parent or guardian asked %s for the purposes below. At their age the law does not let them consent alone. Nothing is allowed until you answer.",
		Joint:        "Under 15 in France, the child and a parent consent together: the child has asked, and your answer completes it.",
		Legend:       "Tick each purpose you agree to",
		Adult:        "I am this child's parent or legal guardian, and an adult.",
		Approve:      "Approve the ticked purposes",
		Refuse:       "Refuse all",
		Until:        "This page is valid until %s (UTC) and can be answered once.",
		DoneTitle:    "Your answer is recorded",
		DoneGiven:    "approved",
		DoneRefused:  "refused",
		Receipt:      "Receipt number",
		ReceiptToken: "Signed receipt (keep it to prove your answer)",
		Withdraw:     "You can withdraw your consent at any time by contacting %s (%s).",
		ErrTitle:     "This link cannot be used",
		ErrUsed:      "This link was already used: the answer given through it is recorded.",
		ErrExpired:   "This link has expired. Nothing was recorded; the child can ask again.",
		ErrInvalid:   "This link is not valid. Check that it was copied whole.",
		ErrAdult:     "To approve, confirm that you are the child's parent or legal guardian, and an adult. Go back to the previous page to answer.",
		ErrOther:     "Your answer could not be recorded. Please try again later.",
	},
	"fr": {
		Title:        "Un enfant demande votre accord",
		Colon:        " :",
		Intro:        "Un enfant qui vous désigne comme son parent ou tuteur a fait auprès de %s les demandes ci-dessous. À son âge, la loi ne lui permet pas de consentir seul. Rien n'est autorisé tant que vous n'avez pas répondu.",
		IntroAge:     "Un enfant de %d ans qui vous désigne comme son parent ou tuteur a fait auprès de %s les demandes ci-dessous. À son âge, la loi ne lui permet pas de consentir seul. Rien n'est autorisé tant que vous n'avez pas répondu.",
		Joint:        "En France, avant 15 ans, l'enfant et un titulaire de l'autorité parentale consentent conjointement : l'enfant l'a demandé, votre réponse le complète.",
		Legend:       "Cochez chaque finalité que vous acceptez",
		Adult:        "Je suis le parent ou le représentant légal de cet enfant, et majeur.",
		Approve:      "Accepter les finalités cochées",
		Refuse:       "Tout refuser",
		Until:        "Cette page est valable jusqu'au %s (UTC) et n'accepte qu'une réponse.",
		DoneTitle:    "Votre réponse est enregistrée",
		DoneGiven:    "acceptée",
		DoneRefused:  "refusée",
		Receipt:      "Numéro de reçu",
		ReceiptToken: "Reçu signé (conservez-le pour prouver votre réponse)",
		Withdraw:     "Vous pouvez retirer votre accord à tout moment en contactant %s (%s).",
		ErrTitle:     "Ce lien ne peut pas être utilisé",
		ErrUsed:      "Ce lien a déjà servi : la réponse donnée par ce lien est enregistrée.",
		ErrExpired:   "Ce lien a expiré. Rien n'a été enregistré ; l'enfant peut refaire sa demande.",
		ErrInvalid:   "Ce lien n'est pas valable. Vérifiez qu'il a été copié en entier.",
		ErrAdult:     "Pour accepter, confirmez que vous êtes le parent ou le représentant légal de l'enfant, et majeur. Revenez à la page précédente pour répondre.",
		ErrOther:     "Votre réponse n'a pas pu être enregistrée. Réessayez plus tard.",
	},
}

type pagePurpose struct{ Key, Name, Description, Outcome string }

type pageData struct {
	Lang, Org, Intro, Until, Message, Receipt, Token, Withdraw string
	Joint                                                      bool
	T                                                          pageText
	Purposes                                                   []pagePurpose
}

func (g *Guardians) pageData(gr *GuardianRequest, lang string) pageData {
	inv, t := g.Ledger.Inventory, pageTexts[lang]
	d := pageData{Lang: lang, Org: inv.Organisation.Name, T: t, Joint: g.Ledger.jointConsent(&gr.Ask),
		Until: sprintf(t.Until, mailTexts[lang].date(gr.Expires, lang))}
	if y := gr.Ask.Age.Years; y > 0 {
		d.Intro = sprintf(t.IntroAge, y, d.Org)
	} else {
		d.Intro = sprintf(t.Intro, d.Org)
	}
	for _, k := range gr.Ask.Purposes() {
		p := inv.Purpose(k)
		d.Purposes = append(d.Purposes, pagePurpose{Key: k, Name: text(p.Name, lang), Description: text(p.Description, lang)})
	}
	return d
}

func (g *Guardians) doneData(res *Result, lang string) pageData {
	inv, t := g.Ledger.Inventory, pageTexts[lang]
	d := pageData{Lang: lang, Org: inv.Organisation.Name, T: t, Receipt: res.Records[0].ReceiptID}
	for _, rec := range res.Records {
		p := inv.Purpose(rec.Purpose)
		out := t.DoneRefused
		if rec.Decision == Given {
			out = t.DoneGiven
		}
		d.Purposes = append(d.Purposes, pagePurpose{Key: rec.Purpose, Name: text(p.Name, lang), Outcome: out})
	}
	if g.API != nil && g.API.Receipts != nil {
		if tok, err := NewReceipt(inv, res.Records, g.Clock.Now()).Sign(g.API.Receipts); err == nil {
			d.Token = tok
		}
	}
	if dpo := inv.Organisation.DPO; dpo.Email != "" {
		d.Withdraw = sprintf(t.Withdraw, dpo.Name, dpo.Email)
	}
	return d
}

// errorPage answers a failed page call in HTML, with the status its code
// maps to. The path (which holds the token) is never logged.
func (g *Guardians) errorPage(w http.ResponseWriter, r *http.Request, err error, kind string) {
	lang := preferredLang(r, "en")
	t := pageTexts[lang]
	code := garde.ErrorCode(err)
	msg := t.ErrOther
	switch {
	case kind == "adult":
		msg = t.ErrAdult
	case errors.Is(err, errLinkExpired):
		msg = t.ErrExpired
	case code == garde.EConflict:
		msg = t.ErrUsed
	case code == garde.EInvalid || code == garde.ENotFound:
		msg = t.ErrInvalid
	}
	status := garde.ErrorStatus(code)
	if status >= 500 && g.API != nil && g.API.Log != nil {
		g.API.Log.Error("guardian page failed", "method", r.Method, "route", r.Pattern, "request_id", api.RequestID(r.Context()), "code", code, "err", err)
	}
	g.render(w, status, errorTmpl, pageData{Lang: lang, T: t, Message: msg})
}

func (g *Guardians) render(w http.ResponseWriter, status int, t *template.Template, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL holds the token
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	t.Execute(w, d)
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// pageStyle is the pages' only style, allowed by its hash (no other inline
// style, no script).
const pageStyle = `
body { font: 1rem/1.5 system-ui, sans-serif; color: #111; background: #fff; margin: 0; }
main { max-width: 40rem; margin: 0 auto; padding: 1.5rem; }
fieldset { border: 1px solid #666; padding: 1rem; margin: 1rem 0; }
.purpose { margin: 0 0 1rem; }
.purpose p { margin: .25rem 0 0 1.75rem; color: #333; }
input[type=checkbox] { width: 1.25rem; height: 1.25rem; vertical-align: middle; margin-right: .5rem; }
.choices { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.5rem 0; }
.choice { flex: 1 1 12rem; font: inherit; font-weight: 600; padding: .75rem 1rem; border: 2px solid #111; border-radius: .25rem; background: #fff; color: #111; cursor: pointer; }
.choice:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
textarea { width: 100%; font: .8rem monospace; }
`

var pageCSP = "default-src 'none'; style-src 'sha256-" + func() string {
	h := sha256.Sum256([]byte(pageStyle))
	return base64.StdEncoding.EncodeToString(h[:])
}() + "'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// The pages: no script; every control has a label; the two answers are
// buttons of one class, so of the same size, style and weight.
const pageHead = `<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>{{template "title" .}}</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
`

const pageFoot = `</main>
</body>
</html>
`

var (
	pageTmpl = template.Must(template.New("page").Parse(pageHead + `{{define "title"}}{{.T.Title}} — {{.Org}}{{end}}
<h1>{{.T.Title}}</h1>
<p>{{.Intro}}</p>
{{if .Joint}}<p>{{.T.Joint}}</p>{{end}}
<form method="post">
<fieldset>
<legend>{{.T.Legend}}</legend>
{{range .Purposes}}<div class="purpose">
<input type="checkbox" id="p-{{.Key}}" name="purpose" value="{{.Key}}" aria-describedby="d-{{.Key}}">
<label for="p-{{.Key}}">{{.Name}}</label>
<p id="d-{{.Key}}">{{.Description}}</p>
</div>
{{end}}</fieldset>
<p><input type="checkbox" id="guardian" name="guardian" value="yes" required> <label for="guardian">{{.T.Adult}}</label></p>
<div class="choices">
<button type="submit" name="action" value="approve" class="choice">{{.T.Approve}}</button>
<button type="submit" name="action" value="refuse" class="choice" formnovalidate>{{.T.Refuse}}</button>
</div>
</form>
<p>{{.Until}}</p>
` + pageFoot))

	doneTmpl = template.Must(template.New("done").Parse(pageHead + `{{define "title"}}{{.T.DoneTitle}} — {{.Org}}{{end}}
<h1>{{.T.DoneTitle}}</h1>
<ul>
{{range .Purposes}}<li>{{.Name}}{{$.T.Colon}} {{.Outcome}}</li>
{{end}}</ul>
<p>{{.T.Receipt}}{{.T.Colon}} <strong id="receipt">{{.Receipt}}</strong></p>
{{if .Token}}<p><label for="token">{{.T.ReceiptToken}}</label></p>
<textarea id="token" rows="6" readonly>{{.Token}}</textarea>{{end}}
{{if .Withdraw}}<p>{{.Withdraw}}</p>{{end}}
` + pageFoot))

	errorTmpl = template.Must(template.New("error").Parse(pageHead + `{{define "title"}}{{.T.ErrTitle}}{{end}}
<h1>{{.T.ErrTitle}}</h1>
<p role="alert">{{.Message}}</p>
` + pageFoot))
)
