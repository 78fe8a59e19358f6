-- The first answer to each POST made with an Idempotency-Key, so a retry gets it again instead of
-- running twice. `key_hash` is the SHA-256 of the credential's hash, the method, the path and the key:
-- neither the credential nor the key is stored. A row whose `status` is NULL is a request still
-- running; its primary key is what makes a second node wait its turn.
CREATE TABLE idempotency_keys (
    key_hash       BLOB PRIMARY KEY,
    body_hash      BLOB NOT NULL,
    status         INTEGER,
    content_type   TEXT,
    body           BLOB,
    created_at     INTEGER NOT NULL
);
CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at);
