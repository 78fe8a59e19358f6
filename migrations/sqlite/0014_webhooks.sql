-- Webhook subscriptions and their deliveries: the push side of the outbox (docs/webhooks.md).

CREATE TABLE webhooks (
    id                     BLOB PRIMARY KEY,
    workspace_id           BLOB NOT NULL REFERENCES workspaces (id),
    url                    TEXT NOT NULL,
    -- A JSON array of event types; empty: every type.
    types                  TEXT NOT NULL,
    secret                 TEXT NOT NULL,
    -- After a rotation the old secret still signs deliveries until previous_secret_until.
    previous_secret        TEXT,
    previous_secret_until  INTEGER,
    secret_rotated_at      INTEGER,
    enabled                BOOLEAN NOT NULL,
    disabled_reason        TEXT,
    consecutive_failures   INTEGER NOT NULL DEFAULT 0,
    -- The last event sequence turned into deliveries (or skipped as not subscribed).
    last_sequence          INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, created_at);

CREATE TABLE webhook_deliveries (
    id               BLOB PRIMARY KEY,
    webhook_id       BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         BLOB NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    sequence         INTEGER NOT NULL,
    -- pending, delivered or failed
    status           TEXT NOT NULL,
    -- Attempts since it was (re)queued; the log below keeps every attempt ever made.
    tries            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    -- The node delivering it now and until when its claim holds; an expired claim is free to take.
    claimed_by       TEXT,
    lease_until      INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, status, sequence);

CREATE TABLE webhook_attempts (
    id                BLOB PRIMARY KEY,
    delivery_id       BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at      INTEGER NOT NULL,
    status_code       INTEGER,
    latency_ms        INTEGER NOT NULL,
    response_excerpt  TEXT,
    error             TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
