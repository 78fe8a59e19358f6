//! Storage of the service desk contract's request participants (seed 004): the same
//! `ticket_participants` rows as seed 000's ticket external users, read and written as pages of
//! external users, several at a time, and idempotently.

use async_trait::async_trait;
use uuid::Uuid;

use super::{Page, Paging, StoreResult};
use crate::domain::{ExternalUser, Timestamp, Workspace};

/// How a request (a ticket) is named: by its id or by its number in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestRef {
    Id(Uuid),
    Number(i64),
}

/// Participants to add to or remove from a request, and the page of participants to answer with.
#[derive(Debug, Clone)]
pub struct ParticipantsChange<'a> {
    pub workspace_id: Uuid,
    pub request: RequestRef,
    /// External user ids, without repeats.
    pub users: &'a [Uuid],
    /// Ids for new participant rows, one per entry of `users` (unused when removing).
    pub new_ids: &'a [Uuid],
    pub at: Timestamp,
    pub by: Uuid,
    pub paging: Paging,
}

/// What a change did: the participants afterwards, or nothing because some users are unknown.
#[derive(Debug, Clone)]
pub enum ParticipantsOutcome {
    Done(Page<ExternalUser>),
    /// These entries of `users` name no user the change may use (nothing was changed).
    Unknown(Vec<Uuid>),
}

#[async_trait]
pub trait RequestParticipantStore: Send + Sync {
    /// A page of the request's participants, oldest first.
    async fn request_participants(
        &self,
        workspace_id: Uuid,
        request: RequestRef,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUser>>;
    /// Adds the customers (external users of the built-in e-mail channel) not yet participating; ones
    /// already participating stay as they are.
    async fn add_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome>;
    /// Removes those of the workspace's external users that participate; others are left alone.
    async fn remove_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome>;
    /// The workspace, shown as its one service desk.
    async fn service_desk(&self, workspace_id: Uuid) -> StoreResult<Workspace>;
    /// Which of `users` are no customers (external users of the built-in e-mail channel) of the workspace.
    async fn unknown_customers(&self, workspace_id: Uuid, users: &[Uuid]) -> StoreResult<Vec<Uuid>>;
}

/// Implements [`RequestParticipantStore`] for `$store` (database `$db`); `$begin` opens a write
/// transaction on `self`. Expands to a private module so its helpers stay apart.
macro_rules! impl_request_participant_store {
    ($store:ident, $db:ident, |$s:ident| $begin:expr) => {
        mod request_participant_store {
            use super::{$db, $store};

            use async_trait::async_trait;
            use sqlx::QueryBuilder;
            use uuid::Uuid;

            use crate::domain::{ExternalUser, Timestamp, Workspace};
            use crate::store::request_participants::{
                ParticipantsChange, ParticipantsOutcome, RequestParticipantStore, RequestRef,
            };
            use crate::store::rows::ExternalUserRow;
            use crate::store::sql::EXTERNAL_USER_COLUMNS;
            use crate::store::{Entity, Page, Paging, StoreError, StoreResult};

            /// The ticket's id, when the workspace has it.
            async fn ticket_id(exec: &mut Conn, workspace_id: Uuid, request: RequestRef) -> StoreResult<Uuid> {
                let found: Option<Uuid> = match request {
                    RequestRef::Id(id) => {
                        sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND id = $2")
                            .bind(workspace_id)
                            .bind(id)
                            .fetch_optional(&mut *exec)
                            .await?
                    }
                    RequestRef::Number(n) => {
                        sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND number = $2")
                            .bind(workspace_id)
                            .bind(n)
                            .fetch_optional(&mut *exec)
                            .await?
                    }
                };
                found.ok_or(StoreError::NotFound(Entity::Ticket))
            }

            async fn page(exec: &mut Conn, workspace_id: Uuid, ticket: Uuid, paging: Paging) -> StoreResult<Page<ExternalUser>> {
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM ticket_participants WHERE workspace_id = $1 AND ticket_id = $2",
                )
                .bind(workspace_id)
                .bind(ticket)
                .fetch_one(&mut *exec)
                .await?;
                let columns = EXTERNAL_USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "SELECT {columns} FROM ticket_participants p JOIN external_users u ON u.id = p.external_user_id \
                     WHERE p.workspace_id = $1 AND p.ticket_id = $2 ORDER BY p.created_at, p.id LIMIT $3 OFFSET $4"
                );
                let rows: Vec<ExternalUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(workspace_id)
                    .bind(ticket)
                    .bind(paging.limit)
                    .bind(paging.offset)
                    .fetch_all(&mut *exec)
                    .await?;
                let items = rows.into_iter().map(ExternalUser::try_from).collect::<StoreResult<Vec<_>>>()?;
                Ok(Page { items, total, total_is_exact: true })
            }

            /// Which of `users` are not external users of the workspace (of its e-mail channel when
            /// `customers_only`).
            async fn unknown(tx: &mut Conn, workspace_id: Uuid, users: &[Uuid], customers_only: bool) -> StoreResult<Vec<Uuid>> {
                if users.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new("SELECT u.id FROM external_users u");
                if customers_only {
                    qb.push(" JOIN channels c ON c.id = u.channel_id AND c.builtin");
                }
                qb.push(" WHERE u.workspace_id = ").push_bind(workspace_id).push(" AND u.id IN (");
                let mut list = qb.separated(", ");
                for id in users {
                    list.push_bind(*id);
                }
                list.push_unseparated(")");
                let found: Vec<Uuid> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                Ok(users.iter().copied().filter(|id| !found.contains(id)).collect())
            }

            type Tx = sqlx::Transaction<'static, $db>;
            type Conn = <$db as sqlx::Database>::Connection;

            #[async_trait]
            impl RequestParticipantStore for $store {
                #[tracing::instrument(skip_all)]
                async fn request_participants(
                    &self,
                    workspace_id: Uuid,
                    request: RequestRef,
                    paging: Paging,
                ) -> StoreResult<Page<ExternalUser>> {
                    // One read transaction, so the count and the page agree.
                    let mut tx = self.read.begin().await?;
                    let ticket = ticket_id(&mut *tx, workspace_id, request).await?;
                    let found = page(&mut *tx, workspace_id, ticket, paging).await?;
                    tx.commit().await?;
                    Ok(found)
                }

                #[tracing::instrument(skip_all)]
                async fn add_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome> {
                    let ws = change.workspace_id;
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    let ticket = ticket_id(&mut *tx, ws, change.request).await?;
                    let unknown = unknown(&mut *tx, ws, change.users, true).await?;
                    if !unknown.is_empty() {
                        return Ok(ParticipantsOutcome::Unknown(unknown));
                    }
                    // A body's accounts join in its order: each one a microsecond after the one before.
                    for (n, (user, id)) in (0_i64..).zip(change.users.iter().zip(change.new_ids)) {
                        sqlx::query(
                            "INSERT INTO ticket_participants (id, workspace_id, ticket_id, external_user_id, created_at, \
                             created_by, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $5, $6) \
                             ON CONFLICT (ticket_id, external_user_id) DO NOTHING",
                        )
                        .bind(*id)
                        .bind(ws)
                        .bind(ticket)
                        .bind(*user)
                        .bind(change.at.micros() + n)
                        .bind(change.by)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let found = page(&mut *tx, ws, ticket, change.paging).await?;
                    tx.commit().await?;
                    Ok(ParticipantsOutcome::Done(found))
                }

                #[tracing::instrument(skip_all)]
                async fn remove_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome> {
                    let ws = change.workspace_id;
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    let ticket = ticket_id(&mut *tx, ws, change.request).await?;
                    let unknown = unknown(&mut *tx, ws, change.users, false).await?;
                    if !unknown.is_empty() {
                        return Ok(ParticipantsOutcome::Unknown(unknown));
                    }
                    for user in change.users {
                        sqlx::query(
                            "DELETE FROM ticket_participants WHERE workspace_id = $1 AND ticket_id = $2 AND external_user_id = $3",
                        )
                        .bind(ws)
                        .bind(ticket)
                        .bind(*user)
                        .execute(&mut *tx)
                        .await?;
                    }
                    let found = page(&mut *tx, ws, ticket, change.paging).await?;
                    tx.commit().await?;
                    Ok(ParticipantsOutcome::Done(found))
                }

                #[tracing::instrument(skip_all)]
                async fn service_desk(&self, workspace_id: Uuid) -> StoreResult<Workspace> {
                    let row: Option<(Uuid, String, i64)> =
                        sqlx::query_as("SELECT id, name, created_at FROM workspaces WHERE id = $1")
                            .bind(workspace_id)
                            .fetch_optional(&self.read)
                            .await?;
                    let (id, name, created_at) = row.ok_or(StoreError::NotFound(Entity::Workspace))?;
                    Ok(Workspace { id, name, created_at: Timestamp::from_micros(created_at) })
                }

                #[tracing::instrument(skip_all)]
                async fn unknown_customers(&self, workspace_id: Uuid, users: &[Uuid]) -> StoreResult<Vec<Uuid>> {
                    let mut conn = self.read.acquire().await?;
                    unknown(&mut *conn, workspace_id, users, true).await
                }
            }
        }
    };
}

pub(super) use impl_request_participant_store;
