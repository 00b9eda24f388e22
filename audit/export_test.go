package audit_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

func export(t testing.TB, m *memLog, since time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := audit.Export(context.Background(), m, &b, since); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func parse(t testing.TB, b []byte) ([]audit.Entry, []audit.Checkpoint) {
	t.Helper()
	var es []audit.Entry
	var cps []audit.Checkpoint
	err := audit.ParseExport(bytes.NewReader(b), func(l audit.Line) error {
		if l.Entry != nil {
			es = append(es, *l.Entry)
		} else {
			cps = append(cps, *l.Checkpoint)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return es, cps
}

func TestExportRoundTrip(t *testing.T) {
	m, _ := build(120, 1, 50)
	out := export(t, m, time.Time{})
	es, cps := parse(t, out)
	if diff := cmp.Diff(m.entries, es); diff != "" {
		t.Errorf("entries after a round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(m.cps, cps); diff != "" {
		t.Errorf("checkpoints after a round trip (-want +got):\n%s", diff)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 120+len(m.cps) {
		t.Errorf("%d lines, want %d", len(lines), 120+len(m.cps))
	}
	if !strings.HasPrefix(lines[0], `{"kind":"audit.entry","seq":1,"time":"2026-03-01T09:30:00.123456Z",`) ||
		!strings.HasPrefix(lines[1], `{"kind":"audit.checkpoint","seq":1,`) {
		t.Errorf("first lines:\n%s\n%s", lines[0], lines[1])
	}
	rep, err := audit.VerifyExport(bytes.NewReader(out), newSigner("k1"))
	if err != nil || !rep.OK || rep.Entries != 120 || rep.Checkpoints != len(m.cps) || rep.FirstSeq != 1 {
		t.Errorf("VerifyExport = %+v, %v; want 120 sound entries", rep, err)
	}
}

func TestExportSince(t *testing.T) {
	m, _ := build(120, 1, 50)
	since := m.entries[59].Time // entries are a second apart
	out := export(t, m, since)
	es, cps := parse(t, out)
	if len(es) != 61 || es[0].Seq != 60 {
		t.Fatalf("%d entries from %d, want 61 from 60", len(es), es[0].Seq)
	}
	if len(cps) != 1 || cps[0].Seq != 101 {
		t.Errorf("checkpoints %+v, want the one of 101", cps)
	}
	rep, err := audit.VerifyExport(bytes.NewReader(out), newSigner("k1"))
	if err != nil || !rep.OK || rep.FirstSeq != 60 || rep.LastSeq != 120 {
		t.Errorf("VerifyExport = %+v, %v; want 60 to 120 sound", rep, err)
	}
	if out := export(t, m, m.entries[119].Time.Add(time.Hour)); len(out) != 0 {
		t.Errorf("export since the future wrote %d bytes", len(out))
	}
}

func TestVerifyExportTamper(t *testing.T) {
	m, _ := build(120, 1, 50)
	good := string(export(t, m, time.Time{}))
	lines := strings.SplitAfter(good, "\n")
	entryLine := func(seq int) int { // index of entry seq's line
		for i, l := range lines {
			if strings.HasPrefix(l, `{"kind":"audit.entry","seq":`+strconv.Itoa(seq)+`,`) {
				return i
			}
		}
		t.Fatalf("no line for %d", seq)
		return 0
	}
	cases := []struct {
		name     string
		tamper   func() string
		firstBad int64
	}{
		{"edit outcome", func() string {
			i := entryLine(70)
			l := strings.Replace(lines[i], `"outcome":"ok"`, `"outcome":"refused"`, 1)
			if l == lines[i] {
				l = strings.Replace(lines[i], `"outcome":"refused"`, `"outcome":"ok"`, 1)
			}
			return strings.Join(append(append(append([]string{}, lines[:i]...), l), lines[i+1:]...), "")
		}, 70},
		{"delete line", func() string {
			i := entryLine(70)
			return strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "")
		}, 70},
		{"swap lines", func() string {
			i := entryLine(70)
			swapped := append([]string{}, lines...)
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
			return strings.Join(swapped, "")
		}, 70},
		{"forge checkpoint", func() string {
			i := entryLine(51) + 1
			l := strings.Replace(lines[i], `"sig":"`, `"sig":"00`, 1)
			l = l[:strings.LastIndex(l, `"`)-2] + `"}` + "\n"
			return strings.Join(append(append(append([]string{}, lines[:i]...), l), lines[i+1:]...), "")
		}, 51},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := audit.VerifyExport(strings.NewReader(c.tamper()), newSigner("k1"))
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad != c.firstBad {
				t.Errorf("report %+v, want first bad %d", rep, c.firstBad)
			}
		})
	}
	t.Run("checkpoint without its entries", func(t *testing.T) {
		cp := lines[entryLine(101)+1]
		file := strings.Join(lines[:entryLine(90)], "") + cp
		rep, err := audit.VerifyExport(strings.NewReader(file), newSigner("k1"))
		if err != nil || rep.OK || rep.FirstBad != 90 {
			t.Errorf("report %+v, %v; want first bad 90", rep, err)
		}
	})
}

func TestParseExportRefuses(t *testing.T) {
	m, _ := build(3, 1, 50)
	good := strings.SplitN(string(export(t, m, time.Time{})), "\n", 2)[0]
	cases := map[string]string{
		"not JSON":         "hello",
		"unknown kind":     `{"kind":"audit.other"}`,
		"unknown field":    strings.Replace(good, `"actor"`, `"email":"a@b.c","actor"`, 1),
		"two objects":      good + " {}",
		"short hash":       strings.Replace(good, `"hash":"`, `"hash":"00`, 1),
		"time without µs":  strings.Replace(good, ".123456Z", "Z", 1),
		"seq 0":            strings.Replace(good, `"seq":1,`, `"seq":0,`, 1),
		"unsorted subject": strings.Replace(good, `"subject_count":0`, `"subjects":["s_b","s_a"],"subject_count":2`, 1),
		"bad subject id":   strings.Replace(good, `"subject_count":0`, `"subjects":["jane@example.com"],"subject_count":1`, 1),
	}
	for name, line := range cases {
		t.Run(name, func(t *testing.T) {
			err := audit.ParseExport(strings.NewReader(line+"\n"), func(audit.Line) error { return nil })
			if garde.ErrorCode(err) != garde.EInvalid || !strings.Contains(garde.ErrorMessage(err), "line 1") {
				t.Errorf("got %v, want an invalid error naming line 1", err)
			}
		})
	}
}

func FuzzParseExport(f *testing.F) {
	m, _ := build(4, 1, 2) // small seeds: the fuzzer minimises what it finds
	good := export(f, m, time.Time{})
	f.Add(good)
	for _, l := range bytes.Split(good, []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte(`{"kind":"audit.checkpoint","seq":1,"hash":"","time":"","kid":"","sig":""}`))
	f.Add([]byte("\n\n{}\n"))
	signer := newSigner("k1")
	f.Fuzz(func(t *testing.T, b []byte) {
		var lines []audit.Line
		err := audit.ParseExport(bytes.NewReader(b), func(l audit.Line) error {
			if (l.Entry == nil) == (l.Checkpoint == nil) {
				t.Fatal("a line must be an entry or a checkpoint")
			}
			lines = append(lines, l)
			return nil
		})
		if err != nil {
			if garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		// What parses re-exports to something that parses to the same.
		var again bytes.Buffer
		for _, l := range lines {
			var out []byte
			if l.Entry != nil {
				out, err = l.Entry.MarshalJSON()
			} else {
				out, err = l.Checkpoint.MarshalJSON()
			}
			if err != nil {
				t.Fatal(err)
			}
			again.Write(append(out, '\n'))
		}
		i := 0
		if err := audit.ParseExport(&again, func(l audit.Line) error {
			if diff := cmp.Diff(lines[i], l); diff != "" {
				t.Errorf("line %d after a round trip (-want +got):\n%s", i+1, diff)
			}
			i++
			return nil
		}); err != nil {
			t.Fatalf("re-export does not parse: %v", err)
		}
		// Verifying never panics and never errors on a file that parses.
		if _, err := audit.VerifyExport(bytes.NewReader(b), signer); err != nil {
			t.Fatalf("VerifyExport: %v", err)
		}
	})
}
