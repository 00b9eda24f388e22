package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// Queries of the audit log's reads (see the layout in audit.go).
const (
	// qFindSegments is completed with the filter's conditions (fixed SQL
	// fragments with placeholders) and the order. It starts at the segment
	// holding the entry after the filter's After.
	qFindSegments = `SELECT s.first_seq, s.body FROM audit_segments s
		WHERE s.first_seq >= coalesce((SELECT max(first_seq) FROM audit_segments WHERE first_seq <= ?), 0)`
	// qKeySegments, completed with a condition on the key, and qOrTail
	// select the segments the complete runs name and every segment of
	// the tail (see auditruns.go).
	qKeySegments = `SELECT p.value FROM audit_key_runs r, json_each(r.seqs) p
		WHERE r.run IN (SELECT run FROM audit_key_run_list WHERE complete) AND r.key `
	// qScanSegments and qScanRuns read every segment and every complete
	// run, in the same order, in one read transaction: the scan merges
	// them.
	qScanSegments = `SELECT first_seq, min_at, max_at, body FROM audit_segments ORDER BY first_seq`
	qScanRuns     = `SELECT run, key, seqs FROM audit_key_runs
		WHERE run IN (SELECT run FROM audit_key_run_list WHERE complete) ORDER BY run, key`
)

var (
	qOrTail        = ` UNION ALL SELECT first_seq FROM audit_segments WHERE first_seq > (` + qLastKeyRun + `)`
	qSegmentHasKey = ` AND s.first_seq IN (` + qKeySegments + `= ?` + qOrTail + `)`
)

// FindAudit calls fn with each entry f selects, in seq order: the segments
// the indexes point at, decoded, each entry checked against f.
func (a *Audit) FindAudit(ctx context.Context, f audit.Filter, fn func(*audit.Entry) error) error {
	q, args := auditQuery(f)
	return findEntries(ctx, a.db.reader, "find audit", q, args, f.Selects, f.Limit, fn)
}

// auditQuery builds the segment query of f from fixed fragments: values are
// only ever bound as parameters.
func auditQuery(f audit.Filter) (string, []any) {
	var q strings.Builder
	q.WriteString(qFindSegments)
	args := []any{f.After}
	cond := func(sql string, v any) {
		q.WriteString(sql)
		args = append(args, v)
	}
	if !f.Since.IsZero() {
		cond(` AND s.max_at >= ?`, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		cond(` AND s.min_at < ?`, f.Until.UnixMicro())
	}
	if f.Actor != "" {
		cond(qSegmentHasKey, auditKey(keyActor, f.Actor))
	}
	if f.Action != "" {
		cond(qSegmentHasKey, auditKey(keyAction, f.Action))
	}
	if f.Purpose != "" {
		cond(qSegmentHasKey, auditKey(keyPurpose, f.Purpose))
	}
	if f.Subject != "" {
		cond(qSegmentHasKey, auditKey(keySubject, string(f.Subject)))
	}
	q.WriteString(` ORDER BY s.first_seq`)
	return q.String(), args
}

func auditKey(kind byte, v string) string { return string(kind) + "=" + v }

// findAccesses calls fn with each entry that lists any of the subjects, in
// seq order (bundle.Source.FindAccesses).
func findAccesses(ctx context.Context, db *sql.DB, subjects []garde.SubjectID, fn func(*audit.Entry) error) error {
	if len(subjects) == 0 {
		return nil
	}
	args := []any{int64(0)}
	for _, s := range subjects {
		args = append(args, auditKey(keySubject, string(s)))
	}
	q := qFindSegments + ` AND s.first_seq IN (` + qKeySegments + `IN (` + placeholders(len(subjects)) + `)` +
		qOrTail + `) ORDER BY s.first_seq`
	lists := func(v *audit.View) bool {
		return slices.ContainsFunc(subjects, v.Lists)
	}
	return findEntries(ctx, db, "bundle accesses", q, args, lists, 0, fn)
}

// findEntries runs q, a query of (first_seq, body) segments, and calls fn
// with each entry that match selects, up to limit (0: all). It returns fn's
// first error as it is, and its own prefixed with op.
func findEntries(ctx context.Context, db *sql.DB, op, q string, args []any, match func(*audit.View) bool,
	limit int, fn func(*audit.Entry) error) error {
	var fnErr error
	err := eachSegmentEntry(ctx, db, q, args, func(v *audit.View, hash []byte) (bool, error) {
		if !match(v) {
			return true, nil
		}
		if fnErr = fn(v.Entry(hash)); fnErr != nil {
			return false, fnErr
		}
		limit--
		return limit != 0, nil
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// eachSegmentEntry runs q, a query of (first_seq, body) segments, and
// calls fn with each of their entries until fn returns false or an error.
func eachSegmentEntry(ctx context.Context, db *sql.DB, q string, args []any, fn func(*audit.View, []byte) (bool, error)) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var first int64
	var body sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&first, &body); err != nil {
			return err
		}
		err := eachFrame(body, func(r audit.RawEntry) error {
			v, err := audit.ParseView(r.Canonical)
			if err != nil {
				return errDamaged(first)
			}
			more, err := fn(&v, r.Hash)
			if err == nil && !more {
				err = errEnough
			}
			return err
		})
		switch {
		case err == errEnough:
			return nil
		case err == errBadFrame:
			return errDamaged(first)
		case err != nil:
			return err
		}
	}
	return rows.Err()
}

var errEnough = errors.New("enough")

// ScanAudit implements audit.Scanner: it reads the segments and checks
// each one's columns and keys against its entries (setting
// RawEntry.Fault) on another goroutine, so that reading and checking
// overlap with Verify's hashing.
func (a *Audit) ScanAudit(ctx context.Context, fn func([]audit.RawEntry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full, free := make(chan *scanBatch, 2), make(chan *scanBatch, 4)
	var readErr error
	go func() {
		defer close(full)
		readErr = readSegments(ctx, a.db.reader, full, free)
	}()
	var err error
	for b := range full {
		if err == nil {
			if err = fn(b.entries); err != nil {
				cancel() // the reader stops; drain what it sent
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	if err != nil {
		return err
	}
	if readErr != nil {
		return fmt.Errorf("scan audit: %w", readErr)
	}
	return nil
}

// scanMmap is how much of the data file the verify scan maps.
const scanMmap = 1 << 30

// scanBatch is a run of entries as read and checked, their bytes in buf.
type scanBatch struct {
	entries []audit.RawEntry
	buf     []byte
}

// scanBatchBytes is about how much entry data a batch carries.
const scanBatchBytes = 128 << 10

func readSegments(ctx context.Context, db *sql.DB, full, free chan *scanBatch) error {
	// the scan reads the whole log: on its own connection, which maps the
	// file instead of copying each page out of the OS cache with a system
	// call (a fifth faster over a million entries). Only here: mapped
	// readers pay a remapping whenever the writer grows the file, which the
	// short reads beside collection and erasure should not.
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA mmap_size = "+strconv.Itoa(scanMmap)); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), "PRAGMA mmap_size = 0")
	// one snapshot for both reads: an append between them could otherwise
	// show a segment without the keys of its newest entry
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, qScanSegments)
	if err != nil {
		return err
	}
	defer rows.Close()
	keys := runKeys{bySeg: map[int64][]string{}}
	if err := tx.QueryRowContext(ctx, qLastKeyRun).Scan(&keys.last); err != nil {
		return err
	}
	keyRows, err := tx.QueryContext(ctx, qScanRuns)
	if err != nil {
		return err
	}
	defer keyRows.Close()
	keys.rows = keyRows
	newBatch := func() *scanBatch {
		select {
		case b := <-free:
			b.entries, b.buf = b.entries[:0], b.buf[:0]
			return b
		default:
			return &scanBatch{buf: make([]byte, 0, scanBatchBytes+8<<10)}
		}
	}
	send := func(b *scanBatch) error {
		select {
		case full <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var c segmentChecker
	b := newBatch()
	var s scannedSegment
	var body sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&s.first, &s.minAt, &s.maxAt, &body); err != nil {
			return err
		}
		if s.keys, s.covered, err = keys.of(s.first); err != nil {
			return err
		}
		if len(b.entries) > 0 && len(b.buf)+len(body) > cap(b.buf) {
			if err := send(b); err != nil {
				return err
			}
			b = newBatch()
		}
		// (should buf grow, the entries taken before keep the old array)
		off := len(b.buf)
		b.buf = append(b.buf, body...)
		s.body = b.buf[off:]
		b.entries = c.segment(b.entries, &s)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(b.entries) > 0 {
		return send(b)
	}
	return nil
}

type scannedSegment struct {
	first, minAt, maxAt int64
	body                []byte
	keys                []string // as the runs hold them
	covered             bool     // by a run (else the tail: keys are not checked)
}

// runKeys hands the scan each segment's keys as the complete runs hold
// them, reading the runs one by one as the segments go past.
type runKeys struct {
	rows  *sql.Rows // qScanRuns
	last  int64     // the last complete run: the segments after it are the tail
	run   int64     // the run in bySeg
	bySeg map[int64][]string
	// the row read ahead (the next run's first), if ahead
	ahead               bool
	aheadRun            int64
	aheadKey, aheadSeqs string
	done                bool
}

// of returns the keys of segment first as the runs hold them, and whether
// a run covers it: the tail's segments are candidates of every look-up, so
// they have no keys to check. A segment the runs should cover but do not
// name (rows deleted) gets no keys: each of its entries is then missing.
func (k *runKeys) of(first int64) ([]string, bool, error) {
	if first > k.last {
		return nil, false, nil
	}
	for first > k.run && !k.done {
		if err := k.next(); err != nil {
			return nil, true, err
		}
	}
	return k.bySeg[first], true, nil
}

// next loads the next run's rows into bySeg.
func (k *runKeys) next() error {
	clear(k.bySeg)
	k.run = 0
	for {
		if !k.ahead {
			if !k.rows.Next() {
				k.done = true
				return k.rows.Err()
			}
			if err := k.rows.Scan(&k.aheadRun, &k.aheadKey, &k.aheadSeqs); err != nil {
				return err
			}
			k.ahead = true
		}
		if k.run != 0 && k.aheadRun != k.run {
			return nil
		}
		k.run, k.ahead = k.aheadRun, false
		seqs, err := jsonInts([]byte(k.aheadSeqs))
		if err != nil { // a damaged row names nothing: its segments' entries are missing
			continue
		}
		for _, seq := range seqs {
			k.bySeg[seq] = append(k.bySeg[seq], k.aheadKey)
		}
	}
}

// segmentChecker checks segments against their entries (see ScanAudit).
type segmentChecker struct {
	keys []string // the segment's keys, sorted
	kb   []byte
	// the fields last found in the keys, so that a run of entries by one
	// actor, action, purpose and subjects is looked up once
	actor, action, purpose, subjects []byte
}

// segment appends the entries of s to out, with the fault of the first one
// s's columns or keys disagree with.
func (c *segmentChecker) segment(out []audit.RawEntry, s *scannedSegment) []audit.RawEntry {
	c.loadKeys(s.keys)
	c.actor, c.action, c.purpose, c.subjects = nil, nil, nil, nil
	firstOut := len(out)
	damaged := false
	eachFrame(s.body, func(r audit.RawEntry) error {
		if damaged {
			return nil
		}
		v, err := audit.ParseView(r.Canonical)
		if err != nil {
			damaged = true
			r.Fault = "it is not a valid entry encoding (it was altered)"
			out = append(out, r)
			return nil
		}
		// (a copy that selects more than its entries hides nothing: only
		// copies that would leave an entry out are faults)
		switch {
		case len(out) == firstOut && v.Seq != s.first:
			r.Fault = "its segment's first_seq column disagrees with it (the index was altered)"
		case v.Time < s.minAt || v.Time > s.maxAt:
			r.Fault = "its time is outside its segment's time columns (the index was altered)"
		case s.covered:
			r.Fault = c.indexed(&v)
		}
		out = append(out, r)
		return nil
	})
	if len(out) == firstOut { // Append never writes an empty segment
		out = append(out, audit.RawEntry{})
	}
	return out
}

// loadKeys takes a segment's keys as c.keys, sorted as Go compares them
// (whatever the engine's collation).
func (c *segmentChecker) loadKeys(keys []string) {
	slices.Sort(keys)
	c.keys = keys
}

// indexed returns the fault of an entry whose keys are not all in the
// segment's keys, or "".
func (c *segmentChecker) indexed(v *audit.View) string {
	if !slices.Equal(v.Actor, c.actor) {
		if !c.has(keyActor, v.Actor) {
			return "it is missing from the index by actor (the index was altered)"
		}
		c.actor = v.Actor
	}
	if !slices.Equal(v.Action, c.action) {
		if !c.has(keyAction, v.Action) {
			return "it is missing from the index by action (the index was altered)"
		}
		c.action = v.Action
	}
	if len(v.Purpose) > 0 && !slices.Equal(v.Purpose, c.purpose) {
		if !c.has(keyPurpose, v.Purpose) {
			return "it is missing from the index by purpose (the index was altered)"
		}
		c.purpose = v.Purpose
	}
	if subjects := v.SubjectList(); len(subjects) > 0 && !slices.Equal(subjects, c.subjects) {
		for s := range v.Subjects() {
			if !c.has(keySubject, s) {
				return "it is missing from the index by subject (the index was altered)"
			}
		}
		c.subjects = subjects
	}
	return ""
}

// has reports whether the segment's keys hold kind=value.
func (c *segmentChecker) has(kind byte, value []byte) bool {
	c.kb = append(append(c.kb[:0], kind, '='), value...)
	lo, hi := 0, len(c.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.keys[m] < string(c.kb) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(c.keys) && c.keys[lo] == string(c.kb)
}
