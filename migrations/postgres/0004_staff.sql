-- Seed 003: staff groups and folders (named collections a staff user is a member of), the memberships,
-- and invitation tokens (only their SHA-256 is stored, like API keys).
CREATE TABLE staff_collections (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id),
    kind          TEXT NOT NULL CHECK (kind IN ('group', 'folder')),
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_staff_collections_name ON staff_collections (workspace_id, kind, lower(name));
CREATE INDEX ix_staff_collections_workspace ON staff_collections (workspace_id, kind, created_at, id);

CREATE TABLE staff_memberships (
    staff_user_id  UUID NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    collection_id  UUID NOT NULL REFERENCES staff_collections (id) ON DELETE CASCADE,
    workspace_id   UUID NOT NULL REFERENCES workspaces (id),
    PRIMARY KEY (staff_user_id, collection_id)
);
CREATE INDEX ix_staff_memberships_collection ON staff_memberships (collection_id);

CREATE TABLE staff_invitations (
    token_hash     BYTEA PRIMARY KEY,
    workspace_id   UUID NOT NULL REFERENCES workspaces (id),
    staff_user_id  UUID NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    accepted_at    BIGINT
);
CREATE INDEX ix_staff_invitations_user ON staff_invitations (staff_user_id);

-- Seed 003 search filters by e-mail and status; name search scans the workspace's staff (a team, not
-- a customer base, so a few thousand rows at most).
CREATE INDEX ix_staff_users_status ON staff_users (workspace_id, status, created_at, id);
CREATE INDEX ix_staff_users_lower_email ON staff_users (lower(email));
