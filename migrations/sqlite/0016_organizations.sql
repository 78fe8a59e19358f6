-- Jira Service Management names an organization (an external user group) by a small integer, unique
-- per workspace and never reused: `number` comes from the workspace's counter, as ticket numbers do.
ALTER TABLE external_user_groups ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
UPDATE external_user_groups SET number = (
    SELECT COUNT(*) FROM external_user_groups g
    WHERE g.workspace_id = external_user_groups.workspace_id
      AND (g.created_at < external_user_groups.created_at
           OR (g.created_at = external_user_groups.created_at AND g.id <= external_user_groups.id))
);
CREATE UNIQUE INDEX ux_external_user_groups_number ON external_user_groups (workspace_id, number);

CREATE TABLE group_counters (
    workspace_id  BLOB PRIMARY KEY REFERENCES workspaces (id),
    n             INTEGER NOT NULL
);
INSERT INTO group_counters (workspace_id, n)
    SELECT workspace_id, MAX(number) FROM external_user_groups GROUP BY workspace_id;

-- A request's comments in timeline order, public or internal (JSM's comment list filters by both).
CREATE INDEX ix_ticket_activities_comments ON ticket_activities (ticket_id, created_at, id) WHERE type = 'comment';
