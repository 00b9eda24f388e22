package inventory_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/inventory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
	}{
		{"tab indent", "version: 1\norganisation:\n\tname: x\n", 3},
		{"unclosed flow", "version: 1\ncategories: [\n  {key: a\n", 2}, // where the flow began
		{"mapping in scalar", "version: 1\nname: a: b\n", 2},
		{"bad second document", "version: 1\n---\n: [\n", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv, problems, err := inventory.Parse("garde.yaml", []byte(tc.in))
			var se *inventory.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *SyntaxError", err)
			}
			if se.File != "garde.yaml" || se.Line != tc.line {
				t.Errorf("got %s:%d, want garde.yaml:%d (%v)", se.File, se.Line, tc.line, err)
			}
			if !strings.HasPrefix(err.Error(), "garde.yaml:") {
				t.Errorf("error %q does not start with the file name", err)
			}
			if inv != nil || problems != nil {
				t.Errorf("got an inventory or problems with a syntax error")
			}
		})
	}
}

// TestShape covers documents that are YAML but not an inventory: each
// problem names the file, the line and the path.
func TestShape(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []want
	}{
		{"empty", "", []want{{"empty-document", sevError, 0, ""}}},
		{"only a comment", "# nothing\n", []want{{"empty-document", sevError, 0, ""}}},
		{"null", "~\n", []want{{"empty-document", sevError, 1, ""}}},
		{"empty tag", "!", []want{{"empty-document", sevError, 1, ""}}},
		{"not a mapping", "- 1\n", []want{{"wrong-type", sevError, 1, ""}}},
		{"two documents", "version: 1\n---\nversion: 1\n", []want{{"multiple-documents", sevError, 2, ""}}},
		{"unknown top-level key", "version: 1\nextra: true\n", []want{{"unknown-key", sevError, 2, "extra"}}},
		{"version as text", "version: one\n", []want{{"wrong-type", sevError, 1, "version"}}},
		{"categories as mapping", "categories: {key: a}\n", []want{{"wrong-type", sevError, 1, "categories"}}},
		{"bool as text", "categories:\n  - {key: a, sensitivity: ordinary, personal: \"no\"}\n", []want{{"wrong-type", sevError, 2, "categories[a].personal"}}},
		{"list item not a mapping", "purposes:\n  - service\n", []want{{"wrong-type", sevError, 2, "purposes[0]"}}},
		{"key not a scalar", "? [a]\n: 1\n", []want{{"wrong-type", sevError, 1, ""}}},
		{"merge key", "base: &b {en: a}\norganisation:\n  <<: *b\n", []want{{"unknown-key", sevError, 1, "base"}, {"unknown-key", sevError, 3, "organisation.<<"}}},
		{"field as text", "tracking_plan:\n  traits:\n    email: user.contact.email\n", []want{{"wrong-type", sevError, 3, "tracking_plan.traits.email"}}},
		{"null field", "tracking_plan:\n  traits:\n    email:\n", []want{{"missing-key", sevError, 3, "tracking_plan.traits.email"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems, err := inventory.Parse("garde.yaml", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !containsWant(problems, w) {
					t.Errorf("want %+v; got:\n%s", w, problems.Error())
				}
			}
			for _, p := range problems {
				if p.File != "garde.yaml" {
					t.Errorf("problem %s: file %q", p, p.File)
				}
			}
		})
	}
}

func containsWant(ps inventory.Problems, w want) bool {
	for _, p := range ps {
		if wantOf(p) == w {
			return true
		}
	}
	return false
}

func TestTooLarge(t *testing.T) {
	data := []byte("version: 1\n" + strings.Repeat("# padding\n", inventory.MaxSize/10))
	if _, _, err := inventory.Parse("big.yaml", data); err == nil || !strings.Contains(err.Error(), "big.yaml") {
		t.Errorf("Parse of %d bytes: err = %v, want a size error naming the file", len(data), err)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := inventory.Load(path); err == nil {
		t.Error("Load of a file over MaxSize succeeded")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := inventory.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}

// TestAliases: anchors and aliases work, but cannot make the decoder do
// unbounded work.
func TestAliases(t *testing.T) {
	t.Run("reuse", func(t *testing.T) {
		in := strings.Replace(string(readFile(t, "testdata/lint/valid.yaml")),
			"    name: {en: Service, fr: Service}", "    name: &svc {en: Service, fr: Service}", 1)
		in = strings.Replace(in, "    description: {en: To serve you., fr: Pour vous servir.}", "    description: *svc", 1)
		inv, problems, err := inventory.Parse("a.yaml", []byte(in))
		if err != nil || inv == nil {
			t.Fatalf("err %v, problems:\n%s", err, problems.Error())
		}
		if got := inv.Purpose("service").Description.FR; got != "Service" {
			t.Errorf("description %q through the alias", got)
		}
	})
	t.Run("bomb", func(t *testing.T) {
		// 100 events × 100 properties × 100 purposes from a 2 kB file:
		// a million nodes once aliases are expanded.
		list := func(item func(i int) string) string {
			parts := make([]string, 100)
			for i := range parts {
				parts[i] = item(i)
			}
			return strings.Join(parts, ", ")
		}
		in := "categories: [{key: c, sensitivity: ordinary}]\n" +
			"purposes: [{key: p, name: {en: P, fr: P}, description: {en: P, fr: P}, legal_basis: contract, retention: {period: 1 day}}]\n" +
			"f: &f {category: c, purposes: [" + list(func(int) string { return "p" }) + "]}\n" +
			"e: &e {purposes: [p], properties: {" + list(func(i int) string { return fmt.Sprintf("a%d: *f", i) }) + "}}\n" +
			"tracking_plan:\n  events: {" + list(func(i int) string { return fmt.Sprintf("E%d: *e", i) }) + "}\n"
		_, problems, err := inventory.Parse("bomb.yaml", []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if !containsCode(problems, "too-complex") {
			t.Errorf("no too-complex problem; got %d problems, e.g. %s", len(problems), problems[len(problems)/2])
		}
	})
	t.Run("many problems", func(t *testing.T) {
		var b strings.Builder
		for i := range 5000 {
			fmt.Fprintf(&b, "k%d: 1\n", i)
		}
		_, problems, err := inventory.Parse("many.yaml", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) > 1001 || !containsCode(problems, "too-many-problems") {
			t.Errorf("%d problems, want them capped with too-many-problems", len(problems))
		}
	})
	t.Run("cycle", func(t *testing.T) {
		_, problems, err := inventory.Parse("cycle.yaml", []byte("tracking_plan: &c {events: *c, traits: *c}\n"))
		if err != nil {
			t.Fatal(err)
		}
		if !problems.HasErrors() {
			t.Error("a cyclic document had no errors")
		}
	})
}

func containsCode(ps inventory.Problems, code string) bool {
	for _, p := range ps {
		if p.Code == code {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    inventory.Problem
		want string
	}{
		{
			inventory.Problem{File: "garde.yaml", Line: 42, Column: 7, Path: "tracking_plan.events.Order Completed.properties.email",
				Severity: sevError, Code: "field-no-purpose", Message: "field has no purpose"},
			"garde.yaml:42:7: error: tracking_plan.events.Order Completed.properties.email: field has no purpose [field-no-purpose]",
		},
		{
			inventory.Problem{File: "garde.yaml", Severity: sevError, Code: "empty-document", Message: "the file is empty"},
			"garde.yaml: error: the file is empty [empty-document]",
		},
		{
			inventory.Problem{File: "g.yaml", Line: 3, Path: "sources", Severity: sevWarning, Code: "channel-missing", Message: "no source for channel pos"},
			"g.yaml:3: warning: sources: no source for channel pos [channel-missing]",
		},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestProblemsError(t *testing.T) {
	ps := inventory.Problems{
		{File: "a", Line: 1, Column: 1, Severity: sevWarning, Code: "w", Message: "m1"},
		{File: "a", Line: 2, Column: 1, Severity: sevError, Code: "e", Message: "m2"},
	}
	if !ps.HasErrors() || ps[:1].HasErrors() || inventory.Problems(nil).HasErrors() {
		t.Error("HasErrors")
	}
	want := "a:1:1: warning: m1 [w]\na:2:1: error: m2 [e]"
	if got := ps.Error(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestGolden checks the full report for files with many problems, as
// `garde inventory check` prints it. Refresh with -update.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range files {
		t.Run(filepath.Base(in), func(t *testing.T) {
			_, problems, err := inventory.Parse(filepath.Base(in), readFile(t, in))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, p := range problems {
				b.WriteString(p.String() + "\n")
			}
			golden := strings.TrimSuffix(in, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(string(readFile(t, golden)), b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}
