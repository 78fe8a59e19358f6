-- The transactional outbox: every change writes its event in its own transaction (docs/webhooks.md).

-- The last event sequence handed out per workspace; bumped inside the writing transaction, like
-- ticket numbers, so sequences never repeat or skip on any number of nodes.
CREATE TABLE event_counters (
    workspace_id  BLOB PRIMARY KEY REFERENCES workspaces (id),
    n             INTEGER NOT NULL
);

CREATE TABLE events (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id),
    sequence      INTEGER NOT NULL,
    type          TEXT NOT NULL,
    occurred_at   INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    resource      TEXT NOT NULL,
    previous      TEXT
);
CREATE UNIQUE INDEX events_sequence ON events (workspace_id, sequence);

-- A subscription's `cursor` is the last sequence it has taken a delivery for; its worker lease
-- (`lease_owner`, `lease_until`) lets one node at a time deliver to it, in order.
CREATE TABLE webhooks (
    id                     BLOB PRIMARY KEY,
    workspace_id           BLOB NOT NULL REFERENCES workspaces (id),
    url                    TEXT NOT NULL,
    event_types            TEXT NOT NULL,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  INTEGER,
    enabled                BOOLEAN NOT NULL,
    disabled_reason        TEXT,
    cursor                 INTEGER NOT NULL,
    next_attempt_at        INTEGER NOT NULL,
    lease_owner            BLOB,
    lease_until            INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, created_at);

CREATE TABLE webhook_deliveries (
    id                BLOB PRIMARY KEY,
    workspace_id      BLOB NOT NULL REFERENCES workspaces (id),
    webhook_id        BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id          BLOB NOT NULL REFERENCES events (id),
    sequence          INTEGER NOT NULL,
    manual            BOOLEAN NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL,
    first_attempt_at  INTEGER,
    next_attempt_at   INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at);
-- The backstop of per-subscription order: one event's ordinary delivery exists once.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (webhook_id, sequence) WHERE manual = FALSE;

CREATE TABLE webhook_attempts (
    id                BLOB PRIMARY KEY,
    delivery_id       BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt           INTEGER NOT NULL,
    attempted_at      INTEGER NOT NULL,
    status_code       INTEGER,
    latency_ms        INTEGER NOT NULL,
    response_excerpt  TEXT,
    error             TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
