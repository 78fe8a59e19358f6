-- The users API's clients may call a non-admin member `User` (the forms platform's word) or `Agent`;
-- both are the agent role. Remembering which word was written lets a client read back what it wrote.
ALTER TABLE staff_users ADD COLUMN role_named_user BOOLEAN NOT NULL DEFAULT FALSE;
