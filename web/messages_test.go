package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCatalogue checks that English and French have the same keys and
// that every key a template or handler names exists, so that no visible
// string is left untranslated.
func TestCatalogue(t *testing.T) {
	en, fr := catalogue["en"], catalogue["fr"]
	for k := range en {
		if _, ok := fr[k]; !ok {
			t.Errorf("%q: no French text", k)
		}
	}
	for k := range fr {
		if _, ok := en[k]; !ok && !strings.HasPrefix(k, "msg:") {
			t.Errorf("%q: no English text", k)
		}
	}
	for lang, m := range catalogue {
		for k, v := range m {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s %q: empty text", lang, k)
			}
			if strings.Count(v, "%") != strings.Count(en[k], "%") && !strings.HasPrefix(k, "msg:") {
				t.Errorf("%q: English and French take different arguments", k)
			}
		}
	}

	used := map[string]string{}
	tmplKey := regexp.MustCompile(`\$\.T "([^"]+)"`)
	fs.WalkDir(assets, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(assets, path)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = path
		}
		return nil
	})
	goKey := regexp.MustCompile(`"((?:error|login|enrol|done)\.[a-z]+)"`)
	doneKey := regexp.MustCompile(`done\(r, ([^)]*)\)`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "messages.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".html") {
				used[m[1]] = f
			}
		}
		for _, m := range doneKey.FindAllStringSubmatch(string(b), -1) {
			for _, k := range strings.Split(m[1], ",") {
				used["done."+strings.Trim(strings.TrimSpace(k), `"`)] = f
			}
		}
	}
	for k, where := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("%s uses %q, which the catalogue lacks", where, k)
		}
	}
	if len(used) < 100 {
		t.Errorf("found only %d keys in use: the scan is broken", len(used))
	}

	c := &Console{}
	c.init()
	for _, p := range c.pages {
		if p.Title.EN == "" || p.Title.FR == "" {
			t.Errorf("page %s: a title in both languages is required", p.Path)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for header, want := range map[string]string{
		"":                           "en",
		"fr":                         "fr",
		"fr-FR,fr;q=0.9,en-US;q=0.8": "fr",
		"en-GB, fr;q=0.9":            "en",
		"de, fr;q=0.5, en;q=0.4":     "fr",
		"fr;q=0, en;q=0.1":           "en",
		"fr;q=abc, en":               "en",
		"*":                          "en",
		"FR-ca":                      "fr",
	} {
		if got := negotiate(header); got != want {
			t.Errorf("negotiate(%q): got %q, want %q", header, got, want)
		}
	}
}
