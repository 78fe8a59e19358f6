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
