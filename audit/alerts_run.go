package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/garde-privacy/garde"
)

// pollBatch is the most entries Poll reads and observes at once.
const pollBatch = 1000

// Poll observes every entry of r after the last one observed, in batches,
// and returns how many it read. The last seq observed is stored with the
// baselines, so that after a restart Poll reads on where it stopped.
func (d *Detector) Poll(ctx context.Context, r Reader) (int, error) {
	total := 0
	for {
		after, err := d.LastSeq(ctx)
		if err != nil {
			return total, err
		}
		batch := make([]Entry, 0, 64)
		err = r.FindAudit(ctx, Filter{After: after, Limit: pollBatch}, func(e *Entry) error {
			batch = append(batch, *e)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("audit: alerts: read the log: %w", err)
		}
		if len(batch) == 0 {
			return total, nil
		}
		if _, err := d.Observe(ctx, batch...); err != nil {
			return total, err
		}
		total += len(batch)
		if len(batch) < pollBatch {
			return total, nil
		}
	}
}

// Run tails r: it polls it (Poll) at once and then every interval until
// ctx is done, logging errors (without personal data) and trying again at
// the next tick. Start it in a goroutine of its own.
func (d *Detector) Run(ctx context.Context, r Reader, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := d.Poll(ctx, r); err != nil && ctx.Err() == nil {
			log.Error("audit alerts: poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxComment is the longest acknowledgement comment, in characters.
const maxComment = 1000

// Acknowledge acknowledges alert id on behalf of by (an audit actor) with a
// comment (1 to 1000 characters, required), and audits it: it first calls
// appendAudit with an entry of action ActionAlertAck, whose detail holds
// the alert's id, rule and actor and the comment's SHA-256 (never the
// comment, which is free text), and only once that entry is written marks
// the alert acknowledged. appendAudit may complete the entry (role,
// request id, source) before appending it in a transaction of its own.
//
// So no acknowledgement is ever unaudited; if two operators acknowledge
// the same alert at once, both attempts are audited and the first stands
// (the second gets garde.EConflict). Errors: garde.EInvalid for a bad
// comment or actor, garde.ENotFound for no such alert, garde.EConflict
// when it is acknowledged already — in those cases nothing is audited.
func (d *Detector) Acknowledge(ctx context.Context, id int64, by, comment string,
	appendAudit func(context.Context, Entry) error) error {
	if appendAudit == nil {
		return errors.New("audit: acknowledge: no audit appender")
	}
	comment = strings.TrimSpace(comment)
	if comment == "" || !utf8.ValidString(comment) || utf8.RuneCountInString(comment) > maxComment ||
		strings.IndexByte(comment, 0) >= 0 {
		return garde.Errorf(garde.EInvalid, "a comment of 1 to %d characters is required", maxComment)
	}
	if by == "" || !isToken(by, maxName) {
		return garde.Errorf(garde.EInvalid, "acknowledging actor: 1 to 128 printable ASCII characters without spaces")
	}
	a, err := d.Store.FindAlertByID(ctx, id)
	if err != nil {
		return err
	}
	if a.Acknowledged {
		return garde.Errorf(garde.EConflict, "alert %d is already acknowledged", id)
	}
	sum := sha256.Sum256([]byte(comment))
	e := Entry{
		Actor: by, Action: ActionAlertAck, Outcome: OutcomeOK,
		Detail: map[string]string{
			"alert": strconv.FormatInt(id, 10), "rule": a.Rule, "alert_actor": a.Actor,
			"comment_sha256": hex.EncodeToString(sum[:]),
		},
	}
	if err := appendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit: acknowledge alert %d: audit entry: %w", id, err)
	}
	return d.Store.AckAlert(ctx, id, by, comment, d.now())
}
