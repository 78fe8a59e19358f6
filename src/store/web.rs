//! Storage of the settings page: staff users' sign-in sessions and the failed sign-in counters that
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
pub trait WebStore: Send + Sync {
    /// Records a session, removing expired ones on the way so the table does not grow without bound.
    async fn insert_web_session(&self, session: &NewWebSession) -> StoreResult<()>;
    /// The staff user of an unexpired session, provided the user is still `Active`: disabling a user
    /// ends its sessions at their next request.
    async fn web_session_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<StaffUser>>;
    async fn delete_web_session(&self, token_hash: &[u8]) -> StoreResult<()>;

    /// Failed attempts for `subject` in the window that started at or after `since`.
    async fn sign_in_failures(&self, subject: &str, since: Timestamp) -> StoreResult<i64>;
    /// Counts one more failure, starting a new window at `now` when the stored one began before `since`;
    /// returns the count in the current window. One statement, so concurrent nodes never lose a count.
    async fn record_sign_in_failure(&self, subject: &str, now: Timestamp, since: Timestamp) -> StoreResult<i64>;
    async fn clear_sign_in_failures(&self, subject: &str) -> StoreResult<()>;
}

/// Implements [`WebStore`] for `$store` (with `read`/`write` pools of database `$db`); `$begin` opens a
/// write transaction on `$s`, as for `impl_store!`.
macro_rules! impl_web_store {
    ($store:ty, $db:ty, |$s:ident| $begin:expr) => {
        const _: () = {
            use async_trait::async_trait;

            use crate::domain::{StaffUser, Timestamp};
            use crate::store::{rows::StaffRow, sql::STAFF_COLUMNS};
            use crate::store::web::{NewWebSession, WebStore};
            use crate::store::StoreResult;

            #[async_trait]
            impl WebStore for $store {
                #[tracing::instrument(skip_all)]
                async fn insert_web_session(&self, session: &NewWebSession) -> StoreResult<()> {
                    let $s = self;
                    let mut tx: sqlx::Transaction<'static, $db> = $begin.await?;
                    sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
                        .bind(session.created_at.micros())
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO web_sessions (id, token_hash, workspace_id, staff_user_id, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
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

                #[tracing::instrument(skip_all)]
                async fn web_session_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<StaffUser>> {
                    let columns = STAFF_COLUMNS.split(", ").map(|c| format!("u.{}", c.trim())).collect::<Vec<_>>().join(", ");
                    let sql = format!(
                        "SELECT {columns} FROM web_sessions s JOIN staff_users u \
                         ON u.id = s.staff_user_id AND u.workspace_id = s.workspace_id \
                         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.status = 'active'"
                    );
                    let row: Option<StaffRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(token_hash)
                        .bind(now.micros())
                        .fetch_optional(&self.read)
                        .await?;
                    row.map(StaffUser::try_from).transpose()
                }

                #[tracing::instrument(skip_all)]
                async fn delete_web_session(&self, token_hash: &[u8]) -> StoreResult<()> {
                    sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
                        .bind(token_hash)
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                #[tracing::instrument(skip_all)]
                async fn sign_in_failures(&self, subject: &str, since: Timestamp) -> StoreResult<i64> {
                    let n: Option<i64> = sqlx::query_scalar(
                        "SELECT CAST(failures AS BIGINT) FROM sign_in_failures WHERE subject = $1 AND window_start >= $2",
                    )
                    .bind(subject)
                    .bind(since.micros())
                    .fetch_optional(&self.read)
                    .await?;
                    Ok(n.unwrap_or(0))
                }

                #[tracing::instrument(skip_all)]
                async fn record_sign_in_failure(&self, subject: &str, now: Timestamp, since: Timestamp) -> StoreResult<i64> {
                    let n: i64 = sqlx::query_scalar(
                        "INSERT INTO sign_in_failures (subject, failures, window_start) VALUES ($1, 1, $2) \
                         ON CONFLICT (subject) DO UPDATE SET \
                           failures = CASE WHEN sign_in_failures.window_start < $3 THEN 1 ELSE sign_in_failures.failures + 1 END, \
                           window_start = CASE WHEN sign_in_failures.window_start < $3 THEN $2 ELSE sign_in_failures.window_start END \
                         RETURNING CAST(failures AS BIGINT)",
                    )
                    .bind(subject)
                    .bind(now.micros())
                    .bind(since.micros())
                    .fetch_one(&self.write)
                    .await?;
                    Ok(n)
                }

                #[tracing::instrument(skip_all)]
                async fn clear_sign_in_failures(&self, subject: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM sign_in_failures WHERE subject = $1").bind(subject).execute(&self.write).await?;
                    Ok(())
                }
            }
        };
    };
}

pub(super) use impl_web_store;
