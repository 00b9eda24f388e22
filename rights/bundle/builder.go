package bundle

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/profile"
)

// Format names the layout of data.json; it changes only when a field's
// meaning does.
const Format = "garde-access-copy/1"

// Languages the copy is written in.
var Languages = []string{"en", "fr"}

// Builder builds the copy of a person's data. Profiles reads the subject
// and its traits and opens sealed values (its Allowed gate is not applied:
// the copy is everything held, whatever the person allows now); Inventory
// names and explains categories and purposes; Source reads the rest.
type Builder struct {
	Source    Source
	Profiles  *profile.Reader
	Inventory *inventory.Inventory
	Clock     garde.Clock
}

// Manifest describes a copy built: whose, when, in which language, its
// files with their sizes and SHA-256 digests, and how many of each kind of
// record it holds. It names ids and counts only: safe to log and audit.
type Manifest struct {
	Subject garde.SubjectID   `json:"subject"`
	Members []garde.SubjectID `json:"members,omitempty"`
	Lang    string            `json:"lang"`
	Created time.Time         `json:"created"`
	Files   []File            `json:"files"`
	Counts  Counts            `json:"counts"`
}

// File is one file of a copy.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// Counts are the records in a copy, by kind.
type Counts struct {
	Traits     int `json:"traits"`
	Events     int `json:"events"`
	Identities int `json:"identities"` // blind indexes, all kinds
	Consents   int `json:"consents"`   // ledger records
	Requests   int `json:"requests"`
	Recipients int `json:"recipients"`
	Accesses   int `json:"accesses"` // audit entries
}

// The files of a copy.
const (
	FileData       = "data.json"
	FileProfile    = "profile.csv"
	FileEvents     = "events.csv"
	FileIdentities = "identities.csv"
	FileConsents   = "consents.csv"
	FileRequests   = "requests.csv"
	FileAccesses   = "accesses.csv"
	FileRecipients = "recipients.csv"
	FileSummary    = "index.html"
	FileReadme     = "README.txt"
)

// Build writes to w the copy of everything Garde holds about subject (the
// canonical subject or any subject merged into it) as one zip, in lang
// ("fr" or "en"; "" is English): data.json (the whole copy, one document),
// profile.csv (trait, category, purposes, value), events.csv (one row per
// event, properties and context as JSON cells), identities.csv,
// consents.csv, requests.csv, accesses.csv, recipients.csv, index.html (a
// readable summary in lang: what is held and why, counts, consents,
// accesses; self-contained, no script) and README.txt.
//
// Events are streamed: each is read, opened and written once, so the copy
// of a subject with many events is not held decoded in memory. A subject
// Garde does not know is an ENotFound; an unsupported language an EInvalid.
// Build does not audit: its caller records the export.
func (b *Builder) Build(ctx context.Context, subject garde.SubjectID, lang string, w io.Writer) (Manifest, error) {
	lang, err := language(lang)
	if err != nil {
		return Manifest{}, err
	}
	s, err := b.Profiles.Store.FindSubject(ctx, subject)
	if err != nil {
		return Manifest{}, err
	}
	c := &copyData{lang: lang, now: b.now(), subject: s, all: append([]garde.SubjectID{s.ID}, s.Members...),
		held: &holdings{}}
	if err := b.collect(ctx, c); err != nil {
		return Manifest{}, err
	}
	m := Manifest{Subject: s.ID, Members: s.Members, Lang: lang, Created: c.now}
	z := &zipper{zw: zip.NewWriter(w), now: c.now}
	// the fastest deflate: a copy is built while its person waits, and
	// the CSV and JSON text compresses well at any level
	z.zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	// data.json streams the events; events.csv is kept compact meanwhile
	// (the CSV rows, not the decoded events) and written after it
	var events bytes.Buffer
	if err := z.file(FileData, func(w io.Writer) error { return b.writeData(ctx, c, w, &events) }); err != nil {
		return Manifest{}, err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{FileEvents, func(w io.Writer) error { _, err := events.WriteTo(w); return err }},
		{FileProfile, c.profileCSV},
		{FileIdentities, c.identitiesCSV},
		{FileConsents, c.consentsCSV},
		{FileRequests, c.requestsCSV},
		{FileAccesses, c.accessesCSV},
		{FileRecipients, c.recipientsCSV},
		{FileSummary, func(w io.Writer) error { return b.writeSummary(c, w) }},
		{FileReadme, func(w io.Writer) error { return b.writeReadme(c, w) }},
	}
	for _, f := range files {
		if err := z.file(f.name, f.write); err != nil {
			return Manifest{}, err
		}
	}
	if err := z.zw.Close(); err != nil {
		return Manifest{}, err
	}
	m.Files, m.Counts = z.files, c.counts()
	return m, nil
}

func (b *Builder) now() time.Time {
	if b.Clock == nil {
		return time.Now().UTC()
	}
	return b.Clock.Now().UTC()
}

// language returns the copy's language, or an EInvalid.
func language(lang string) (string, error) {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(lang)), "-")
	switch base {
	case "":
		return "en", nil
	case "en", "fr":
		return base, nil
	}
	return "", garde.Errorf(garde.EInvalid, "a copy is written in %s, not %q", strings.Join(Languages, " or "), garde.Truncate(lang, 16))
}

// zipper writes the files of a zip, each through a digest.
type zipper struct {
	zw    *zip.Writer
	now   time.Time
	files []File
}

type digestWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (d *digestWriter) Write(p []byte) (int, error) {
	d.h.Write(p)
	d.n += int64(len(p))
	return d.w.Write(p)
}

func (z *zipper) file(name string, write func(io.Writer) error) error {
	fw, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: z.now})
	if err != nil {
		return err
	}
	d := &digestWriter{w: fw, h: sha256.New()}
	bw := bufio.NewWriterSize(d, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	z.files = append(z.files, File{Name: name, Size: d.n, SHA256: hex.EncodeToString(d.h.Sum(nil))})
	return nil
}

// writeData writes data.json: the head (everything but the events), the
// events as they are read and opened, then what counting them found. Each
// event's CSV row goes to events.
func (b *Builder) writeData(ctx context.Context, c *copyData, w io.Writer, events io.Writer) error {
	head, err := marshal(c.head(b.Inventory))
	if err != nil {
		return err
	}
	// {"format":…,"accesses":[…]} becomes {"format":…,"accesses":[…],"events":[
	if _, err := w.Write(head[:len(head)-1]); err != nil {
		return err
	}
	if _, err := io.WriteString(w, `,"events":[`); err != nil {
		return err
	}
	t, err := newTable(events, "id", "timestamp", "received_at", "type", "name", "source", "message_id", "purposes",
		"properties", "context")
	if err != nil {
		return err
	}
	o := newOpener(b.Profiles.Opener, b.Inventory, c.held)
	var e Event
	var line []byte
	err = b.Source.EachEvent(ctx, c.all, func(se *profile.StoredEvent) error {
		if err := o.event(ctx, se, &e); err != nil {
			return err
		}
		var err error
		if line, err = e.appendJSON(line[:0]); err != nil {
			return err
		}
		sep := ",\n"
		if c.events == 0 {
			sep = "\n"
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		c.events++
		c.firstEvent = minTime(c.firstEvent, e.Timestamp)
		c.lastEvent = maxTime(c.lastEvent, e.Timestamp)
		return t.write(itoa(e.ID), stamp(e.Timestamp), stamp(e.ReceivedAt), e.Type, e.Name, e.Source, e.MessageID,
			strings.Join(e.Purposes, ","), string(e.Properties), string(e.Context))
	})
	if err != nil {
		return err
	}
	if err := t.close(); err != nil {
		return err
	}
	tail, err := marshal(c.tail(b.Inventory))
	if err != nil {
		return err
	}
	// …"events":[…],"counts":…,"categories":…}
	if _, err := io.WriteString(w, "\n],"); err != nil {
		return err
	}
	_, err = w.Write(tail[1:])
	return err
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b.UTC()
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b.UTC()
	}
	return a
}

// holdings tallies, per category key, what the copy holds of it.
type holdings struct {
	by map[string]*held
}

// held is what the copy holds of one category.
type held struct {
	Traits   int
	Events   int
	Purposes inventory.PurposeSet
}

func (h *holdings) get(key string) *held {
	if h.by == nil {
		h.by = map[string]*held{}
	}
	x := h.by[key]
	if x == nil {
		x = &held{}
		h.by[key] = x
	}
	return x
}

func (h *holdings) add(key string, p inventory.PurposeSet) { h.get(key).Purposes |= p }

// keys returns the categories held in inventory order, then those the
// inventory does not know, then Undeclared.
func (h *holdings) keys(inv *inventory.Inventory) []string {
	var out []string
	done := map[string]bool{}
	if inv != nil {
		for _, c := range inv.Categories {
			if h.by[c.Key] != nil {
				out = append(out, c.Key)
				done[c.Key] = true
			}
		}
	}
	var rest []string
	for k := range h.by {
		if !done[k] && k != Undeclared {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	out = append(out, rest...)
	if h.by[Undeclared] != nil {
		out = append(out, Undeclared)
	}
	return out
}

// sortByTime sorts xs by the time t gives, oldest first, stably.
func sortByTime[T any](xs []T, t func(T) time.Time) {
	slices.SortStableFunc(xs, func(a, b T) int { return cmp.Compare(t(a).UnixNano(), t(b).UnixNano()) })
}
