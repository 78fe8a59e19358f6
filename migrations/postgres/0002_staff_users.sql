-- Members of a workspace's team (seed 003 users; seed 002 assignees). E-mail unique per workspace.
CREATE TABLE staff_users (
    id             UUID PRIMARY KEY,
    workspace_id   UUID NOT NULL REFERENCES workspaces (id),
    email          TEXT NOT NULL,
    first_name     TEXT,
    last_name      TEXT,
    external_id    TEXT,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    status         TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    phone_number   TEXT,
    password_hash  TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_staff_users_email ON staff_users (workspace_id, lower(email));
CREATE UNIQUE INDEX ux_staff_users_external_id ON staff_users (workspace_id, external_id);
CREATE INDEX ix_staff_users_workspace ON staff_users (workspace_id, created_at, id);
