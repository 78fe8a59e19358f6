-- Search over external users (name, identifier, external id) by substring, case-insensitively, without
-- scanning: a trigram GIN index over the searched text. The extension lives in `public` so that every
-- schema of the database (tests use one each) shares it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE INDEX ix_external_users_search ON external_users USING gin (
    (lower(coalesce(name, '') || ' ' || coalesce(identifier, '') || ' ' || coalesce(external_id, '')))
    public.gin_trgm_ops
);

-- First start of an empty database creates one workspace, even when several nodes start at once.
CREATE TABLE bootstrap (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    workspace_id  UUID NOT NULL REFERENCES workspaces (id),
    created_at    BIGINT NOT NULL
);
