-- Jira Service Management names an organization (an external user group) by a small integer, unique
-- per workspace and never reused: `number` comes from the workspace's counter, as ticket numbers do.
ALTER TABLE external_user_groups ADD COLUMN number BIGINT NOT NULL DEFAULT 0;
UPDATE external_user_groups SET number = r.n
    FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id ORDER BY created_at, id) AS n
          FROM external_user_groups) r
    WHERE r.id = external_user_groups.id;
CREATE UNIQUE INDEX ux_external_user_groups_number ON external_user_groups (workspace_id, number);

CREATE TABLE group_counters (
    workspace_id  UUID PRIMARY KEY REFERENCES workspaces (id),
    n             BIGINT NOT NULL
);
INSERT INTO group_counters (workspace_id, n)
    SELECT workspace_id, MAX(number) FROM external_user_groups GROUP BY workspace_id;

-- A request's comments in timeline order, public or internal (JSM's comment list filters by both).
CREATE INDEX ix_ticket_activities_comments ON ticket_activities (ticket_id, created_at, id) WHERE type = 'comment';
