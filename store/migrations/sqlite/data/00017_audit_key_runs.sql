-- The audit log's segments are found by key (actor, action, purpose, each
-- listed subject) through runs instead of a B-tree on (key, first_seq).
-- That index cost every append a write per listed subject to a random page
-- of a tree as large as the log; a group commit of 14 single events wrote
-- ~14 such pages, most of its bytes. A run covers the segments up to its
-- own (run, the first_seq of the last one) after the run before it: one row
-- per key holding the segments that have it (a JSON array), written in key
-- order so that the rows are appended (store/auditruns.go). The segments
-- after the last complete run, the tail, are no run's: a look-up reads them
-- all and keeps the entries that match. audit_key_run_list names the runs;
-- a run is listed with its first rows and marked complete with its last.
--
-- The keys of existing segments become runs when the database is next
-- opened (store.DB.indexAudit); until then they are the tail.

-- +goose Up
CREATE TABLE audit_key_runs (
    run  INTEGER NOT NULL, -- first_seq of the last segment the run covers
    key  TEXT    NOT NULL, -- kind, '=' and value, as audit_keys had them
    seqs TEXT    NOT NULL, -- JSON array of the first_seq of the run's segments with that key, ascending
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE TABLE audit_key_run_list (
    run      INTEGER PRIMARY KEY,
    complete INTEGER NOT NULL
);
DROP TABLE audit_keys;

-- +goose Down
CREATE TABLE audit_keys (
    first_seq INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    PRIMARY KEY (first_seq, key)
) WITHOUT ROWID;
CREATE INDEX audit_keys_key ON audit_keys (key, first_seq);
INSERT OR IGNORE INTO audit_keys (first_seq, key)
SELECT (SELECT max(g.first_seq) FROM audit_segments g WHERE g.first_seq <= k.seq), k.key
FROM (
    SELECT seq, 'a=' || actor AS key FROM audit
    UNION ALL SELECT seq, 'v=' || action FROM audit
    UNION ALL SELECT seq, 'p=' || purpose FROM audit WHERE purpose <> ''
    UNION ALL SELECT a.seq, 's=' || s.value FROM audit a, json_each(a.subjects) s
) k;
DROP TABLE audit_key_run_list;
DROP TABLE audit_key_runs;
