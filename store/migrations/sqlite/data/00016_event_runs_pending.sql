-- A run is written across several group commits instead of in one, which
-- paused the writer for 35–85 ms per run under load (store.eventTail).
-- The run is listed when its first rows are written, and marked complete
-- with its last: look-ups read complete runs only; erasure deletes the rows
-- of every listed run, complete or not.

-- +goose Up
ALTER TABLE event_run_list ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;

-- +goose Down
DELETE FROM event_runs WHERE run IN (SELECT run FROM event_run_list WHERE NOT complete);
DELETE FROM event_run_list WHERE NOT complete;
ALTER TABLE event_run_list DROP COLUMN complete;
