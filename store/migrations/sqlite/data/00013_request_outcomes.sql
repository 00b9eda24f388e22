-- What answering a request produced for its requester (rights.Outcome),
-- sealed with a key derived from the master key: it holds a one-time
-- link's token, and the erasure certificate.

-- +goose Up
CREATE TABLE request_outcomes (
    request_id TEXT PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    sealed     BLOB NOT NULL
) WITHOUT ROWID;

-- +goose Down
DROP TABLE request_outcomes;
