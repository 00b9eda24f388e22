-- The copies people asked for (access and portability, package
-- rights/bundle): one zip per answer, sealed with the person's own data key
-- (erasing the person makes a copy not yet taken unreadable), behind a
-- one-time link of which only the token's SHA-256 is kept. Taking the copy,
-- or its link's expiry, sets sealed to NULL (secure_delete overwrites it);
-- the row stays as the record of when the copy was handed over. Times are
-- Unix milliseconds, UTC.

-- +goose Up
CREATE TABLE downloads (
    id          TEXT    PRIMARY KEY,
    token_hash  BLOB    NOT NULL UNIQUE,
    request_id  TEXT    NOT NULL,
    subject_id  TEXT    NOT NULL,
    sealed      BLOB,             -- NULL once taken or expired
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER           -- when the copy was taken; NULL until then
);
CREATE INDEX downloads_request ON downloads (request_id);
CREATE INDEX downloads_subject ON downloads (subject_id);
-- what PurgeDownloads looks for: copies still held, by expiry
CREATE INDEX downloads_held ON downloads (expires_at) WHERE sealed IS NOT NULL;

-- a copy lists what the outbox told destinations about its person
CREATE INDEX outbox_subject ON outbox (subject_id);

-- +goose Down
DROP INDEX outbox_subject;
DROP TABLE downloads;
