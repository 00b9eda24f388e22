-- The key database: the vault's root secret and one data key per subject,
-- each wrapped (encrypted) by the master key, which is never stored here.
-- Destroying a subject's row is how the subject's data is erased
-- (crypto-shredding); secure_delete and a WAL checkpoint make it final.

-- +goose Up
CREATE TABLE vault_root (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    wrapped    BLOB    NOT NULL,
    master_id  BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE subject_keys (
    subject_id TEXT    PRIMARY KEY,
    wrapped    BLOB    NOT NULL,
    master_id  BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE subject_keys;
DROP TABLE vault_root;
