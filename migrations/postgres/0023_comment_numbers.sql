-- Jira Service Management names a request's comment by a number. Each comment holds its place among
-- its ticket's comments (1, 2, ...), handed out in the comment's own transaction; the JSM comment id is
-- derived from it and the ticket's number. Other activities hold none.
ALTER TABLE ticket_activities ADD COLUMN comment_number BIGINT;
UPDATE ticket_activities SET comment_number = r.n
    FROM (SELECT id, row_number() OVER (PARTITION BY ticket_id ORDER BY created_at, id) AS n
          FROM ticket_activities WHERE type = 'comment') r
    WHERE r.id = ticket_activities.id;
CREATE UNIQUE INDEX ux_ticket_activities_comment_number ON ticket_activities (ticket_id, comment_number)
    WHERE comment_number IS NOT NULL;
