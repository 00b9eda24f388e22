package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// MaxSize is the largest inventory file accepted, in bytes.
const MaxSize = 1 << 20

// SyntaxError is returned by Parse and Load for input that cannot be read
// as YAML at all. Line is 1-based, 0 when the parser did not say.
type SyntaxError struct {
	File    string
	Line    int
	Message string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Message
	}
	return e.File + ": " + e.Message
}

// Parse decodes, validates and lints an inventory. filename names the input
// in problems and errors only.
//
// The error is non-nil only when data is larger than MaxSize or is not
// YAML (a *SyntaxError naming the line). Everything else, from a wrong type
// to a breach of a privacy rule, is a Problem with its file, line, column
// and path, sorted by position. The inventory is nil when any problem is an
// error; otherwise it is complete and consistent, and the problems (if any)
// are warnings. Parse never panics, whatever data holds.
func Parse(filename string, data []byte) (*Inventory, Problems, error) {
	if len(data) > MaxSize {
		return nil, nil, fmt.Errorf("%s: the inventory is larger than %d bytes", filename, MaxSize)
	}
	root, second, err := parseYAML(filename, data)
	if err != nil {
		return nil, nil, err
	}
	d := &decoder{file: filename}
	if second != nil {
		d.errorf(second, "", "multiple-documents", "the file holds more than one YAML document: keep one inventory per file")
	}
	var inv *Inventory
	if isNull(root) { // no document, or a document holding only null ("~", "!")
		d.errorf(root, "", "empty-document", "the file is empty: start from `garde init`")
	} else {
		inv = d.inventory(root)
		if !d.exhausted {
			d.lint(inv)
		}
	}
	d.problems.sort()
	if d.problems.HasErrors() {
		return nil, d.problems, nil
	}
	return inv, d.problems, nil
}

// Load reads and parses the inventory file at path; see Parse.
func Load(path string) (*Inventory, Problems, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, data)
}

var yamlErrRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parseYAML returns the root node of the first document (nil for an empty
// file) and the second document's node if there is one.
func parseYAML(filename string, data []byte) (root, second *yaml.Node, err error) {
	defer func() {
		// The parser is trusted not to panic, but the input is not trusted.
		if r := recover(); r != nil {
			root, second, err = nil, nil, &SyntaxError{File: filename, Message: "the YAML parser failed on this input"}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil
		}
		return nil, nil, syntaxError(filename, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, nil, syntaxError(filename, err)
	default:
		second = &next
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], second, nil
	}
	return &doc, second, nil
}

func syntaxError(filename string, err error) *SyntaxError {
	e := &SyntaxError{File: filename, Message: err.Error()}
	if m := yamlErrRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Message = m[2]
	}
	return e
}
