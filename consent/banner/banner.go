// Package banner serves /consent.js, Garde's consent banner: a small,
// dependency-free script that asks the visitors of a source's site for
// consent to the inventory's purposes, in French or English, and posts
// each decision to /v1/consent.
//
// The banner has no dark patterns: "Accept all" and "Refuse all" are the
// same element with the same class, size, weight and colours, on the first
// layer; every switch starts off; closing it records a refusal; a permanent
// link reopens it to change or withdraw; Global Privacy Control is honoured.
// The inventory's `banner:` section may change texts and colours, and the
// inventory lint refuses a configuration that would make the banner unfair.
//
// The notice the banner shows is built by NoticeText, once, from the same
// strings the script renders; each decision names its version and SHA-256
// (NoticeHash), so that a record proves what the person read.
package banner

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/garde-privacy/garde/inventory"
)

//go:embed consent.js
var script string

// placeholder is replaced by the configuration in the served script.
const placeholder = "__GARDE_CONFIG__"

// Languages are the languages the banner speaks, the first the default.
var Languages = []string{"en", "fr"}

// Script is the /consent.js handler for one inventory: the script with the
// banner's configuration inlined, built once.
type Script struct {
	body, gz []byte
	etag     string
}

// New builds the script for inv.
func New(inv *inventory.Inventory) *Script {
	cfg, err := json.Marshal(configOf(inv))
	if err != nil {
		panic("banner: " + err.Error()) // only strings, bools and ints: cannot happen
	}
	body := []byte(strings.Replace(script, placeholder, string(cfg), 1))
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	return &Script{body: body, gz: gz.Bytes(), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// Handler serves the script of inv.
func Handler(inv *inventory.Inventory) http.Handler { return New(inv) }

// Register mounts GET /consent.js on mux.
func (s *Script) Register(mux *http.ServeMux) {
	mux.Handle("GET /consent.js", s)
}

// Body returns the script as served, uncompressed.
func (s *Script) Body() []byte { return bytes.Clone(s.body) }

// Gzipped returns the script as served to a browser that accepts gzip.
func (s *Script) Gzipped() []byte { return bytes.Clone(s.gz) }

// ServeHTTP serves the script, gzipped when the browser accepts it, with an
// ETag. Any site may load it (Cross-Origin-Resource-Policy: cross-origin).
func (s *Script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", s.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, s.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := s.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = s.gz
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && !strings.Contains(strings.ReplaceAll(q, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// config is what the script receives, as JSON.
type config struct {
	Version int `json:"version"`
	// Purposes are the purposes the banner asks about.
	Purposes []string `json:"purposes"`
	// Switches group Purposes, one switch each, in the order shown.
	Switches [][]string `json:"switches"`
	// Sale are the purposes Global Privacy Control opts out of.
	Sale               []string         `json:"sale"`
	PreChecked         []string         `json:"preChecked"`
	RefuseOnFirstLayer bool             `json:"refuseOnFirstLayer"`
	CloseRefuses       bool             `json:"closeRefuses"`
	ConsentWall        bool             `json:"consentWall"`
	Buttons            map[string]style `json:"buttons"`
	Text               map[string]texts `json:"text"`
}

type style struct {
	Colour     string `json:"colour"`
	Background string `json:"background"`
}

// texts are the strings of one language. Title, Intro and the purposes'
// names and descriptions make the notice (NoticeText).
type texts struct {
	Hash      string                 `json:"hash"`
	Title     string                 `json:"title"`
	Intro     string                 `json:"intro"`
	Purposes  map[string]purposeText `json:"purposes"`
	Accept    string                 `json:"accept"`
	Refuse    string                 `json:"refuse"`
	Customise string                 `json:"customise"`
	Save      string                 `json:"save"`
	Settings  string                 `json:"settings"`
	Close     string                 `json:"close"`
	GPC       string                 `json:"gpc"`
}

type purposeText struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// ui are the fixed strings of the banner, by language.
var ui = map[string]struct{ save, settings, close, gpc string }{
	"en": {"Save my choices", "Cookie settings", "Close and refuse all",
		"Your browser sends a Global Privacy Control signal: this purpose stays off."},
	"fr": {"Enregistrer mes choix", "Paramètres des cookies", "Fermer et tout refuser",
		"Votre navigateur envoie un signal Global Privacy Control : cette finalité reste désactivée."},
}

func configOf(inv *inventory.Inventory) config {
	b := &inv.Banner
	c := config{
		Version: b.NoticeVersion, Purposes: keysOf(b.Purposes), Sale: []string{}, PreChecked: keysOf(b.PreChecked),
		RefuseOnFirstLayer: b.RefuseOnFirstLayer, CloseRefuses: b.CloseMeans != inventory.CloseDismiss, ConsentWall: b.ConsentWall,
		Buttons: map[string]style{
			"accept":    {b.Accept.Colour, b.Accept.Background},
			"refuse":    {b.Refuse.Colour, b.Refuse.Background},
			"customise": {b.Customise.Colour, b.Customise.Background},
		},
		Text: map[string]texts{},
	}
	for _, sw := range switches(b) {
		c.Switches = append(c.Switches, keysOf(sw))
	}
	for _, p := range inv.Purposes {
		if p.SaleOrSharing {
			c.Sale = append(c.Sale, p.Key)
		}
	}
	for _, lang := range Languages {
		t := texts{
			Hash: NoticeHash(inv, lang), Title: pick(b.Title, lang), Intro: pick(b.Intro, lang), Purposes: map[string]purposeText{},
			Accept: pick(b.Accept.Label, lang), Refuse: pick(b.Refuse.Label, lang), Customise: pick(b.Customise.Label, lang),
			Save: ui[lang].save, Settings: ui[lang].settings, Close: ui[lang].close, GPC: ui[lang].gpc,
		}
		for _, p := range b.Purposes {
			t.Purposes[p.Key] = purposeText{pick(p.Name, lang), pick(p.Description, lang)}
		}
		c.Text[lang] = t
	}
	return c
}

// switches returns the banner's purposes grouped by switch, in the order
// shown: by the inventory order of each switch's first purpose.
func switches(b *inventory.Banner) [][]*inventory.Purpose {
	var out [][]*inventory.Purpose
	bundled := map[*inventory.Purpose][]*inventory.Purpose{}
	for _, g := range b.Bundles {
		for _, p := range g {
			bundled[p] = g
		}
	}
	seen := map[*inventory.Purpose]bool{}
	for _, p := range b.Purposes {
		if seen[p] {
			continue
		}
		g := bundled[p]
		if g == nil {
			g = []*inventory.Purpose{p}
		}
		for _, q := range g {
			seen[q] = true
		}
		out = append(out, g)
	}
	return out
}

// NoticeText returns the exact text the banner shows in lang ("en" or
// "fr"; anything else is English): its paragraphs — the title, the
// introduction, then each purpose's name and description in the order
// shown — separated by blank lines.
func NoticeText(inv *inventory.Inventory, lang string) string {
	b := &inv.Banner
	paras := []string{pick(b.Title, lang), pick(b.Intro, lang)}
	for _, sw := range switches(b) {
		for _, p := range sw {
			paras = append(paras, pick(p.Name, lang), pick(p.Description, lang))
		}
	}
	return strings.Join(paras, "\n\n")
}

// NoticeHash returns the hex SHA-256 of NoticeText(inv, lang), as decision
// records name it.
func NoticeHash(inv *inventory.Inventory, lang string) string {
	sum := sha256.Sum256([]byte(NoticeText(inv, lang)))
	return hex.EncodeToString(sum[:])
}

func pick(t inventory.Text, lang string) string {
	if lang == "fr" {
		return t.FR
	}
	return t.EN
}

func keysOf(ps []*inventory.Purpose) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}
