//! How every area's SQL runs, written once against the type alias `Db`.
//!
//! This directory is not a module of `store`: `sqlite.rs` and `postgres.rs` each declare it as their
//! own child module (`#[path = "run/mod.rs"] mod run;`) after defining `Db` (the sqlx database) and
//! `Backend` (their store type, with `read` and `write` pools). So the same text compiles to two
//! statically typed implementations, and anything backend-specific goes through [`Dialect`].

mod channels;
pub(super) mod external_users;
mod participants;
mod staff;
mod tickets;
mod web_sessions;
mod workspaces;

use sqlx::QueryBuilder;
use uuid::Uuid;

pub(super) use super::{Backend, Db};
pub(super) use crate::store::dialect::Dialect;
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

/// How many rows match, up to [`COUNT_CAP`], and whether that is exact. `count` selects the matching
/// rows (`SELECT COUNT(*) FROM (SELECT 1 FROM ... WHERE ...`). A page that came back short already
/// tells the total, so the count query runs only when the list goes on.
async fn capped_total(
    read: &sqlx::Pool<Db>,
    paging: Paging,
    page_len: usize,
    mut count: QueryBuilder<Db>,
) -> StoreResult<(i64, bool)> {
    let page_len = page_len as i64;
    let ends_here = page_len < paging.limit && (page_len > 0 || paging.offset == 0);
    if ends_here && paging.offset + page_len <= COUNT_CAP {
        return Ok((paging.offset + page_len, true));
    }
    count.push(" LIMIT ").push_bind(COUNT_CAP + 1).push(") AS matches");
    let counted: i64 = count.build_query_scalar().fetch_one(read).await?;
    Ok((counted.min(COUNT_CAP), counted <= COUNT_CAP))
}

/// ` AND column IN (ids...)`, or nothing when `ids` is empty.
fn push_in(qb: &mut QueryBuilder<Db>, column: &str, ids: &[Uuid]) {
    if ids.is_empty() {
        return;
    }
    qb.push(" AND ").push(column).push(" IN (");
    let mut list = qb.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    list.push_unseparated(")");
}
