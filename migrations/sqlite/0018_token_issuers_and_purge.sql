-- An access token remembers the API key that issued it, so revoking the key deletes its tokens; a
-- blocked user's tokens are deleted when it is blocked (those of users blocked before now go here).
-- The expiry indexes let the background purge delete expired rows in small batches.
ALTER TABLE access_tokens ADD COLUMN issued_by_key_id BLOB;
CREATE INDEX ix_access_tokens_issued_by ON access_tokens (issued_by_key_id);
CREATE INDEX ix_access_tokens_expires_at ON access_tokens (expires_at);
DELETE FROM access_tokens WHERE external_user_id IN (SELECT id FROM external_users WHERE blocked);
-- The displayed plaintext prefix of a key is at most 8 characters (`fdk_` and 4 random ones), so it
-- never gives away much of a short key.
UPDATE api_keys SET prefix = substr(prefix, 1, 8) WHERE length(prefix) > 8;
