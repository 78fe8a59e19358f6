//! The few places where the backends differ. Everything else in `run/` is the same text for both.

use std::future::Future;

use sqlx::{QueryBuilder, Transaction};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::ExternalUser;

/// What one backend does its own way. Implemented by [`super::SqliteStore`] and
/// [`super::PostgresStore`]; the shared code in `run/` calls nothing else that is backend-specific.
pub(super) trait Dialect {
    type Db: sqlx::Database;

    /// Opens a write transaction (SQLite takes the write lock up front with `BEGIN IMMEDIATE`).
    fn begin_write(&self) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Db>>> + Send;

    /// Writes the `WHERE` of an external-user search: the workspace and the backend's indexed
    /// condition for the term.
    fn push_search(qb: &mut QueryBuilder<Self::Db>, workspace_id: Uuid, term: &str);

    /// Stores a new external user with its super identity (SQLite shares one commit among the creates
    /// waiting for the writer; PostgreSQL commits each on its own, in parallel).
    fn insert_external_user(&self, user: &ExternalUser) -> impl Future<Output = StoreResult<()>> + Send;
}
