-- Data-subject requests (package rights) and every step each took. A
-- request names its subject by opaque id only (empty until verified);
-- reasons are the operator's free text told to the person. Times are Unix
-- nanoseconds, UTC (deadlines are the last nanosecond of a day in the
-- controller's zone); NULL: no such time.

-- +goose Up
CREATE TABLE requests (
    id               TEXT    PRIMARY KEY,
    type             TEXT    NOT NULL,
    jurisdiction     TEXT    NOT NULL,
    subject_id       TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL,
    received         INTEGER NOT NULL,
    verified         INTEGER,
    confirm_by       INTEGER,
    due_by           INTEGER,
    extended_due_by  INTEGER,
    extend_notice_by INTEGER,
    deadline         INTEGER,          -- due_by, or extended_due_by once extended
    extended         INTEGER NOT NULL DEFAULT 0,
    extension_reason TEXT    NOT NULL DEFAULT '',
    refusal_reason   TEXT    NOT NULL DEFAULT '',
    paused           INTEGER NOT NULL DEFAULT 0,
    paused_for       INTEGER NOT NULL DEFAULT 0, -- nanoseconds
    steps            INTEGER NOT NULL  -- history entries: optimistic concurrency
) WITHOUT ROWID;
CREATE INDEX requests_received ON requests (received, id);
CREATE INDEX requests_open ON requests (state, deadline);
CREATE INDEX requests_subject ON requests (subject_id) WHERE subject_id <> '';

CREATE TABLE request_history (
    request_id TEXT    NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL, -- 0 is the receipt
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE request_history;
DROP TABLE requests;
