-- Search over external users (name, identifier, external id) by substring, case-insensitively, without
-- scanning: a trigram full-text index that keeps no copy of the text (external content), kept in step
-- with the table by triggers in the same transaction, so a search always reads its own writes.
CREATE VIRTUAL TABLE external_user_search USING fts5(
    name, identifier, external_id,
    content = 'external_users', content_rowid = 'seq', tokenize = 'trigram', detail = 'full'
);

CREATE TRIGGER external_users_search_insert AFTER INSERT ON external_users BEGIN
    INSERT INTO external_user_search (rowid, name, identifier, external_id)
    VALUES (new.seq, new.name, new.identifier, new.external_id);
END;

CREATE TRIGGER external_users_search_delete AFTER DELETE ON external_users BEGIN
    INSERT INTO external_user_search (external_user_search, rowid, name, identifier, external_id)
    VALUES ('delete', old.seq, old.name, old.identifier, old.external_id);
END;

CREATE TRIGGER external_users_search_update AFTER UPDATE OF name, identifier, external_id ON external_users BEGIN
    INSERT INTO external_user_search (external_user_search, rowid, name, identifier, external_id)
    VALUES ('delete', old.seq, old.name, old.identifier, old.external_id);
    INSERT INTO external_user_search (rowid, name, identifier, external_id)
    VALUES (new.seq, new.name, new.identifier, new.external_id);
END;

-- First start of an empty database creates one workspace, even when several nodes start at once.
CREATE TABLE bootstrap (
    singleton     INTEGER PRIMARY KEY CHECK (singleton = 1),
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id),
    created_at    INTEGER NOT NULL
);
