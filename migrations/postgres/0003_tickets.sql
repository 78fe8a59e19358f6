-- Seed 002 (support tickets) and seed 000 (ticket external users) over one ticket model.

-- Places inside a workspace that a ticket refers to (seed 002's `locationRef`).
CREATE TABLE locations (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX ix_locations_workspace ON locations (workspace_id, created_at, id);

-- The last ticket number handed out per workspace; bumped inside each ticket's own transaction.
CREATE TABLE ticket_counters (
    workspace_id  UUID PRIMARY KEY REFERENCES workspaces (id),
    n             BIGINT NOT NULL
);

-- The requester is a staff member or an external user of the workspace: exactly one of the two.
CREATE TABLE tickets (
    id                          UUID PRIMARY KEY,
    workspace_id                UUID NOT NULL REFERENCES workspaces (id),
    number                      BIGINT NOT NULL,
    location_id                 UUID NOT NULL REFERENCES locations (id),
    text                        TEXT NOT NULL,
    type                        TEXT,
    status                      TEXT NOT NULL CHECK (status IN ('new', 'open', 'pending', 'resolved', 'closed')),
    requester_staff_id          UUID REFERENCES staff_users (id),
    requester_external_user_id  UUID REFERENCES external_users (id),
    assignee_id                 UUID REFERENCES staff_users (id),
    version                     BIGINT NOT NULL,
    created_by                  UUID NOT NULL,
    created_at                  BIGINT NOT NULL,
    updated_at                  BIGINT NOT NULL,
    status_updated_at           BIGINT NOT NULL,
    CHECK ((requester_staff_id IS NULL) <> (requester_external_user_id IS NULL))
);
-- Numbers never repeat within a workspace; the list pages through this index.
CREATE UNIQUE INDEX ux_tickets_number ON tickets (workspace_id, number);
CREATE INDEX ix_tickets_status ON tickets (workspace_id, status, number);
CREATE INDEX ix_tickets_location ON tickets (location_id, number);
CREATE INDEX ix_tickets_assignee ON tickets (assignee_id, number) WHERE assignee_id IS NOT NULL;
CREATE INDEX ix_tickets_requester_staff ON tickets (requester_staff_id, number) WHERE requester_staff_id IS NOT NULL;
CREATE INDEX ix_tickets_requester_user ON tickets (requester_external_user_id, number)
    WHERE requester_external_user_id IS NOT NULL;

-- The ticket's timeline, append-only: rows are inserted with the change they record and never updated.
CREATE TABLE ticket_activities (
    id                     UUID PRIMARY KEY,
    workspace_id           UUID NOT NULL REFERENCES workspaces (id),
    ticket_id              UUID NOT NULL REFERENCES tickets (id),
    type                   TEXT NOT NULL,
    actor_staff_id         UUID REFERENCES staff_users (id),
    actor_external_user_id UUID REFERENCES external_users (id),
    created_by             UUID NOT NULL,
    text                   TEXT,
    internal               BOOLEAN NOT NULL DEFAULT FALSE,
    attachments            TEXT NOT NULL,
    status                 TEXT,
    assignee_id            UUID REFERENCES staff_users (id),
    previous_status        TEXT,
    previous_assignee_id   UUID REFERENCES staff_users (id),
    created_at             BIGINT NOT NULL
);
CREATE INDEX ix_ticket_activities_ticket ON ticket_activities (ticket_id, created_at, id);

-- Seed 000: people outside the team given access to one ticket. Each is an external user.
CREATE TABLE ticket_participants (
    id                UUID PRIMARY KEY,
    workspace_id      UUID NOT NULL REFERENCES workspaces (id),
    ticket_id         UUID NOT NULL REFERENCES tickets (id),
    external_user_id  UUID NOT NULL REFERENCES external_users (id),
    created_at        BIGINT NOT NULL,
    created_by        UUID NOT NULL,
    updated_at        BIGINT NOT NULL,
    updated_by        UUID NOT NULL
);
CREATE UNIQUE INDEX ux_ticket_participants_user ON ticket_participants (ticket_id, external_user_id);
CREATE INDEX ix_ticket_participants_external_user ON ticket_participants (external_user_id, ticket_id);
