//! Expired rows: access tokens, web sessions, sign-in attempt windows and idempotency keys, deleted
//! by the background purge a bounded batch at a time.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::Timestamp;

/// What has expired: rows at or before each time.
#[derive(Debug, Clone, Copy)]
pub struct PurgeCutoffs {
    /// Access tokens and web sessions whose `expires_at` is not after this.
    pub now: Timestamp,
    /// Sign-in attempt rows whose window started before this.
    pub sign_in_windows_before: Timestamp,
    /// Idempotency keys created before this.
    pub idempotency_keys_before: Timestamp,
}

/// How many rows one purge deleted, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub access_tokens: u64,
    pub web_sessions: u64,
    pub sign_in_attempts: u64,
    pub idempotency_keys: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.access_tokens + self.web_sessions + self.sign_in_attempts + self.idempotency_keys
    }
}

#[async_trait]
pub trait PurgeStore: Send + Sync {
    /// Deletes at most `batch` expired rows of each table, in one short transaction.
    async fn purge_expired(&self, cutoffs: PurgeCutoffs, batch: i64) -> StoreResult<Purged>;
}

pub(super) const PURGE_ACCESS_TOKENS: &str = "DELETE FROM access_tokens WHERE token_hash IN \
     (SELECT token_hash FROM access_tokens WHERE expires_at <= $1 LIMIT $2)";
pub(super) const PURGE_WEB_SESSIONS: &str =
    "DELETE FROM web_sessions WHERE id IN (SELECT id FROM web_sessions WHERE expires_at <= $1 LIMIT $2)";
pub(super) const PURGE_SIGN_IN_ATTEMPTS: &str = "DELETE FROM sign_in_failures WHERE subject IN \
     (SELECT subject FROM sign_in_failures WHERE window_start < $1 LIMIT $2)";
pub(super) const PURGE_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_keys WHERE key_hash IN \
     (SELECT key_hash FROM idempotency_keys WHERE created_at < $1 LIMIT $2)";
