package inventory

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Severity says whether a problem makes the inventory unusable.
type Severity string

// The severities. An inventory with any SeverityError problem is not
// returned; warnings are advice.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one thing wrong with an inventory file, located by file, line,
// column (1-based; 0 when unknown) and the dotted path of the offending
// entry. Code is a stable kebab-case identifier, such as "field-no-purpose",
// for tools and documentation. Message is plain text that never repeats a
// write key.
type Problem struct {
	File     string
	Line     int
	Column   int
	Path     string
	Severity Severity
	Code     string
	Message  string
}

// String formats the problem the way compilers do:
//
//	garde.yaml:42:7: error: tracking_plan.events.Order Completed.properties.email: field has no purpose [field-no-purpose]
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Column))
		}
	}
	b.WriteString(": ")
	b.WriteString(string(p.Severity))
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	b.WriteString(" [")
	b.WriteString(p.Code)
	b.WriteByte(']')
	return b.String()
}

// Problems is the list of problems of one file, in file order.
type Problems []Problem

// HasErrors reports whether any problem is an error.
func (ps Problems) HasErrors() bool {
	return slices.ContainsFunc(ps, func(p Problem) bool { return p.Severity == SeverityError })
}

// Error lists the problems, one per line, so that Problems can be returned
// (or wrapped) as an error.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sort orders problems by position; problems at the same place keep the
// order they were found in.
func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
