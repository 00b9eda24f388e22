-- Durable jobs (package jobs). Args are JSON holding opaque ids only;
-- last_error is a garde error's code and public message, never personal
-- data. Times are Unix nanoseconds, UTC; run_at 0: due at once.

-- +goose Up
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a stale worker cannot act on a new job
    kind         TEXT    NOT NULL,
    key          TEXT,             -- NULL: no de-duplication
    args         TEXT    NOT NULL,
    state        TEXT    NOT NULL, -- available, running, completed, discarded
    attempt      INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    worker       TEXT    NOT NULL DEFAULT '', -- who holds (or last held) the lease
    lease_until  INTEGER,          -- while running
    last_error   TEXT    NOT NULL DEFAULT '',
    finished     INTEGER           -- when completed or discarded
);
-- a key names at most one unfinished job
CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE state IN ('available', 'running');
-- what Claim looks for: due jobs, and leases that ran out
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'available';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
-- pruning the finished (operators' look-ups by state and kind read the
-- table: an index on state would lure Claim away from the two above)
CREATE INDEX jobs_finished ON jobs (finished) WHERE finished IS NOT NULL;

-- +goose Down
DROP TABLE jobs;
