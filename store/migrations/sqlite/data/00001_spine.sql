-- The spine: subjects, their identities (blind indexes only), events, profile
-- traits, inventory violations, operator API keys.

-- +goose Up
CREATE TABLE subjects (
    id           TEXT PRIMARY KEY,
    -- set when this (anonymous) subject was merged into another one; its rows
    -- stay sealed under its own key and are read as part of the canonical one
    merged_into  TEXT,
    identified   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX subjects_merged_into ON subjects (merged_into) WHERE merged_into IS NOT NULL;

-- identities are keyed HMACs (blind indexes) of userId, anonymousId, email
-- and phone: never the plaintext
CREATE TABLE identities (
    kind       TEXT NOT NULL,
    hash       BLOB NOT NULL,
    subject_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, hash)
) WITHOUT ROWID;
CREATE INDEX identities_subject ON identities (subject_id);

-- events keep declared, non-personal values in clear (after redaction) and
-- every personal value sealed with the subject's own key
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    subject_id  TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    purposes    TEXT    NOT NULL,
    properties  TEXT    NOT NULL,
    context     TEXT    NOT NULL,
    sealed      BLOB
);
CREATE INDEX events_subject ON events (subject_id, id);

CREATE TABLE traits (
    subject_id TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    purposes   TEXT    NOT NULL,
    sealed     INTEGER NOT NULL,
    value      BLOB    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (subject_id, name)
) WITHOUT ROWID;

-- what the tracking plan refused or redacted, counted per source, event and
-- field; never the values
CREATE TABLE violations (
    source     TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (source, event, field, kind)
) WITHOUT ROWID;

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    hash         BLOB    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER
);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE violations;
DROP TABLE traits;
DROP TABLE events;
DROP TABLE identities;
DROP TABLE subjects;
