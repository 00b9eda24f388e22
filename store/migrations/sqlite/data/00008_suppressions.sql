-- Suppression markers (package rights): kept when a person erased asks not
-- to be collected again, one per identity they had. A marker is the SHA-256
-- of a fixed label, the identity's kind and its blind index — neither the
-- identifier nor its blind index — so collection can recognise the person
-- and refuse them, and nothing else can be learnt from it.

-- +goose Up
CREATE TABLE suppressions (
    hash       BLOB    PRIMARY KEY,
    created_at INTEGER NOT NULL -- Unix milliseconds, UTC
) WITHOUT ROWID;

-- +goose Down
DROP TABLE suppressions;
