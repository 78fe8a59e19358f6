//! The few places where the backends differ. Everything else in `run/` is the same text for both.

use std::future::Future;

use sqlx::Transaction;
use uuid::Uuid;

use super::StoreResult;
use super::channels::ChannelRow;
use super::external_users::{AccessTokenRow, ExternalUserRow, ImportBatchOutcome, ImportWrite};
use super::participants::NewParticipant;
use super::sqlite_direct::DirectRow;
use super::support::Statement;
use crate::domain::{Actor, TicketParticipant};

/// A row type either way of reading decodes: sqlx's, by column name, and a direct SQLite
/// connection's, by position in its `SELECT`.
pub(super) trait Read<DB: sqlx::Database>:
    DirectRow + for<'r> sqlx::FromRow<'r, DB::Row> + Send + Unpin + 'static
{
}

impl<DB: sqlx::Database, R: DirectRow + for<'r> sqlx::FromRow<'r, DB::Row> + Send + Unpin + 'static> Read<DB> for R {}

/// What one backend does its own way. Implemented by [`super::SqliteStore`] and
/// [`super::PostgresStore`]; the shared code in `run/` calls nothing else that is backend-specific.
pub(super) trait Dialect {
    type Db: sqlx::Database;

    /// Appended to a `SELECT` of a row about to change, to hold it until the commit (PostgreSQL's
    /// `FOR UPDATE`; SQLite's write transaction already excludes every other writer).
    const LOCK_ROW: &'static str;

    /// Appended to a `SELECT` of queue rows (aliased `d`) to claim: PostgreSQL's
    /// `FOR UPDATE OF d SKIP LOCKED`, so nodes claiming at once pass each other by; SQLite has one
    /// writer at a time anyway.
    const SKIP_LOCKED: &'static str;

    /// The workspace column as a read of rows by their ids compares it: SQLite's `+workspace_id`,
    /// which no index serves (see `push_keys`); PostgreSQL's plain column, as its planner has
    /// statistics.
    const KEYED_WORKSPACE: &'static str;

    /// Rows an import writes per transaction (see `ExternalUserStore::import_batch_rows`).
    const IMPORT_BATCH_ROWS: usize;

    /// The statement that opens a write transaction: SQLite's `BEGIN IMMEDIATE` takes the write lock
    /// up front, so a transaction never fails to upgrade a read lock halfway.
    const BEGIN_WRITE: &'static str;

    /// Opens a write transaction with [`Self::BEGIN_WRITE`].
    fn begin_write(&self) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Db>>> + Send;

    /// Writes the `WHERE` of a page of an external-user search (after `FROM external_users`, in the
    /// list's order): the workspace and the backend's condition for the term.
    fn push_search(&self, st: &mut Statement<Self::Db>, workspace_id: Uuid, term: &str);

    /// Starts the capped count of an external-user search: `SELECT COUNT(*) FROM (SELECT 1 FROM`
    /// the backend's way into the matching users `WHERE` the workspace and the term, to be followed
    /// by the list's other filters (see `capped_total` in `run/`). A count needs no order, so it may
    /// start from the search index where a page starts from the list's.
    fn search_count(&self, workspace_id: Uuid, term: &str) -> Statement<Self::Db>;

    /// Before a search: refreshes what the backend keeps to plan searches (PostgreSQL's sample of
    /// trigram frequencies) when it is missing or old.
    fn prepare_search(&self) -> impl Future<Output = ()> + Send;

    /// The workspace's live external user `id`, by `GET_EXTERNAL_USER`. SQLite reads it on the
    /// calling task, without sqlx's hand-off to a connection thread (`sqlite_direct.rs`): a read by
    /// key is the most frequent request and costs less than that round trip.
    fn external_user_row(
        &self,
        workspace_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = StoreResult<Option<ExternalUserRow>>> + Send;

    /// The workspace's channel `id`, by `GET_CHANNEL`: every create of an external user reads it
    /// (its type decides the identifier's rule), on the calling task on SQLite as
    /// [`Dialect::external_user_row`].
    fn channel_row(&self, workspace_id: Uuid, id: Uuid)
    -> impl Future<Output = StoreResult<Option<ChannelRow>>> + Send;

    /// The rows a statement answers: on SQLite on the calling task as [`Dialect::external_user_row`],
    /// for the next most frequent reads after one by key, each as short with its indexes: a page
    /// of a list or a search, a ticket with its timeline and the people it names.
    fn rows<R: Read<Self::Db>>(&self, list: Statement<Self::Db>) -> impl Future<Output = StoreResult<Vec<R>>> + Send;

    /// The access token with this hash and its user, by `ACCESS_TOKEN` (every request an external
    /// user signs: read on the calling task on SQLite, as [`Dialect::external_user_row`]).
    fn access_token_row(&self, token_hash: &[u8]) -> impl Future<Output = StoreResult<Option<AccessTokenRow>>> + Send;

    /// Writes one import batch in one transaction (`ExternalUserStore::import_external_users`).
    /// SQLite runs it on the calling thread, by rusqlite on a connection of its own, while it holds
    /// the one sqlx writer (`sqlite_write.rs`): a batch binds tens of thousands of values, and sqlx's
    /// cost per value and per statement hand-off is a tenth of the import's CPU.
    fn import_batch(
        &self,
        workspace_id: Uuid,
        writes: &[ImportWrite],
        actor: Actor,
    ) -> impl Future<Output = StoreResult<ImportBatchOutcome>> + Send;

    /// Adds a participant to a ticket (`ParticipantStore::add_participant`), creating its external
    /// user when named by an e-mail no one on the built-in channel has: on SQLite on the direct
    /// writer (`sqlite_write.rs`), as its dozen statements through sqlx each crossed to the writer's
    /// thread and back, one request after another.
    fn add_participant(&self, new: &NewParticipant<'_>) -> impl Future<Output = StoreResult<TicketParticipant>> + Send;

    /// Inside an erasure's transaction: drops what the backend's own structures still hold of the
    /// erased text (SQLite's full-text index keeps deleted entries until its segments are merged).
    fn after_erasure_in(tx: &mut Transaction<'static, Self::Db>) -> impl Future<Output = StoreResult<()>> + Send;

    /// After an erasure's commit: makes sure no earlier copy of the erased rows is left in a log
    /// (SQLite's write-ahead log keeps old page images until a checkpoint resets it).
    fn after_erasure(&self) -> impl Future<Output = StoreResult<()>> + Send;
}
