-- The consent ledger: append-only, hash-chained records (pseudonymous subject
-- ids and hashes only), the notices people were shown, guardian requests
-- for minors, and the outbox through which destinations and vendors are
-- told about withdrawals, opt-outs and erasures.

-- +goose Up
CREATE TABLE consent_records (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    subject_id TEXT    NOT NULL,
    purpose    TEXT    NOT NULL,
    decision   TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    body       TEXT    NOT NULL, -- the record as JSON (what the hash covers, without prev and hash)
    prev       BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);
CREATE INDEX consent_records_subject ON consent_records (subject_id, seq);

-- the exact texts shown, by version and language; a record names the
-- version and the SHA-256 of the text
CREATE TABLE consent_notices (
    version    INTEGER NOT NULL,
    language   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (version, language)
) WITHOUT ROWID;

CREATE TABLE guardian_requests (
    id          TEXT    PRIMARY KEY,
    subject_id  TEXT    NOT NULL,
    request     TEXT    NOT NULL, -- the minor's decisions and context, as JSON
    status      TEXT    NOT NULL, -- pending, given, refused, expired
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    decided_at  INTEGER
);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    topic        TEXT    NOT NULL,
    subject_id   TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;

-- +goose Down
DROP TABLE outbox;
DROP TABLE guardian_requests;
DROP TABLE consent_notices;
DROP TABLE consent_records;
