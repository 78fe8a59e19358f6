//! Runs the purge's SQL on the backend `Db`.

use async_trait::async_trait;

use super::{Backend, Dialect, Tx};
use crate::store::StoreResult;
use crate::store::purge::*;

async fn purge(tx: &mut Tx, sql: &'static str, before: i64, batch: i64) -> StoreResult<u64> {
    Ok(sqlx::query(sql).bind(before).bind(batch).execute(&mut **tx).await?.rows_affected())
}

#[async_trait]
impl PurgeStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn purge_expired(&self, c: PurgeCutoffs, batch: i64) -> StoreResult<Purged> {
        let mut tx = self.begin_write().await?;
        let now = c.now.micros();
        let purged = Purged {
            access_tokens: purge(&mut tx, PURGE_ACCESS_TOKENS, now, batch).await?,
            web_sessions: purge(&mut tx, PURGE_WEB_SESSIONS, now, batch).await?,
            sign_in_attempts: purge(&mut tx, PURGE_SIGN_IN_ATTEMPTS, c.sign_in_windows_before.micros(), batch).await?,
            idempotency_keys: purge(&mut tx, PURGE_IDEMPOTENCY_KEYS, c.idempotency_keys_before.micros(), batch).await?,
        };
        tx.commit().await?;
        Ok(purged)
    }
}
