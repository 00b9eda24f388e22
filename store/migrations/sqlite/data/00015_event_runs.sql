-- Which events each subject has, kept off the random-insert path. An index
-- on events (subject_id, id) costs every event a write to a random page of
-- a B-tree as large as the table: under sustained collection that write
-- (and the checkpoint's copy of it into a file of gigabytes) came to half
-- of the bytes written and made throughput fall by a quarter within a
-- minute. Instead, the events are indexed by subject in runs: a run covers
-- the events up to its id, one row per subject holding that subject's event
-- ids (a JSON array), written in one go with the rows in key order, so that
-- they are appended, not scattered. The events after the last run are
-- indexed in memory (store.eventTail), rebuilt at open from the rows
-- themselves. event_run_list names the runs, which a look-up by subject
-- probes one by one.

-- +goose Up
CREATE TABLE event_runs (
    run        INTEGER NOT NULL, -- the id of the last event the run covers
    subject_id TEXT    NOT NULL,
    ids        TEXT    NOT NULL, -- JSON array of the subject's event ids in the run
    PRIMARY KEY (run, subject_id)
) WITHOUT ROWID;
CREATE TABLE event_run_list (run INTEGER PRIMARY KEY);

INSERT INTO event_run_list (run) SELECT max(id) FROM events HAVING count(*) > 0;
INSERT INTO event_runs (run, subject_id, ids)
SELECT (SELECT max(id) FROM events), subject_id, json_group_array(id)
FROM (SELECT subject_id, id FROM events ORDER BY subject_id, id)
GROUP BY subject_id;
DROP INDEX events_subject;

-- +goose Down
CREATE INDEX events_subject ON events (subject_id, id);
DROP TABLE event_run_list;
DROP TABLE event_runs;
