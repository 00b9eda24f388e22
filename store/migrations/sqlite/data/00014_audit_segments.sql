-- The audit log in segments (see store/audit.go): each row of
-- audit_segments holds consecutive entries, each as its canonical encoding
-- (exactly the bytes its hash is the SHA-256 of) framed by a 4-byte
-- big-endian length and followed by its 32-byte hash. audit_keys lists, per
-- segment, the distinct values its entries can be found by: 'a=' actor,
-- 'v=' action, 'p=' purpose, 's=' each listed subject. Existing entries are
-- re-encoded here byte for byte as package audit encodes them, so every
-- hash and checkpoint stays valid; the view `audit` decodes the segments
-- back into the former rows (for ad-hoc reading, and for Down).
--
-- Integers are read from blobs as JSON5 hexadecimal numbers:
-- ('0x0' || hex(bytes)) ->> '$'.

-- +goose Up
CREATE TABLE audit_segments (
    first_seq INTEGER PRIMARY KEY, -- seq of its first entry
    min_at    INTEGER NOT NULL,    -- bounds of its entries' times, Unix microseconds, UTC
    max_at    INTEGER NOT NULL,
    body      BLOB    NOT NULL
);
CREATE INDEX audit_segments_max_at ON audit_segments (max_at);
CREATE INDEX audit_segments_min_at ON audit_segments (min_at);

CREATE TABLE audit_keys (
    first_seq INTEGER NOT NULL,
    key       TEXT    NOT NULL,
    PRIMARY KEY (first_seq, key)
) WITHOUT ROWID;
-- every access to one person's data, every act of an actor …: an indexed query on key
CREATE INDEX audit_keys_key ON audit_keys (key, first_seq);

-- each entry's canonical encoding, in hex (see package audit's doc), then
-- the entries packed in segments of about 16000 bytes (segmentBytes), in seq order
WITH enc AS (
    SELECT a.seq, a.at, a.hash,
        '00000014' || hex('garde-audit-entry/v1')
        || printf('%016X', a.seq) || printf('%016X', a.at)
        || printf('%08X', octet_length(a.actor)) || hex(a.actor)
        || printf('%08X', octet_length(a.role)) || hex(a.role)
        || printf('%08X', octet_length(a.action)) || hex(a.action)
        || printf('%08X', octet_length(a.purpose)) || hex(a.purpose)
        || (SELECT printf('%08X', count(*))
                || coalesce(group_concat(printf('%08X', octet_length(s.subject_id)) || hex(s.subject_id), '' ORDER BY s.subject_id), '')
            FROM audit_subjects s WHERE s.seq = a.seq)
        || printf('%016X', a.subject_count)
        || printf('%08X', octet_length(a.subject_digest)) || hex(a.subject_digest)
        || CASE a.categories WHEN '' THEN '00000000' ELSE
            (SELECT printf('%08X', count(*))
                || group_concat(printf('%08X', octet_length(c.value)) || hex(c.value), '' ORDER BY c.value)
             FROM json_each('["' || replace(a.categories, ' ', '","') || '"]') c) END
        || printf('%08X', octet_length(a.request_id)) || hex(a.request_id)
        || printf('%08X', octet_length(a.source)) || hex(a.source)
        || printf('%08X', octet_length(a.outcome)) || hex(a.outcome)
        || CASE a.detail WHEN '' THEN '00000000' ELSE
            (SELECT printf('%08X', count(*))
                || group_concat(printf('%08X', octet_length(d.key)) || hex(d.key)
                    || printf('%08X', octet_length(d.value)) || hex(d.value), '' ORDER BY d.key)
             FROM json_each(a.detail) d) END
        || printf('%08X', length(a.prev)) || hex(a.prev) AS canonical
    FROM audit a
),
framed AS (
    SELECT seq, at, printf('%08X', length(canonical) / 2) || canonical || hex(hash) AS frame,
        length(canonical) / 2 + 36 AS size
    FROM enc
)
INSERT INTO audit_segments (first_seq, min_at, max_at, body)
SELECT min(seq), min(at), max(at), unhex(group_concat(frame, '' ORDER BY seq))
FROM (SELECT seq, at, frame, (sum(size) OVER (ORDER BY seq) - size) / 16000 AS segment FROM framed)
GROUP BY segment;

INSERT OR IGNORE INTO audit_keys (first_seq, key)
SELECT (SELECT max(g.first_seq) FROM audit_segments g WHERE g.first_seq <= k.seq), k.key
FROM (
    SELECT seq, 'a=' || actor AS key FROM audit
    UNION ALL SELECT seq, 'v=' || action FROM audit
    UNION ALL SELECT seq, 'p=' || purpose FROM audit WHERE purpose <> ''
    UNION ALL SELECT seq, 's=' || subject_id FROM audit_subjects WHERE seq IN (SELECT seq FROM audit)
) k;

DROP TABLE audit_subjects;
DROP TABLE audit;

-- The former table, decoded from the segments: slow, for reading by hand.
-- subjects is a JSON array of the listed ids. A field of the encoding is
-- read at each step of `field`, st naming it: 0 magic, 1 seq, 2 time,
-- 3 actor, 4 role, 5 action, 6 purpose, 7 subject count (listed), 8 a
-- subject, 9 subject_count, 10 digest, 11 category count, 12 a category,
-- 13 request id, 14 source, 15 outcome, 16 detail count, 17 a detail key,
-- 18 its value, 19 prev. n is the 4-byte number at pos (a length or a
-- count), rem the items left in the current list, k the last detail key.
CREATE VIEW audit AS
WITH RECURSIVE
frame(first_seq, body, off, n, c, hash) AS (
    SELECT first_seq, body, 1, ('0x0' || hex(substr(body, 1, 4))) ->> '$', NULL, NULL FROM audit_segments
    UNION ALL
    SELECT first_seq, body, off + 36 + n, ('0x0' || hex(substr(body, off + 36 + n, 4))) ->> '$',
        substr(body, off + 4, n), substr(body, off + 4 + n, 32)
    FROM frame WHERE off + 36 + n <= length(body) + 1
),
field(first_seq, off, hash, c, pos, n, st, rem, k, read, val) AS (
    SELECT first_seq, off, hash, c, 1, ('0x0' || hex(substr(c, 1, 4))) ->> '$', 0, 0, NULL, NULL, NULL
    FROM frame WHERE c IS NOT NULL
    UNION ALL
    SELECT first_seq, off, hash, c,
        pos + CASE WHEN st IN (1, 2, 9) THEN 8 WHEN st IN (7, 11, 16) THEN 4 ELSE 4 + n END,
        ('0x0' || hex(substr(c, pos + CASE WHEN st IN (1, 2, 9) THEN 8 WHEN st IN (7, 11, 16) THEN 4 ELSE 4 + n END, 4))) ->> '$',
        CASE st
            WHEN 7 THEN iif(n > 0, 8, 9) WHEN 8 THEN iif(rem > 1, 8, 9)
            WHEN 11 THEN iif(n > 0, 12, 13) WHEN 12 THEN iif(rem > 1, 12, 13)
            WHEN 16 THEN iif(n > 0, 17, 19) WHEN 18 THEN iif(rem > 1, 17, 19)
            ELSE st + 1 END,
        CASE WHEN st IN (7, 11, 16) THEN n WHEN st IN (8, 12, 18) THEN rem - 1 ELSE rem END,
        CASE WHEN st = 17 THEN CAST(substr(c, pos + 4, n) AS TEXT) ELSE k END,
        st,
        CASE WHEN st IN (1, 2, 9) THEN ('0x0' || hex(substr(c, pos, 8))) ->> '$'
            WHEN st IN (7, 11, 16) THEN n
            WHEN st = 19 THEN substr(c, pos + 4, n)
            ELSE CAST(substr(c, pos + 4, n) AS TEXT) END
    FROM field WHERE st < 20 AND pos <= length(c)
)
SELECT
    max(CASE read WHEN 1 THEN val END) AS seq,
    max(CASE read WHEN 2 THEN val END) AS at,
    max(CASE read WHEN 3 THEN val END) AS actor,
    max(CASE read WHEN 4 THEN val END) AS role,
    max(CASE read WHEN 5 THEN val END) AS action,
    max(CASE read WHEN 6 THEN val END) AS purpose,
    max(CASE read WHEN 9 THEN val END) AS subject_count,
    max(CASE read WHEN 10 THEN val END) AS subject_digest,
    coalesce(group_concat(val, ' ' ORDER BY pos) FILTER (WHERE read = 12), '') AS categories,
    max(CASE read WHEN 13 THEN val END) AS request_id,
    max(CASE read WHEN 14 THEN val END) AS source,
    max(CASE read WHEN 15 THEN val END) AS outcome,
    iif(max(CASE read WHEN 16 THEN val END) > 0, json_group_object(k, val) FILTER (WHERE read = 18), '') AS detail,
    max(CASE read WHEN 19 THEN val END) AS prev,
    hash,
    coalesce(json_group_array(val) FILTER (WHERE read = 8), '[]') AS subjects
FROM field WHERE read IS NOT NULL
GROUP BY first_seq, off;

-- +goose Down
CREATE TABLE audit_v13 (
    seq            INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    purpose        TEXT    NOT NULL,
    subject_count  INTEGER NOT NULL,
    subject_digest TEXT    NOT NULL,
    categories     TEXT    NOT NULL,
    request_id     TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    detail         TEXT    NOT NULL,
    prev           BLOB    NOT NULL,
    hash           BLOB    NOT NULL
);
INSERT INTO audit_v13 SELECT seq, at, actor, role, action, purpose, subject_count, subject_digest,
    categories, request_id, source, outcome, detail, prev, hash FROM audit;
CREATE TABLE audit_subjects (
    seq        INTEGER NOT NULL,
    subject_id TEXT    NOT NULL,
    PRIMARY KEY (seq, subject_id)
) WITHOUT ROWID;
INSERT INTO audit_subjects SELECT a.seq, s.value FROM audit a, json_each(a.subjects) s;
DROP VIEW audit;
DROP TABLE audit_keys;
DROP TABLE audit_segments;
ALTER TABLE audit_v13 RENAME TO audit;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_action ON audit (action, seq);
CREATE INDEX audit_subjects_subject ON audit_subjects (subject_id, seq);
