-- Signing keys (Ed25519) for consent receipts, erasure certificates,
-- guardian links and audit checkpoints, one rotating set per use. The public
-- key is stored in clear (it is published in the JWKS); the private seed only
-- wrapped (AES-256-GCM) under a key derived from the vault's root secret,
-- bound to its use and key id. Retired keys stay, so that what they signed
-- still verifies. At most one key per use is current (retired_at IS NULL);
-- generation orders a use's keys, 1 for the first, +1 per rotation.

-- +goose Up
CREATE TABLE signing_keys (
    kid        TEXT    PRIMARY KEY,
    key_use    TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    public_key BLOB    NOT NULL,
    wrapped    BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER,
    UNIQUE (key_use, generation)
);

CREATE UNIQUE INDEX signing_keys_current ON signing_keys (key_use) WHERE retired_at IS NULL;

-- +goose Down
DROP INDEX signing_keys_current;
DROP TABLE signing_keys;
