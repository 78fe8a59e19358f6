//! Runs the web sessions area's SQL on the backend `Db`.

use async_trait::async_trait;

use super::{Backend, Dialect};
use crate::domain::{StaffUser, Timestamp};
use crate::store::StoreResult;
use crate::store::staff::StaffRow;
use crate::store::web_sessions::*;

#[async_trait]
impl WebSessionStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_web_session(&self, session: &NewWebSession) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(DELETE_EXPIRED_SESSIONS).bind(session.created_at.micros()).execute(&mut *tx).await?;
        sqlx::query(INSERT_WEB_SESSION)
            .bind(session.id)
            .bind(&session.token_hash)
            .bind(session.workspace_id)
            .bind(session.staff_user_id)
            .bind(session.created_at.micros())
            .bind(session.expires_at.micros())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn web_session_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<StaffUser>> {
        let row: Option<StaffRow> =
            sqlx::query_as(WEB_SESSION_USER).bind(token_hash).bind(now.micros()).fetch_optional(&self.read).await?;
        row.map(StaffUser::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_web_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(DELETE_WEB_SESSION).bind(token_hash).execute(&self.write).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn count_sign_in_attempts(
        &self,
        subjects: &[String],
        now: Timestamp,
        since: Timestamp,
    ) -> StoreResult<Vec<i64>> {
        let mut tx = self.begin_write().await?;
        sqlx::query(DELETE_ENDED_SIGN_IN_WINDOWS).bind(since.micros()).execute(&mut *tx).await?;
        let mut counts = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let n: i64 = sqlx::query_scalar(RECORD_SIGN_IN_FAILURE)
                .bind(subject)
                .bind(now.micros())
                .bind(since.micros())
                .fetch_one(&mut *tx)
                .await?;
            counts.push(n);
        }
        tx.commit().await?;
        Ok(counts)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn clear_sign_in_failures(&self, subject: &str) -> StoreResult<()> {
        sqlx::query(CLEAR_SIGN_IN_FAILURES).bind(subject).execute(&self.write).await?;
        Ok(())
    }
}
