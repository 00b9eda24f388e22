-- Guardian requests (the guardian flow for minors): a salted hash of the
-- guardian's e-mail address, kept as proof of whom was asked (never the
-- address itself), the language the guardian was written to in, and the
-- guardian's answer (approved and refused purposes, the guardian's age
-- assertion, the receipt id) as JSON.

-- +goose Up
ALTER TABLE guardian_requests ADD COLUMN guardian_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE guardian_requests ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
ALTER TABLE guardian_requests ADD COLUMN decision TEXT;
CREATE INDEX guardian_requests_pending ON guardian_requests (subject_id, status, expires_at);

-- +goose Down
DROP INDEX guardian_requests_pending;
ALTER TABLE guardian_requests DROP COLUMN decision;
ALTER TABLE guardian_requests DROP COLUMN lang;
ALTER TABLE guardian_requests DROP COLUMN guardian_hash;
