//! Storage of idempotency keys: the first answer to a POST made with one, kept for a while so that a
//! retry is answered from here. Shared by every app node through the database.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::Timestamp;

/// An answer kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key was free (or expired): this request runs, and must complete or release it.
    Claimed,
    /// A request with this key is still running.
    Pending { body_hash: Vec<u8> },
    /// A request with this key was answered.
    Answered { body_hash: Vec<u8>, answer: StoredAnswer },
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// In one transaction: removes every key created before `expired_before` and a pending `key_hash`
    /// created before `abandoned_before` (its request died with its node), then records `key_hash` as
    /// pending unless it is there already, in which case it says what is there.
    async fn claim_idempotency_key(
        &self,
        key_hash: &[u8],
        body_hash: &[u8],
        now: Timestamp,
        expired_before: Timestamp,
        abandoned_before: Timestamp,
    ) -> StoreResult<KeyClaim>;
    /// Keeps the answer of the request that claimed `key_hash`.
    async fn complete_idempotency_key(&self, key_hash: &[u8], answer: &StoredAnswer) -> StoreResult<()>;
    /// Frees a pending key whose answer is not kept, so a retry runs anew.
    async fn release_idempotency_key(&self, key_hash: &[u8]) -> StoreResult<()>;
    /// Removes every key created before `expired_before`; the number removed.
    async fn purge_idempotency_keys(&self, expired_before: Timestamp) -> StoreResult<u64>;
}

pub(super) const PURGE_KEYS: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";
pub(super) const DELETE_ABANDONED_KEY: &str =
    "DELETE FROM idempotency_keys WHERE key_hash = $1 AND status IS NULL AND created_at < $2";
pub(super) const INSERT_PENDING_KEY: &str = "INSERT INTO idempotency_keys (key_hash, body_hash, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (key_hash) DO NOTHING";
pub(super) const SELECT_KEY: &str =
    "SELECT body_hash, status, content_type, body FROM idempotency_keys WHERE key_hash = $1";
pub(super) const COMPLETE_KEY: &str = "UPDATE idempotency_keys SET status = $2, content_type = $3, body = $4 \
     WHERE key_hash = $1 AND status IS NULL";
pub(super) const RELEASE_KEY: &str = "DELETE FROM idempotency_keys WHERE key_hash = $1 AND status IS NULL";
