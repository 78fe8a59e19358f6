-- Jira Service Management names a request's comment by a number. Each comment holds its place among
-- its ticket's comments (1, 2, ...), handed out in the comment's own transaction; the JSM comment id is
-- derived from it and the ticket's number. Other activities hold none.
ALTER TABLE ticket_activities ADD COLUMN comment_number INTEGER;
UPDATE ticket_activities SET comment_number = (
    SELECT COUNT(*) FROM ticket_activities c
    WHERE c.ticket_id = ticket_activities.ticket_id AND c.type = 'comment'
      AND (c.created_at < ticket_activities.created_at
           OR (c.created_at = ticket_activities.created_at AND c.id <= ticket_activities.id))
) WHERE type = 'comment';
CREATE UNIQUE INDEX ux_ticket_activities_comment_number ON ticket_activities (ticket_id, comment_number)
    WHERE comment_number IS NOT NULL;
