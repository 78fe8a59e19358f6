-- Ids are 16-byte BLOBs (UUIDs), times are INTEGER microseconds since the Unix epoch (UTC).
CREATE TABLE workspaces (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    prefix        TEXT NOT NULL,
    secret_hash   BLOB NOT NULL,
    created_by    BLOB,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE UNIQUE INDEX ux_api_keys_secret_hash ON api_keys (secret_hash);
CREATE INDEX ix_api_keys_workspace ON api_keys (workspace_id, created_at, id);

CREATE TABLE channels (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    type          TEXT NOT NULL,
    builtin       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX ix_channels_workspace ON channels (workspace_id, created_at, id);
-- Exactly one built-in e-mail channel per workspace.
CREATE UNIQUE INDEX ux_channels_builtin ON channels (workspace_id) WHERE builtin;

CREATE TABLE tiers (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    description   TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX ix_tiers_workspace ON tiers (workspace_id, created_at, id);

CREATE TABLE external_user_groups (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id),
    external_id   TEXT NOT NULL,
    name          TEXT NOT NULL,
    tier_id       BLOB REFERENCES tiers (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_external_user_groups_external_id ON external_user_groups (workspace_id, external_id);
CREATE INDEX ix_external_user_groups_workspace ON external_user_groups (workspace_id, created_at, id);
CREATE INDEX ix_external_user_groups_tier ON external_user_groups (tier_id);

CREATE TABLE super_identities (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id),
    created_at    INTEGER NOT NULL
);

-- `seq` is the rowid: rows are appended in creation order (a cheap insert at any size) and the
-- full-text index (migration 5) refers to rows by it. The UUID is the public id.
CREATE TABLE external_users (
    seq               INTEGER PRIMARY KEY,
    id                BLOB NOT NULL UNIQUE,
    workspace_id      BLOB NOT NULL REFERENCES workspaces (id),
    channel_id        BLOB NOT NULL REFERENCES channels (id),
    -- Deferred to the commit: a batch of creates writes each user before its identity.
    super_identity_id BLOB NOT NULL REFERENCES super_identities (id) DEFERRABLE INITIALLY DEFERRED,
    external_id       TEXT,
    identifier        TEXT,
    name              TEXT,
    tier_id           BLOB REFERENCES tiers (id) ON DELETE SET NULL,
    group_id          BLOB REFERENCES external_user_groups (id) ON DELETE SET NULL,
    blocked           BOOLEAN NOT NULL DEFAULT FALSE,
    time_zone         TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- Seed 001: externalId and identifier are unique per channel when present; identifiers compare
-- without regard to case (an e-mail address or a username is the same person in any case).
CREATE UNIQUE INDEX ux_external_users_external_id ON external_users (channel_id, external_id);
CREATE UNIQUE INDEX ux_external_users_identifier ON external_users (channel_id, lower(identifier));
-- One index per list filter, each led by the workspace (so the planner sees two equalities and picks
-- it over the workspace-wide index) and ending in the list's order, so a page is a range scan.
CREATE INDEX ix_external_users_workspace ON external_users (workspace_id, created_at, id);
CREATE INDEX ix_external_users_channel ON external_users (workspace_id, channel_id, created_at, id);
CREATE INDEX ix_external_users_tier ON external_users (workspace_id, tier_id, created_at, id) WHERE tier_id IS NOT NULL;
CREATE INDEX ix_external_users_group ON external_users (workspace_id, group_id, created_at, id) WHERE group_id IS NOT NULL;
CREATE INDEX ix_external_users_super_identity ON external_users (super_identity_id);

CREATE TABLE access_tokens (
    token_hash        BLOB PRIMARY KEY,
    workspace_id      BLOB NOT NULL REFERENCES workspaces (id),
    external_user_id  BLOB NOT NULL REFERENCES external_users (id),
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL
);
CREATE INDEX ix_access_tokens_user ON access_tokens (external_user_id);
