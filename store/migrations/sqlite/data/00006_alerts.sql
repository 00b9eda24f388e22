-- Insider-threat alerts raised from the audit log, the per-actor reading
-- baselines they are measured against, and the seq of the last audit entry
-- the detector observed. Messages hold actor ids, counts, purposes and hours
-- only; an acknowledgement's comment is free text, kept here only (its audit
-- entry holds the comment's SHA-256).

-- +goose Up
CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL, -- Unix milliseconds, UTC
    actor        TEXT    NOT NULL, -- the audit actor the alert is about
    rule         TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    message      TEXT    NOT NULL,
    entries      TEXT    NOT NULL, -- JSON array of audit seqs
    acknowledged INTEGER NOT NULL DEFAULT 0,
    ack_by       TEXT    NOT NULL DEFAULT '',
    ack_comment  TEXT    NOT NULL DEFAULT '',
    ack_at       INTEGER           -- Unix milliseconds, UTC; NULL while open
);
CREATE INDEX alerts_open ON alerts (acknowledged, id);
CREATE INDEX alerts_actor ON alerts (actor, id);

-- one row per actor and purpose, and one per actor for every purpose ('*');
-- days are yyyymmdd in the detector's time zone
CREATE TABLE audit_baselines (
    actor       TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    mean        REAL    NOT NULL,
    var         REAL    NOT NULL,
    days        INTEGER NOT NULL, -- past active days folded into mean and var
    first_day   INTEGER NOT NULL,
    last_day    INTEGER NOT NULL, -- the day being counted
    today       INTEGER NOT NULL, -- subjects read on last_day so far
    alerted_day INTEGER NOT NULL, -- last day of a volume alert, 0: none
    PRIMARY KEY (actor, purpose)
) WITHOUT ROWID;

CREATE TABLE alert_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);

-- +goose Down
DROP TABLE alert_cursor;
DROP TABLE audit_baselines;
DROP TABLE alerts;
