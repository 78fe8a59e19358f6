-- Webhook subscriptions and their deliveries: the push side of the outbox (docs/webhooks.md).

CREATE TABLE webhooks (
    id                     UUID PRIMARY KEY,
    workspace_id           UUID NOT NULL REFERENCES workspaces (id),
    url                    TEXT NOT NULL,
    -- A JSON array of event types; empty: every type.
    types                  TEXT NOT NULL,
    secret                 TEXT NOT NULL,
    -- After a rotation the old secret still signs deliveries until previous_secret_until.
    previous_secret        TEXT,
    previous_secret_until  BIGINT,
    secret_rotated_at      BIGINT,
    enabled                BOOLEAN NOT NULL,
    disabled_reason        TEXT,
    consecutive_failures   BIGINT NOT NULL DEFAULT 0,
    -- The last event sequence turned into deliveries (or skipped as not subscribed).
    last_sequence          BIGINT NOT NULL,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, created_at);

CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY,
    webhook_id       UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         UUID NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    sequence         BIGINT NOT NULL,
    -- pending, delivered or failed
    status           TEXT NOT NULL,
    -- Attempts since it was (re)queued; the log below keeps every attempt ever made.
    tries            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    -- The node delivering it now and until when its claim holds; an expired claim is free to take.
    claimed_by       TEXT,
    lease_until      BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, status, sequence);

CREATE TABLE webhook_attempts (
    id                UUID PRIMARY KEY,
    delivery_id       UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at      BIGINT NOT NULL,
    status_code       BIGINT,
    latency_ms        BIGINT NOT NULL,
    response_excerpt  TEXT,
    error             TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
