package inventory_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/garde-privacy/garde/inventory"
)

// FuzzParse feeds arbitrary bytes to Parse: it never panics, an error comes
// alone, and an inventory it returns keeps every promise of the contract.
func FuzzParse(f *testing.F) {
	f.Add(inventory.Example())
	for _, pattern := range []string{"testdata/lint/*.yaml", "testdata/golden/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\ntracking_plan: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, problems, err := inventory.Parse("fuzz.yaml", data)
		if err != nil {
			if inv != nil || problems != nil {
				t.Fatal("an error came with an inventory or problems")
			}
			return
		}
		for _, p := range problems {
			if p.File != "fuzz.yaml" || p.Code == "" || p.Message == "" ||
				(p.Severity != inventory.SeverityError && p.Severity != inventory.SeverityWarning) {
				t.Fatalf("malformed problem %#v", p)
			}
		}
		if (inv == nil) != problems.HasErrors() {
			t.Fatalf("inventory %v with errors %v", inv != nil, problems.HasErrors())
		}
		if inv != nil {
			checkConsistent(t, inv)
		}
	})
}
