package bundle

import (
	"encoding/csv"
	"io"
	"strings"
)

// The CSV files are for people who open them in a spreadsheet, so every
// cell is neutralised against formula injection (OWASP "CSV Injection"): a
// cell that starts with = + - @, a tab or a carriage return gets a leading
// apostrophe, which spreadsheets show as text and never evaluate. The
// copy's exact values are in data.json.

// safeCell returns s as a spreadsheet will show it but never evaluate it.
func safeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// table writes one CSV file, every cell through safeCell.
type table struct {
	w   *csv.Writer
	row []string
}

func newTable(w io.Writer, header ...string) (*table, error) {
	t := &table{w: csv.NewWriter(w)}
	return t, t.write(header...)
}

func (t *table) write(cells ...string) error {
	t.row = t.row[:0]
	for _, c := range cells {
		t.row = append(t.row, safeCell(c))
	}
	return t.w.Write(t.row)
}

// close flushes the table and returns the first error it met.
func (t *table) close() error {
	t.w.Flush()
	return t.w.Error()
}

// joinKeys writes a list in one cell.
func joinKeys(keys []string) string { return strings.Join(keys, " ") }
