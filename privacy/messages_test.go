package privacy

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
)

// TestCatalogue: English and French have the same keys, no empty text,
// the same arguments; every key the templates and handlers name, and every
// key built from a value (kinds, states, sensitivities, legal bases,
// retention, error codes), exists.
func TestCatalogue(t *testing.T) {
	en, fr := catalogue["en"], catalogue["fr"]
	if len(catalogue) != 2 {
		t.Errorf("%d languages, want en and fr", len(catalogue))
	}
	for k := range en {
		if _, ok := fr[k]; !ok {
			t.Errorf("%q: no French text", k)
		}
	}
	for k := range fr {
		if _, ok := en[k]; !ok {
			t.Errorf("%q: no English text", k)
		}
	}
	for lang, m := range catalogue {
		for k, v := range m {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s %q: empty text", lang, k)
			}
			if strings.Count(v, "%") != strings.Count(en[k], "%") {
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
	goKey := regexp.MustCompile(`"((?:ask|verify|consents|fields|done|forbidden|notfound|gone|csrf|error|home|request|code)\.[a-z_.]+)"`)
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
			if strings.HasSuffix(m[1], ".html") {
				continue // a template's name
			}
			used[m[1]] = f
		}
	}
	for _, k := range kinds {
		used["kind."+k], used["kind."+k+".hint"] = "kinds", "kinds"
	}
	for _, j := range jurisdictions {
		used["where."+j.value] = "jurisdictions"
	}
	for _, s := range []string{"received", "verified", "in_progress", "extended", "completed", "refused"} {
		used["state."+s] = "states"
	}
	for _, s := range []inventory.Sensitivity{inventory.SensitivityOrdinary, inventory.SensitivitySpecial,
		inventory.SensitivityChild, inventory.SensitivityPreciseLocation, inventory.SensitivityFinancial} {
		used["sensitivity."+string(s)] = "sensitivities"
	}
	for _, b := range []inventory.LegalBasis{inventory.Consent, inventory.Contract, inventory.LegalObligation,
		inventory.VitalInterests, inventory.PublicTask, inventory.LegitimateInterests} {
		used["basis."+string(b)] = "legal bases"
	}
	for _, f := range []string{inventory.FromCollection, inventory.FromLastContact, inventory.FromContractEnd} {
		used["retention.from."+f] = "retention"
	}
	for _, th := range []string{inventory.ThenDelete, inventory.ThenAnonymise} {
		used["retention.then."+th] = "retention"
	}
	for _, code := range []string{garde.EInvalid, garde.ENotFound, garde.EConflict, garde.EUnauthorized, garde.EForbidden,
		garde.ENoConsent, garde.ETooLarge, garde.EUnsupported, garde.ETooMany, garde.EUnavailable, garde.EInternal} {
		used["code."+code] = "codes"
	}
	for _, key := range doneMessages {
		used[key] = "doneMessages"
	}
	for k, where := range used {
		if strings.HasSuffix(k, ".") {
			continue // a prefix built on, checked above
		}
		if _, ok := en[k]; !ok {
			t.Errorf("%q (used in %s) is not in the catalogue", k, where)
		}
	}
}

// TestContrast: the stylesheet's text colours reach 4.5:1 (WCAG 2.2 AA)
// on the backgrounds they are used on, and the focus outline 3:1.
func TestContrast(t *testing.T) {
	css, err := fs.ReadFile(assets, "static/privacy.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := []struct {
		fg, bg string
		min    float64
	}{
		{"fg", "bg", 4.5}, {"fg", "card", 4.5}, {"fg", "note-bg", 4.5},
		{"muted", "bg", 4.5}, {"muted", "card", 4.5},
		{"link", "bg", 4.5}, {"link", "card", 4.5}, {"link", "note-bg", 4.5},
		{"button-fg", "button", 4.5},
		{"error", "card", 4.5}, {"error", "bg", 4.5},
		{"ok", "card", 4.5},
		{"focus", "card", 3}, {"focus", "bg", 3},
		{"muted", "card", 3}, // input borders
	}
	for _, p := range pairs {
		fg, bg := vars[p.fg], vars[p.bg]
		if fg == "" || bg == "" {
			t.Errorf("--%s or --%s is not defined", p.fg, p.bg)
			continue
		}
		if r := contrast(fg, bg); r < p.min {
			t.Errorf("--%s on --%s: %.2f:1, want at least %.1f:1", p.fg, p.bg, r, p.min)
		}
	}
	if regexp.MustCompile(`(?m)^[^-/]*[^-]color:\s*#`).Match(css) {
		t.Error("a colour outside the checked variables")
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	var l [3]float64
	for i := range 3 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			l[i] = c / 12.92
		} else {
			l[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}
