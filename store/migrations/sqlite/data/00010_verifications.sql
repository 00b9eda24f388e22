-- Identity verification for data-subject requests (package rights/verify).
-- Nothing here is personal in clear: a code is kept as an HMAC bound to its
-- request, rate limits count HMACs of addresses and IPs, and a used site
-- token is remembered by a hash of its issuer and jti. identity is the
-- caller's opaque identity key (a blind index), emptied once the code is
-- used. Codes and events older than a day, and tokens past their expiry, are
-- pruned as new ones come. Times are Unix nanoseconds, UTC.

-- +goose Up
CREATE TABLE verification_codes (
    request_id TEXT    PRIMARY KEY, -- a request ("r_…") or a privacy-centre visit ("v_…")
    code_hash  BLOB    NOT NULL,
    identity   BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0, -- wrong codes typed
    consumed   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX verification_codes_expires ON verification_codes (expires_at);

-- the site tokens already used: a replay is refused until expires_at
CREATE TABLE verification_tokens (
    id_hash    BLOB    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX verification_tokens_expires ON verification_tokens (expires_at);

-- rate-limit events: kind "address" (a code sent to it), "ip" (a code asked
-- for from it), "wrong" (a wrong code typed from it)
CREATE TABLE verification_events (
    kind     TEXT    NOT NULL,
    key_hash BLOB    NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX verification_events_key ON verification_events (kind, key_hash, at);
CREATE INDEX verification_events_at ON verification_events (at);

-- +goose Down
DROP TABLE verification_events;
DROP TABLE verification_tokens;
DROP TABLE verification_codes;
