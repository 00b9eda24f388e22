-- Anonymised aggregates the retention clock keeps when a purpose says
-- `then: anonymise`: counts of events by day, source and name, naming no one.

-- +goose Up
CREATE TABLE aggregates (
    day    TEXT    NOT NULL,
    source TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (day, source, name)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE aggregates;
