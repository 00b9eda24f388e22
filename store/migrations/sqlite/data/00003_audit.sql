-- The audit log: hash-chained entries (pseudonymous ids only: no personal
-- data), the subjects each entry lists, and signed checkpoints. Rows are
-- only ever inserted; `garde audit verify` detects any other change.

-- +goose Up
CREATE TABLE audit (
    seq            INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL, -- Unix microseconds, UTC
    actor          TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    purpose        TEXT    NOT NULL,
    subject_count  INTEGER NOT NULL, -- the listed subjects are in audit_subjects
    subject_digest TEXT    NOT NULL,
    categories     TEXT    NOT NULL, -- sorted keys, space-separated
    request_id     TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    detail         TEXT    NOT NULL, -- JSON object, or '' when empty
    prev           BLOB    NOT NULL,
    hash           BLOB    NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_action ON audit (action, seq);

-- every access to one person's data: an indexed query on subject_id
CREATE TABLE audit_subjects (
    seq        INTEGER NOT NULL,
    subject_id TEXT    NOT NULL,
    PRIMARY KEY (seq, subject_id)
) WITHOUT ROWID;
CREATE INDEX audit_subjects_subject ON audit_subjects (subject_id, seq);

CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB    NOT NULL,
    at        INTEGER NOT NULL, -- Unix microseconds, UTC
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_subjects;
DROP TABLE audit;
