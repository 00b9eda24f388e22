-- Access: operators (people) with their sessions and training records, and
-- purposes and last use for API keys. Secrets are never stored in clear:
-- passwords as argon2id hashes, TOTP secrets sealed (AES-GCM, key outside this
-- database), recovery codes and session tokens as SHA-256 hashes.

-- +goose Up
CREATE TABLE operators (
    id                  TEXT PRIMARY KEY,
    -- lower-cased; personal data of the operator
    email               TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    role                TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    password_changed_at INTEGER NOT NULL,
    totp_sealed         BLOB,
    totp_last_step      INTEGER NOT NULL DEFAULT 0,
    mfa_enabled         INTEGER NOT NULL DEFAULT 0,
    -- hex SHA-256 hashes of the unused recovery codes, space-separated
    recovery_codes      TEXT    NOT NULL DEFAULT '',
    failed_logins       INTEGER NOT NULL DEFAULT 0,
    locked_until        INTEGER,
    created_at          INTEGER NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX operators_role ON operators (role);

CREATE TABLE operator_sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    operator_id  TEXT    NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    mfa          INTEGER NOT NULL,
    enrol_only   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);
CREATE INDEX operator_sessions_expires ON operator_sessions (expires_at);

CREATE TABLE trainings (
    operator_id  TEXT    NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    course       TEXT    NOT NULL,
    completed_at INTEGER NOT NULL,
    valid_until  INTEGER NOT NULL,
    PRIMARY KEY (operator_id, course, completed_at)
) WITHOUT ROWID;

-- purpose keys, comma-separated; empty: every purpose of the key's role
ALTER TABLE api_keys ADD COLUMN purposes TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_keys DROP COLUMN purposes;
DROP TABLE trainings;
DROP TABLE operator_sessions;
DROP TABLE operators;
