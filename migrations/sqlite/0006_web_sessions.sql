-- Signed-in staff users of the settings page. Only the SHA-256 of the cookie's secret is kept, so a
-- copy of the database cannot be used to take over a session.
CREATE TABLE web_sessions (
    id             BLOB PRIMARY KEY,
    token_hash     BLOB NOT NULL,
    workspace_id   BLOB NOT NULL REFERENCES workspaces (id),
    staff_user_id  BLOB NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_web_sessions_token_hash ON web_sessions (token_hash);
CREATE INDEX ix_web_sessions_staff_user ON web_sessions (staff_user_id);
CREATE INDEX ix_web_sessions_expires_at ON web_sessions (expires_at);

-- Failed sign-in attempts per subject (a lower-cased e-mail address) in the current window, shared by
-- every app node through the database.
CREATE TABLE sign_in_failures (
    subject        TEXT NOT NULL,
    failures       INTEGER NOT NULL,
    window_start   INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_sign_in_failures_subject ON sign_in_failures (subject);
