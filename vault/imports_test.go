package vault_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the vault small and auditable: the standard library, the
// garde nouns and one LRU — never the store (the store depends on the vault's
// KeyStore types, not the other way round) nor another crypto library.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"github.com/garde-privacy/garde":     true,
		"github.com/hashicorp/golang-lru/v2": true,
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			stdlib := !strings.Contains(strings.Split(path, "/")[0], ".")
			if !stdlib && !allowed[path] {
				t.Errorf("%s imports %s: not allowed in package vault", name, path)
			}
		}
	}
}
