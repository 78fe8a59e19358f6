//! How every area's SQL runs, written once against the type alias `Db`.
//!
//! This directory is not a module of `store`: `sqlite.rs` and `postgres.rs` each declare it as their
//! own child module (`#[path = "run/mod.rs"] mod run;`) after defining `Db` (the sqlx database) and
//! `Backend` (their store type, with `read` and `write` pools). So the same text compiles to two
//! statically typed implementations, and anything backend-specific goes through [`Dialect`].

pub(super) mod channels;
pub(super) mod events;
pub(super) mod external_users;
mod idempotency;
pub(super) mod identities;
mod organizations;
pub(super) mod participants;
mod purge;
mod staff;
pub(super) mod ticket_batches;
mod tickets;
pub(super) mod user_batches;
mod web_sessions;
mod webhooks;
mod workspaces;

use sqlx::QueryBuilder;
use uuid::Uuid;

pub(super) use super::{Backend, Db};
pub(super) use crate::store::dialect::{Dialect, Read};
use crate::store::support::{Bound, Statement};
use crate::store::{COUNT_CAP, Entity, Paging, StoreError, StoreResult};

pub(super) type Tx = sqlx::Transaction<'static, Db>;
type Conn = <Db as sqlx::Database>::Connection;

/// Whether `id` names a row of `table` in the workspace.
async fn exists(tx: &mut Tx, table: &'static str, workspace_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1 AND workspace_id = $2");
    let found: Option<i32> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
    Ok(found.is_some())
}

/// Fails with `NotFound(entity)` unless `id` names a row of `table` in the workspace.
async fn require(tx: &mut Tx, table: &'static str, entity: Entity, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
    if exists(tx, table, workspace_id, id).await? { Ok(()) } else { Err(StoreError::NotFound(entity)) }
}

/// `NotFound(entity)` unless a statement changed a row.
fn found_one(rows_affected: u64, entity: Entity) -> StoreResult<()> {
    if rows_affected == 0 { Err(StoreError::NotFound(entity)) } else { Ok(()) }
}

/// Pushes ` LIMIT <limit + 1> OFFSET <offset>`: the extra row tells whether the list goes on.
fn push_page(qb: &mut impl Push, paging: Paging) {
    qb.sql(" LIMIT ");
    qb.bind(paging.limit + 1);
    qb.sql(" OFFSET ");
    qb.bind(paging.offset);
}

/// Cuts the row read past the limit by [`push_page`] and says whether there was one.
fn split_page<T>(rows: &mut Vec<T>, paging: Paging) -> bool {
    let more = rows.len() as i64 > paging.limit;
    rows.truncate(paging.limit.max(0) as usize);
    more
}

/// How many rows match and whether that is exact (see [`crate::store::Page::total`]). `count` selects the matching
/// rows (`SELECT COUNT(*) FROM (SELECT 1 FROM ... WHERE ...`) and stops at [`COUNT_CAP`]. A page with
/// nothing after it already tells the total, so the count runs only when the list goes on (or the
/// page is empty past the start, where nothing is known).
async fn capped_total(
    read: &sqlx::Pool<Db>,
    paging: Paging,
    page_len: usize,
    more: bool,
    mut count: QueryBuilder<Db>,
) -> StoreResult<(i64, bool)> {
    let page_len = page_len as i64;
    if !more && (page_len > 0 || paging.offset == 0) {
        return Ok((paging.offset + page_len, true));
    }
    count.push(" LIMIT ").push_bind(COUNT_CAP + 1).push(") AS matches");
    let counted: i64 = count.build_query_scalar().fetch_one(read).await?;
    if counted <= COUNT_CAP {
        return Ok((counted, true));
    }
    // Past the cap the page itself still proves a lower bound: everything up to it, and one more.
    Ok((COUNT_CAP.max(paging.offset + page_len + i64::from(more)), false))
}

/// ` AND column IN (values...)`, or nothing when `values` is empty.
fn push_in<T: Value>(qb: &mut impl Push, column: &str, values: &[T]) {
    if values.is_empty() {
        return;
    }
    qb.sql(" AND ");
    push_column_in(qb, column, values);
}

/// `column IN (values...)`; `values` must not be empty.
fn push_column_in<T: Value>(qb: &mut impl Push, column: &str, values: &[T]) {
    qb.sql(column);
    qb.sql(" IN (");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            qb.sql(", ");
        }
        qb.bind(value.clone());
    }
    qb.sql(")");
}

/// What the shared filters are written into: sqlx's builder, or a [`Statement`] that keeps its
/// values for a direct connection as well.
pub(super) trait Push {
    fn sql(&mut self, sql: &str);
    fn bind<T: Value>(&mut self, value: T);
}

/// A value either kind of [`Push`] binds.
pub(super) trait Value: Into<Bound> + Clone + for<'t> sqlx::Encode<'t, Db> + sqlx::Type<Db> {}

impl<T: Into<Bound> + Clone + for<'t> sqlx::Encode<'t, Db> + sqlx::Type<Db>> Value for T {}

impl Push for QueryBuilder<Db> {
    fn sql(&mut self, sql: &str) {
        self.push(sql);
    }

    fn bind<T: Value>(&mut self, value: T) {
        self.push_bind(value);
    }
}

impl Push for Statement<Db> {
    fn sql(&mut self, sql: &str) {
        self.push(sql);
    }

    fn bind<T: Value>(&mut self, value: T) {
        self.push_bind(value);
    }
}

/// Pushes `id IN (ids) AND <workspace> = workspace_id`: rows read by their primary keys. Without
/// statistics SQLite's planner takes an equality on any indexed column for about ten rows, so past
/// ten ids it walked the workspace's whole index instead of looking the keys up (a ticket page naming
/// 26 people took 3.6 s at 1M external users); [`Dialect::KEYED_WORKSPACE`] keeps it on the key.
pub(super) fn push_keys(qb: &mut impl Push, workspace_id: Uuid, ids: &[Uuid]) {
    qb.sql("id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            qb.sql(", ");
        }
        qb.bind(*id);
    }
    qb.sql(") AND ");
    qb.sql(Backend::KEYED_WORKSPACE);
    qb.sql(" = ");
    qb.bind(workspace_id);
}

/// [`Dialect::rows`] through the sqlx read pool.
pub(in crate::store) async fn pooled_rows<R: Read<Db>>(
    read: impl sqlx::Executor<'_, Database = Db>,
    mut list: Statement<Db>,
) -> StoreResult<Vec<R>> {
    Ok(list.qb.build_query_as().fetch_all(read).await?)
}

/// The row `get` (a query on `$1` id and `$2` workspace) reads, held until the commit.
async fn locked<R, T>(tx: &mut Tx, get: &str, workspace_id: Uuid, id: Uuid, entity: Entity) -> StoreResult<T>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    T: TryFrom<R, Error = StoreError>,
{
    let sql = format!("{get}{}", Backend::LOCK_ROW);
    let row: Option<R> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
    row.ok_or(StoreError::NotFound(entity))?.try_into()
}
