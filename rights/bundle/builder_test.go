package bundle_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/bundle"
)

// copyDoc is the part of data.json the tests read.
type copyDoc struct {
	Format   string `json:"format"`
	Language string `json:"language"`
	Subject  struct {
		ID     garde.SubjectID   `json:"id"`
		Merged []garde.SubjectID `json:"merged"`
	} `json:"subject"`
	Profile []struct {
		Name     string          `json:"name"`
		Category string          `json:"category"`
		Value    json.RawMessage `json:"value"`
	} `json:"profile"`
	Identities []bundle.Identity  `json:"identities"`
	Consents   []json.RawMessage  `json:"consents"`
	Requests   []bundle.Request   `json:"requests"`
	Recipients []bundle.Recipient `json:"recipients"`
	Accesses   []bundle.Access    `json:"accesses"`
	Events     []bundle.Event     `json:"events"`
	Counts     bundle.Counts      `json:"counts"`
	Categories []struct {
		Key      string `json:"key"`
		Events   int    `json:"events"`
		Traits   int    `json:"traits"`
		Purposes []struct {
			Key         string `json:"key"`
			Description string `json:"description"`
		} `json:"purposes"`
	} `json:"categories"`
}

func build(t *testing.T, e *env, s garde.SubjectID, lang string) (bundle.Manifest, map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	m, err := e.builder.Build(context.Background(), s, lang, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return m, unzip(t, buf.Bytes())
}

func readCSV(t *testing.T, name string, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no header", name)
	}
	return rows
}

// TestBuild: the copy of a seeded person holds every file; data.json is
// one document with the events opened, the person's identities by kind,
// ledger records with hashes, the request, the accesses that name them
// (without the other people, addresses or details), what partners were
// told, and per category the purposes with their descriptions; each CSV
// parses with as many rows as data.json has records.
func TestBuild(t *testing.T) {
	e := newEnv(t)
	p := e.seed(3)
	m, files := build(t, e, p.subject, "en")

	names := []string{bundle.FileData, bundle.FileProfile, bundle.FileEvents, bundle.FileIdentities, bundle.FileConsents,
		bundle.FileRequests, bundle.FileAccesses, bundle.FileRecipients, bundle.FileSummary, bundle.FileReadme}
	for _, n := range names {
		if len(files[n]) == 0 {
			t.Errorf("%s is missing or empty", n)
		}
	}
	if len(files) != len(names) || len(m.Files) != len(names) {
		t.Errorf("got %d files (manifest %d), want %d", len(files), len(m.Files), len(names))
	}

	var doc copyDoc
	if err := json.Unmarshal(files[bundle.FileData], &doc); err != nil {
		t.Fatalf("data.json: %v", err)
	}
	if doc.Format != bundle.Format || doc.Language != "en" || doc.Subject.ID != p.subject || len(doc.Subject.Merged) != 1 {
		t.Errorf("head: format %q, language %q, subject %s merged %v", doc.Format, doc.Language, doc.Subject.ID, doc.Subject.Merged)
	}
	// 3 orders and the page view of the visit merged in, opened
	if len(doc.Events) != 4 || doc.Counts.Events != 4 || m.Counts.Events != 4 {
		t.Fatalf("got %d events (counted %d, manifest %d), want 4", len(doc.Events), doc.Counts.Events, m.Counts.Events)
	}
	var orders int
	for _, ev := range doc.Events {
		var props, cx map[string]any
		json.Unmarshal(ev.Properties, &props)
		json.Unmarshal(ev.Context, &cx)
		if cx["ip"] != seedIP {
			t.Errorf("event %d: context.ip %v, want it opened", ev.ID, cx["ip"])
		}
		if ev.Name == "Order Completed" {
			orders++
			if props["email"] != seedEmail || props["order_id"] != seedOrder {
				t.Errorf("event %d: properties %v, want the e-mail opened", ev.ID, props)
			}
		}
	}
	if orders != 3 {
		t.Errorf("got %d orders, want 3", orders)
	}
	traits := map[string]string{}
	for _, tr := range doc.Profile {
		traits[tr.Name] = string(tr.Value)
	}
	if traits["email"] != `"`+seedEmail+`"` || traits["loyalty_tier"] != `"gold"` {
		t.Errorf("profile: %v", traits)
	}
	kinds := map[string]int{}
	for _, id := range doc.Identities {
		kinds[id.Kind] = id.Count
	}
	if kinds["user"] != 1 || kinds["anon"] != 1 {
		t.Errorf("identities: %v", kinds)
	}
	// given analytics and email_marketing, then withdrew email_marketing
	if len(doc.Consents) != 3 || !strings.Contains(string(doc.Consents[0]), `"hash":"`) {
		t.Errorf("consents: %d records: %s", len(doc.Consents), doc.Consents)
	}
	if len(doc.Requests) != 1 || doc.Requests[0].ID != p.request || len(doc.Requests[0].History) != 2 {
		t.Errorf("requests: %+v", doc.Requests)
	}
	var reads, refused, bulk int
	for _, a := range doc.Accesses {
		switch {
		case a.Actor == "op_support1" && a.Purpose == "service":
			reads++
		case a.Actor == "op_marketer1" && a.Outcome == "refused":
			refused++
		case a.Actor == "apikey:k_bulk":
			bulk++
		}
	}
	if reads != 1 || refused != 1 || bulk != 0 {
		t.Errorf("accesses: %d reads, %d refused, %d bulk (want 1, 1, 0): %+v", reads, refused, bulk, doc.Accesses)
	}
	for _, leak := range []string{"192.0.2.44", "ticket 12"} {
		if bytes.Contains(files[bundle.FileData], []byte(leak)) || bytes.Contains(files[bundle.FileAccesses], []byte(leak)) {
			t.Errorf("the copy discloses an audit entry's %q", leak)
		}
	}
	if len(doc.Recipients) == 0 || doc.Recipients[0].Name != "consent.withdrawn" || doc.Recipients[0].Kind != bundle.RecipientTopic {
		t.Errorf("recipients: %+v", doc.Recipients)
	}
	var email bool
	for _, c := range doc.Categories {
		if c.Key == "user.contact.email" {
			email = c.Events == 3 && c.Traits == 1 && len(c.Purposes) > 0 && c.Purposes[0].Key == "service" &&
				strings.HasPrefix(c.Purposes[0].Description, "To take your orders")
		}
	}
	if !email {
		t.Errorf("categories: want user.contact.email in 3 events and 1 trait, for service: %+v", doc.Categories)
	}

	for name, want := range map[string]int{
		bundle.FileEvents: 4, bundle.FileProfile: len(doc.Profile), bundle.FileIdentities: len(doc.Identities),
		bundle.FileConsents: 3, bundle.FileRequests: 1, bundle.FileAccesses: len(doc.Accesses),
		bundle.FileRecipients: len(doc.Recipients),
	} {
		if rows := readCSV(t, name, files[name]); len(rows)-1 != want {
			t.Errorf("%s: %d rows, want %d", name, len(rows)-1, want)
		}
	}
	if m.Counts != doc.Counts {
		t.Errorf("manifest counts %+v, data.json %+v", m.Counts, doc.Counts)
	}
}

// TestBuildCSVInjection: a value a spreadsheet would run as a formula is
// shown as text in every CSV file, and kept exact in data.json.
func TestBuildCSVInjection(t *testing.T) {
	e := newEnv(t)
	p := e.seed(1)
	_, files := build(t, e, p.subject, "fr")
	profile := readCSV(t, bundle.FileProfile, files[bundle.FileProfile])
	var name string
	for _, row := range profile[1:] {
		if row[0] == "name" {
			name = row[3]
		}
	}
	if name != "'"+seedName {
		t.Errorf("profile.csv name = %q, want it behind an apostrophe", name)
	}
	if !bytes.Contains(files[bundle.FileData], []byte(`"value":"=HYPERLINK(`)) {
		t.Errorf("data.json does not keep the exact value")
	}
	for name, b := range files {
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		for _, row := range readCSV(t, name, b) {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q starts with a formula character", name, cell)
				}
			}
		}
	}
}

// TestBuildSummary: index.html is in the person's language, states what
// is held and why (the purposes' descriptions from the inventory), has no
// script and loads nothing; values are escaped.
func TestBuildSummary(t *testing.T) {
	e := newEnv(t)
	p := e.seed(2)
	for _, tc := range []struct {
		lang      string
		want, not []string
	}{
		{"fr", []string{`<html lang="fr">`, "Vos données chez Maison Lumière SAS", "Ce que nous détenons, et pourquoi",
			"Pour prendre vos commandes, les livrer et gérer votre compte client.", "Adresse électronique",
			"base légale : contrat", "Qui a utilisé vos données", "op_support1", "retiré"},
			[]string{"What we hold", "To take your orders"}},
		{"en", []string{`<html lang="en">`, "Your data at Maison Lumière SAS", "What we hold, and why",
			"To take your orders, deliver them and run your customer account.", "E-mail address", "legal basis: contract",
			"Who used your data", "withdrawn"},
			[]string{"Ce que nous détenons", "Pour prendre vos commandes"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			_, files := build(t, e, p.subject, tc.lang)
			html := string(files[bundle.FileSummary])
			for _, w := range tc.want {
				if !strings.Contains(html, w) {
					t.Errorf("index.html lacks %q", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(html, n) {
					t.Errorf("index.html has %q, from the other language", n)
				}
			}
			low := strings.ToLower(html)
			for _, n := range []string{"<script", "javascript:", "src=", "href=", "@import", "url("} {
				if strings.Contains(low, n) {
					t.Errorf("index.html has %q: it must be self-contained and script-free", n)
				}
			}
			readme := string(files[bundle.FileReadme])
			if !strings.Contains(readme, string(p.subject)) || (tc.lang == "fr") != strings.Contains(readme, "Une copie de vos données") {
				t.Errorf("README.txt is not in %s or lacks the subject", tc.lang)
			}
		})
	}
}

// TestBuildMember: a copy asked through a merged member is the whole
// person's; an unknown subject is ENotFound, a language Garde does not
// write an EInvalid.
func TestBuildMember(t *testing.T) {
	e := newEnv(t)
	p := e.seed(1)
	m, files := build(t, e, p.subject, "en")
	member := m.Members[0]
	m2, files2 := build(t, e, member, "en-GB")
	if m2.Subject != p.subject || m2.Counts != m.Counts || m2.Lang != "en" {
		t.Errorf("through the member: %+v, want %+v", m2, m)
	}
	if !bytes.Equal(files[bundle.FileEvents], files2[bundle.FileEvents]) {
		t.Errorf("the member's copy differs")
	}
	for _, tc := range []struct {
		subject garde.SubjectID
		lang    string
		code    string
	}{
		{garde.NewSubjectID(), "en", garde.ENotFound},
		{p.subject, "de", garde.EInvalid},
	} {
		var buf bytes.Buffer
		_, err := e.builder.Build(context.Background(), tc.subject, tc.lang, &buf)
		if garde.ErrorCode(err) != tc.code {
			t.Errorf("Build(%s, %q) = %v, want %s", tc.subject, tc.lang, err, tc.code)
		}
	}
}
