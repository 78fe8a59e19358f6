-- The transactional outbox: every change writes its event in its own transaction (docs/webhooks.md).

-- The last event sequence handed out per workspace; bumped inside the writing transaction, like
-- ticket numbers, so sequences never repeat or skip on any number of nodes.
CREATE TABLE event_counters (
    workspace_id  UUID PRIMARY KEY REFERENCES workspaces (id),
    n             BIGINT NOT NULL
);

CREATE TABLE events (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id),
    sequence      BIGINT NOT NULL,
    type          TEXT NOT NULL,
    occurred_at   BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    resource      TEXT NOT NULL,
    previous      TEXT
);
CREATE UNIQUE INDEX events_sequence ON events (workspace_id, sequence);

-- A subscription's `cursor` is the last sequence it has taken a delivery for; its worker lease
-- (`lease_owner`, `lease_until`) lets one node at a time deliver to it, in order.
CREATE TABLE webhooks (
    id                     UUID PRIMARY KEY,
    workspace_id           UUID NOT NULL REFERENCES workspaces (id),
    url                    TEXT NOT NULL,
    event_types            TEXT NOT NULL,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  BIGINT,
    enabled                BOOLEAN NOT NULL,
    disabled_reason        TEXT,
    cursor                 BIGINT NOT NULL,
    next_attempt_at        BIGINT NOT NULL,
    lease_owner            UUID,
    lease_until            BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, created_at);

CREATE TABLE webhook_deliveries (
    id                UUID PRIMARY KEY,
    workspace_id      UUID NOT NULL REFERENCES workspaces (id),
    webhook_id        UUID NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id          UUID NOT NULL REFERENCES events (id),
    sequence          BIGINT NOT NULL,
    manual            BOOLEAN NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL,
    first_attempt_at  BIGINT,
    next_attempt_at   BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at);
-- The backstop of per-subscription order: one event's ordinary delivery exists once.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (webhook_id, sequence) WHERE manual = FALSE;

CREATE TABLE webhook_attempts (
    id                UUID PRIMARY KEY,
    delivery_id       UUID NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL,
    attempted_at      BIGINT NOT NULL,
    status_code       INTEGER,
    latency_ms        BIGINT NOT NULL,
    response_excerpt  TEXT,
    error             TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
