//! Storage of the settings page: staff users' sign-in sessions and the sign-in attempt counters that
//! throttle password guessing. Both live in the database so that any app node can serve any request.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{StaffUser, Timestamp};

/// A session to record; the cookie's secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub workspace_id: Uuid,
    pub staff_user_id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait WebSessionStore: Send + Sync {
    /// Records a session, removing expired ones on the way so the table does not grow without bound.
    async fn insert_web_session(&self, session: &NewWebSession) -> StoreResult<()>;
    /// The staff user of an unexpired session, provided the user is still `Active`: disabling a user
    /// ends its sessions at their next request.
    async fn web_session_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<StaffUser>>;
    async fn delete_web_session(&self, token_hash: &[u8]) -> StoreResult<()>;

    /// Counts one more sign-in attempt for each subject, starting a new window at `now` where the
    /// stored one began before `since`, and returns each subject's count in its current window. One
    /// transaction of upserts, so concurrent attempts on any node are each counted before any of them
    /// checks a password; windows that ended are deleted on the way, so the table holds only the
    /// current window's subjects.
    async fn count_sign_in_attempts(
        &self,
        subjects: &[String],
        now: Timestamp,
        since: Timestamp,
    ) -> StoreResult<Vec<i64>>;
    async fn clear_sign_in_failures(&self, subject: &str) -> StoreResult<()>;
}

pub(super) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM web_sessions WHERE expires_at <= $1";
pub(super) const INSERT_WEB_SESSION: &str = "INSERT INTO web_sessions (id, token_hash, workspace_id, staff_user_id, \
     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const WEB_SESSION_USER: &str = "SELECT u.id, u.workspace_id, u.email, u.first_name, u.last_name, \
     u.external_id, u.role, u.status, u.phone_number, u.created_at, u.updated_at, u.role_named_user \
     FROM web_sessions s JOIN staff_users u ON u.id = s.staff_user_id AND u.workspace_id = s.workspace_id \
     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.status = 'active'";
pub(super) const DELETE_WEB_SESSION: &str = "DELETE FROM web_sessions WHERE token_hash = $1";
pub(super) const DELETE_ENDED_SIGN_IN_WINDOWS: &str = "DELETE FROM sign_in_failures WHERE window_start < $1";
pub(super) const RECORD_SIGN_IN_FAILURE: &str = "INSERT INTO sign_in_failures (subject, failures, window_start) \
     VALUES ($1, 1, $2) ON CONFLICT (subject) DO UPDATE SET \
     failures = CASE WHEN sign_in_failures.window_start < $3 THEN 1 ELSE sign_in_failures.failures + 1 END, \
     window_start = CASE WHEN sign_in_failures.window_start < $3 THEN $2 ELSE sign_in_failures.window_start END \
     RETURNING CAST(failures AS BIGINT)";
pub(super) const CLEAR_SIGN_IN_FAILURES: &str = "DELETE FROM sign_in_failures WHERE subject = $1";
