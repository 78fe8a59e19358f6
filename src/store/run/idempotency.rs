//! Runs the idempotency keys area's SQL on the backend `Db`.

use async_trait::async_trait;

use super::{Backend, Dialect};
use crate::domain::Timestamp;
use crate::store::idempotency::*;
use crate::store::{StoreError, StoreResult};

type KeyRow = (Vec<u8>, Option<i32>, Option<String>, Option<Vec<u8>>);

#[async_trait]
impl IdempotencyStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_idempotency_key(
        &self,
        key_hash: &[u8],
        body_hash: &[u8],
        now: Timestamp,
        expired_before: Timestamp,
        abandoned_before: Timestamp,
    ) -> StoreResult<KeyClaim> {
        let mut tx = self.begin_write().await?;
        sqlx::query(PURGE_KEYS).bind(expired_before.micros()).execute(&mut *tx).await?;
        sqlx::query(DELETE_ABANDONED_KEY).bind(key_hash).bind(abandoned_before.micros()).execute(&mut *tx).await?;
        // On PostgreSQL a concurrent insert of the same key waits here for the other transaction, then
        // does nothing: the primary key decides which request runs, whichever node it is on.
        let inserted = sqlx::query(INSERT_PENDING_KEY)
            .bind(key_hash)
            .bind(body_hash)
            .bind(now.micros())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let claim = if inserted == 1 {
            KeyClaim::Claimed
        } else {
            let (body_hash, status, content_type, body): KeyRow =
                sqlx::query_as(SELECT_KEY).bind(key_hash).fetch_one(&mut *tx).await?;
            match status {
                None => KeyClaim::Pending { body_hash },
                Some(status) => {
                    let status = u16::try_from(status)
                        .map_err(|_| StoreError::Other(format!("idempotency key status {status}")))?;
                    let answer = StoredAnswer { status, content_type, body: body.unwrap_or_default() };
                    KeyClaim::Answered { body_hash, answer }
                }
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn complete_idempotency_key(&self, key_hash: &[u8], answer: &StoredAnswer) -> StoreResult<()> {
        sqlx::query(COMPLETE_KEY)
            .bind(key_hash)
            .bind(i32::from(answer.status))
            .bind(answer.content_type.as_deref())
            .bind(&answer.body)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn release_idempotency_key(&self, key_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(RELEASE_KEY).bind(key_hash).execute(&self.write).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn purge_idempotency_keys(&self, expired_before: Timestamp) -> StoreResult<u64> {
        let removed = sqlx::query(PURGE_KEYS).bind(expired_before.micros()).execute(&self.write).await?;
        Ok(removed.rows_affected())
    }
}
