package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// Alerts keeps insider-threat alerts and the detector's baselines
// (audit.AlertStore) in the data database.
type Alerts struct{ db *DB }

// NewAlerts returns the alert store over the data database.
func NewAlerts(db *DB) *Alerts { return &Alerts{db: db} }

var _ audit.AlertStore = (*Alerts)(nil)

const (
	alertColumns = `id, at, actor, rule, severity, message, entries, acknowledged, ack_by, ack_comment, ack_at`
	qCreateAlert = `INSERT INTO alerts (at, actor, rule, severity, message, entries) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`
	qAckAlert    = `UPDATE alerts SET acknowledged = 1, ack_by = ?, ack_comment = ?, ack_at = ?
		WHERE id = ? AND acknowledged = 0`
	qSaveBaseline = `INSERT INTO audit_baselines (actor, purpose, mean, var, days, first_day, last_day, today, alerted_day)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (actor, purpose) DO UPDATE SET mean = excluded.mean, var = excluded.var, days = excluded.days,
		first_day = excluded.first_day, last_day = excluded.last_day, today = excluded.today,
		alerted_day = excluded.alerted_day`
	qSaveCursor = `INSERT INTO alert_cursor (id, last_seq) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq`
)

func (s *Alerts) CreateAlerts(ctx context.Context, alerts []audit.Alert) error {
	return s.write(ctx, func(tx *sql.Tx) error { return createAlerts(ctx, tx, alerts) })
}

func createAlerts(ctx context.Context, tx *sql.Tx, alerts []audit.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, qCreateAlert)
	if err != nil {
		return fmt.Errorf("create alerts: %w", err)
	}
	defer st.Close()
	for i := range alerts {
		a := &alerts[i]
		entries := a.Entries
		if entries == nil {
			entries = []int64{}
		}
		b, err := json.Marshal(entries)
		if err != nil {
			return err
		}
		if err := st.QueryRowContext(ctx, ms(a.Time), a.Actor, a.Rule, a.Severity, a.Message, string(b)).Scan(&a.ID); err != nil {
			return fmt.Errorf("create alerts: %w", err)
		}
	}
	return nil
}

func (s *Alerts) FindAlerts(ctx context.Context, f audit.AlertFilter) ([]audit.Alert, error) {
	var q strings.Builder
	q.WriteString(`SELECT ` + alertColumns + ` FROM alerts WHERE 1 = 1`)
	var args []any
	if f.Open != nil {
		q.WriteString(` AND acknowledged = ?`)
		args = append(args, !*f.Open)
	}
	if f.Actor != "" {
		q.WriteString(` AND actor = ?`)
		args = append(args, f.Actor)
	}
	q.WriteString(` ORDER BY id DESC`)
	if f.Limit > 0 {
		q.WriteString(` LIMIT ?`)
		args = append(args, f.Limit)
	}
	rows, err := s.db.reader.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("find alerts: %w", err)
	}
	defer rows.Close()
	var alerts []audit.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("find alerts: %w", err)
		}
		alerts = append(alerts, a)
	}
	return alerts, rows.Err()
}

func (s *Alerts) FindAlertByID(ctx context.Context, id int64) (audit.Alert, error) {
	a, err := scanAlert(s.db.reader.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Alert{}, garde.Errorf(garde.ENotFound, "no alert %d", id)
	}
	return a, err
}

func scanAlert(row scannable) (audit.Alert, error) {
	var a audit.Alert
	var at int64
	var entries string
	var ackAt sql.NullInt64
	if err := row.Scan(&a.ID, &at, &a.Actor, &a.Rule, &a.Severity, &a.Message, &entries, &a.Acknowledged,
		&a.AckBy, &a.AckComment, &ackAt); err != nil {
		return audit.Alert{}, err
	}
	a.Time = msTime(at)
	a.AckAt = fromOptionalMS(ackAt)
	if err := json.Unmarshal([]byte(entries), &a.Entries); err != nil {
		return audit.Alert{}, fmt.Errorf("alert %d: entries: %w", a.ID, err)
	}
	return a, nil
}

func (s *Alerts) AckAlert(ctx context.Context, id int64, by, comment string, at time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qAckAlert, by, comment, ms(at), id)
		if err != nil {
			return fmt.Errorf("ack alert: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var acked bool
		err = tx.QueryRowContext(ctx, `SELECT acknowledged FROM alerts WHERE id = ?`, id).Scan(&acked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return garde.Errorf(garde.ENotFound, "no alert %d", id)
		case err != nil:
			return fmt.Errorf("ack alert: %w", err)
		default:
			return garde.Errorf(garde.EConflict, "alert %d is already acknowledged", id)
		}
	})
}

func (s *Alerts) LoadBaselines(ctx context.Context) (audit.DetectorState, error) {
	var st audit.DetectorState
	err := s.db.reader.QueryRowContext(ctx, `SELECT last_seq FROM alert_cursor WHERE id = 1`).Scan(&st.LastSeq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("load baselines: %w", err)
	}
	rows, err := s.db.reader.QueryContext(ctx, `SELECT actor, purpose, mean, var, days, first_day, last_day, today,
		alerted_day FROM audit_baselines ORDER BY actor, purpose`)
	if err != nil {
		return st, fmt.Errorf("load baselines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b audit.Baseline
		if err := rows.Scan(&b.Actor, &b.Purpose, &b.Mean, &b.Var, &b.Days, &b.FirstDay, &b.LastDay, &b.Today,
			&b.AlertedDay); err != nil {
			return st, fmt.Errorf("load baselines: %w", err)
		}
		st.Baselines = append(st.Baselines, b)
	}
	return st, rows.Err()
}

func (s *Alerts) SaveBaselines(ctx context.Context, st audit.DetectorState, raised []audit.Alert) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, qSaveCursor, st.LastSeq); err != nil {
			return fmt.Errorf("save alert cursor: %w", err)
		}
		if len(st.Baselines) > 0 {
			ins, err := tx.PrepareContext(ctx, qSaveBaseline)
			if err != nil {
				return fmt.Errorf("save baselines: %w", err)
			}
			defer ins.Close()
			for _, b := range st.Baselines {
				if _, err := ins.ExecContext(ctx, b.Actor, b.Purpose, b.Mean, b.Var, b.Days, b.FirstDay, b.LastDay,
					b.Today, b.AlertedDay); err != nil {
					return fmt.Errorf("save baselines: %w", err)
				}
			}
		}
		return createAlerts(ctx, tx, raised)
	})
}

// write runs fn in a write transaction, committed if fn succeeds. The IDs
// fn sets on alerts stand only once it is committed.
func (s *Alerts) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
