-- A ticket's participants are read a page at a time, oldest first (the agent console): the page is a
-- walk of this index from its cursor, however many participants the ticket has, instead of a sort of
-- all of them.
CREATE INDEX ix_ticket_participants_order ON ticket_participants (ticket_id, created_at, id);
