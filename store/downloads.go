package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/bundle"
)

// Downloads keeps the copies behind one-time links (bundle.DownloadStore)
// in the data database. Spending a link is one conditional UPDATE on the
// single writer connection, so of two concurrent takes exactly one wins.
type Downloads struct{ db *DB }

// NewDownloads returns the download store over the data database.
func NewDownloads(db *DB) *Downloads { return &Downloads{db: db} }

var _ bundle.DownloadStore = (*Downloads)(nil)

const (
	qCreateDownload = `INSERT INTO downloads (id, token_hash, request_id, subject_id, sealed, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	qFindDownload = `SELECT id, request_id, subject_id, sealed, created_at, expires_at FROM downloads
		WHERE token_hash = ? AND consumed_at IS NULL AND sealed IS NOT NULL`
	qConsumeDownload = `UPDATE downloads SET consumed_at = ?, sealed = NULL
		WHERE id = ? AND consumed_at IS NULL AND sealed IS NOT NULL`
	qPurgeDownloads = `UPDATE downloads SET sealed = NULL WHERE sealed IS NOT NULL AND expires_at <= ?`
)

// CreateDownload implements bundle.DownloadStore.
func (s *Downloads) CreateDownload(ctx context.Context, d bundle.Download) error {
	if len(d.Sealed) == 0 {
		return garde.Errorf(garde.EInvalid, "download %s holds no copy", d.ID)
	}
	_, err := s.db.writer.ExecContext(ctx, qCreateDownload, d.ID, d.TokenHash, d.RequestID, string(d.Subject), d.Sealed,
		d.Created.UnixMilli(), d.Expires.UnixMilli())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return garde.Errorf(garde.EConflict, "download %s already exists", d.ID)
		}
		return fmt.Errorf("create download %s: %w", d.ID, err)
	}
	return nil
}

// FindDownload implements bundle.DownloadStore.
func (s *Downloads) FindDownload(ctx context.Context, hash []byte) (bundle.Download, error) {
	d := bundle.Download{TokenHash: hash}
	var subject string
	var created, expires int64
	err := s.db.reader.QueryRowContext(ctx, qFindDownload, hash).
		Scan(&d.ID, &d.RequestID, &subject, &d.Sealed, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return d, garde.Errorf(garde.ENotFound, "no such download")
	}
	if err != nil {
		return d, fmt.Errorf("find download: %w", err)
	}
	d.Subject, d.Created, d.Expires = garde.SubjectID(subject), fromMS(created), fromMS(expires)
	return d, nil
}

// ConsumeDownload implements bundle.DownloadStore.
func (s *Downloads) ConsumeDownload(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.writer.ExecContext(ctx, qConsumeDownload, at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("consume download %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("consume download %s: %w", id, err)
	}
	if n == 0 {
		return garde.Errorf(garde.ENotFound, "download %s was taken or wiped", id)
	}
	return nil
}

// PurgeDownloads implements bundle.DownloadStore.
func (s *Downloads) PurgeDownloads(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.writer.ExecContext(ctx, qPurgeDownloads, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purge downloads: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
