-- A ticket's timeline says who added or removed a participant, and when: the participant activity
-- names the external user it is about. An erased person's row stays (scrubbed), so the entry then
-- shows a deleted person.
ALTER TABLE ticket_activities ADD COLUMN participant_user_id UUID REFERENCES external_users (id);
