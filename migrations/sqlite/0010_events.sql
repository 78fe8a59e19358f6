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
