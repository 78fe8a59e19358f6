-- Seed 002: a type change is an activity like the others, holding the type after it and before it
-- (`previousAttributes`).
ALTER TABLE ticket_activities ADD COLUMN ticket_type TEXT;
ALTER TABLE ticket_activities ADD COLUMN previous_ticket_type TEXT;

-- The list may be sorted by update date (either way); ties go by number, as the page token does.
CREATE INDEX ix_tickets_updated ON tickets (workspace_id, updated_at, number);
