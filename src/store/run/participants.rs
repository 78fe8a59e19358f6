//! Runs the participants area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::record;
use super::external_users::{insert_super_identity, insert_user_row, record_user_created};
use super::identities::matching_identity;
use super::tickets::insert_activity;
use super::{Backend, Conn, Db, Dialect, Tx, require};
use crate::domain::event::{EventType, participant_event};
use crate::domain::{ActivityKind, Actor, ExternalUser, TicketActivity, TicketParticipant, Timestamp};
use crate::store::channels::BUILTIN_CHANNEL_ID;
use crate::store::external_users::{ExternalUserRow, USER_BY_IDENTIFIER};
use crate::store::participants::*;
use crate::store::{
    Entity, Page, Paging, ParticipantCursor, ParticipantKey, ParticipantPage, RequestRef, StoreError, StoreResult,
};

#[async_trait]
impl ParticipantStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_participant(&self, new: &NewParticipant<'_>) -> StoreResult<TicketParticipant> {
        Dialect::add_participant(self, new).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_participants(&self, workspace_id: Uuid, ticket_id: Uuid) -> StoreResult<Vec<TicketParticipant>> {
        self.require_ticket(workspace_id, ticket_id).await?;
        let sql =
            format!("{PARTICIPANT_SELECT} WHERE p.workspace_id = $1 AND p.ticket_id = $2 ORDER BY p.created_at, p.id");
        let rows: Vec<ParticipantRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workspace_id).bind(ticket_id).fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(TicketParticipant::from).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn participants_page(
        &self,
        workspace_id: Uuid,
        ticket_id: Uuid,
        after: Option<ParticipantCursor>,
        limit: i64,
    ) -> StoreResult<ParticipantPage> {
        let mut qb = QueryBuilder::<Db>::new(PARTICIPANT_SELECT);
        qb.push(" WHERE p.workspace_id = ").push_bind(workspace_id).push(" AND p.ticket_id = ").push_bind(ticket_id);
        if let Some(a) = after {
            qb.push(" AND (p.created_at > ").push_bind(a.created_at);
            qb.push(" OR (p.created_at = ").push_bind(a.created_at).push(" AND p.id > ").push_bind(a.id).push("))");
        }
        // One extra row tells whether more participants follow.
        qb.push(" ORDER BY p.created_at, p.id LIMIT ").push_bind(limit.max(0) + 1);
        let rows: Vec<ParticipantRow> = qb.build_query_as().fetch_all(&self.read).await?;
        let mut participants: Vec<TicketParticipant> = rows.into_iter().map(TicketParticipant::from).collect();
        let more = participants.len() as i64 > limit;
        participants.truncate(limit.max(0) as usize);
        if participants.is_empty() {
            self.require_ticket(workspace_id, ticket_id).await?;
        }
        Ok(ParticipantPage { participants, more })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn remove_participant(
        &self,
        workspace_id: Uuid,
        ticket_id: Uuid,
        key: ParticipantKey<'_>,
        actor: Actor,
    ) -> StoreResult<TicketParticipant> {
        let mut tx = self.begin_write().await?;
        require(&mut tx, "tickets", Entity::Ticket, workspace_id, ticket_id).await?;
        let condition = match key {
            ParticipantKey::Id(_) => "p.id = $3",
            ParticipantKey::ExternalUser(_) => "p.external_user_id = $3",
            ParticipantKey::Email(_) => "lower(u.identifier) = lower($3)",
        };
        let sql = format!("{PARTICIPANT_SELECT} WHERE p.workspace_id = $1 AND p.ticket_id = $2 AND {condition}");
        let query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workspace_id).bind(ticket_id);
        let query = match key {
            ParticipantKey::Id(id) | ParticipantKey::ExternalUser(id) => query.bind(id),
            ParticipantKey::Email(email) => query.bind(email.to_owned()),
        };
        let row: Option<ParticipantRow> = query.fetch_optional(&mut *tx).await?;
        let found: TicketParticipant = row.ok_or(StoreError::NotFound(Entity::TicketParticipant))?.into();
        sqlx::query(DELETE_PARTICIPANT).bind(found.id).execute(&mut *tx).await?;
        timeline(&mut tx, ActivityKind::ParticipantRemoved, &found, actor, Timestamp::now()).await?;
        record(&mut tx, workspace_id, &[participant_event(EventType::TicketParticipantRemoved, actor, &found)]).await?;
        tx.commit().await?;
        Ok(found)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn request_participants(
        &self,
        workspace_id: Uuid,
        request: RequestRef,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUser>> {
        // One read transaction, so the count and the page agree.
        let mut tx = self.read.begin().await?;
        let ticket = ticket_id(&mut tx, workspace_id, request).await?;
        let found = page(&mut tx, workspace_id, ticket, paging).await?;
        tx.commit().await?;
        Ok(found)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome> {
        let ws = change.workspace_id;
        let mut tx = self.begin_write().await?;
        let ticket = ticket_id(&mut tx, ws, change.request).await?;
        let unknown = unknown(&mut tx, ws, change.users, true).await?;
        if !unknown.is_empty() {
            return Ok(ParticipantsOutcome::Unknown(unknown));
        }
        // A body's accounts join in its order: each one a microsecond after the one before.
        let mut added = Vec::new();
        for (n, (user, id)) in (0_i64..).zip(change.users.iter().zip(change.new_ids)) {
            let done = sqlx::query(INSERT_PARTICIPANT_IF_NEW)
                .bind(*id)
                .bind(ws)
                .bind(ticket)
                .bind(*user)
                .bind(change.at.micros() + n)
                .bind(change.by)
                .execute(&mut *tx)
                .await?;
            // One already participating stays as it is, and nothing fires for it.
            if done.rows_affected() > 0 {
                added.push(*id);
            }
        }
        let mut events = Vec::with_capacity(added.len());
        for id in added {
            let p = participant_by_id(&mut tx, id).await?;
            timeline(&mut tx, ActivityKind::ParticipantAdded, &p, change.actor, p.created_at).await?;
            events.push(participant_event(EventType::TicketParticipantAdded, change.actor, &p));
        }
        record(&mut tx, ws, &events).await?;
        let found = page(&mut tx, ws, ticket, change.paging).await?;
        tx.commit().await?;
        Ok(ParticipantsOutcome::Done(found))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn remove_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome> {
        let ws = change.workspace_id;
        let mut tx = self.begin_write().await?;
        let ticket = ticket_id(&mut tx, ws, change.request).await?;
        let unknown = unknown(&mut tx, ws, change.users, false).await?;
        if !unknown.is_empty() {
            return Ok(ParticipantsOutcome::Unknown(unknown));
        }
        let mut events = Vec::new();
        for user in change.users {
            let sql = format!(
                "{PARTICIPANT_SELECT} WHERE p.workspace_id = $1 AND p.ticket_id = $2 AND p.external_user_id = $3"
            );
            let row: Option<ParticipantRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ws)
                .bind(ticket)
                .bind(*user)
                .fetch_optional(&mut *tx)
                .await?;
            // One not participating is left alone, and nothing fires for it.
            let Some(row) = row else { continue };
            sqlx::query(DELETE_USER_PARTICIPANT).bind(ws).bind(ticket).bind(*user).execute(&mut *tx).await?;
            let removed: TicketParticipant = row.into();
            timeline(&mut tx, ActivityKind::ParticipantRemoved, &removed, change.actor, change.at).await?;
            events.push(participant_event(EventType::TicketParticipantRemoved, change.actor, &removed));
        }
        record(&mut tx, ws, &events).await?;
        let found = page(&mut tx, ws, ticket, change.paging).await?;
        tx.commit().await?;
        Ok(ParticipantsOutcome::Done(found))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn unknown_customers(&self, workspace_id: Uuid, users: &[Uuid]) -> StoreResult<Vec<Uuid>> {
        let mut conn = self.read.acquire().await?;
        unknown(&mut conn, workspace_id, users, true).await
    }
}

/// The workspace's e-mail channel member with this address, created when there is none.
async fn email_user(tx: &mut Tx, new: &NewParticipant<'_>, email: &str) -> StoreResult<Uuid> {
    let channel: Option<Uuid> =
        sqlx::query_scalar(BUILTIN_CHANNEL_ID).bind(new.workspace_id).fetch_optional(&mut **tx).await?;
    let channel = channel.ok_or(StoreError::NotFound(Entity::Channel))?;
    let found: Option<Uuid> =
        sqlx::query_scalar(USER_BY_IDENTIFIER).bind(channel).bind(email).fetch_optional(&mut **tx).await?;
    if let Some(id) = found {
        return Ok(id);
    }
    let user = new.new_customer(channel, email);
    let joined = match matching_identity(tx, &user).await? {
        Some(found) => found,
        None => {
            insert_super_identity(tx, &user).await?;
            user.super_identity_id
        }
    };
    insert_user_row(tx, &user, joined).await?;
    let mut created = user.clone();
    created.super_identity_id = joined;
    // A participant by e-mail joins the built-in e-mail channel: a new customer.
    record_user_created(tx, &created, new.actor, true).await?;
    Ok(user.id)
}

/// [`Dialect::add_participant`] through the sqlx writer: in one transaction, the ticket checked, the
/// external user found or created (by e-mail, on the built-in channel), the participant, its
/// activity and its events written.
pub(in crate::store) async fn pooled_add_participant(
    store: &Backend,
    new: &NewParticipant<'_>,
) -> StoreResult<TicketParticipant> {
    let ws = new.workspace_id;
    let mut tx = store.begin_write().await?;
    require(&mut tx, "tickets", Entity::Ticket, ws, new.ticket_id).await?;
    let user = match new.key {
        ParticipantKey::ExternalUser(id) => {
            require(&mut tx, "external_users", Entity::ExternalUser, ws, id).await?;
            id
        }
        ParticipantKey::Email(email) => email_user(&mut tx, new, email).await?,
        ParticipantKey::Id(_) => return Err(StoreError::Other("a new participant has no id yet".into())),
    };
    sqlx::query(INSERT_PARTICIPANT)
        .bind(new.id)
        .bind(ws)
        .bind(new.ticket_id)
        .bind(user)
        .bind(new.at.micros())
        .bind(new.by)
        .execute(&mut *tx)
        .await?;
    let row: ParticipantRow = sqlx::query_as(PARTICIPANT_BY_ID).bind(new.id).fetch_one(&mut *tx).await?;
    let added: TicketParticipant = row.into();
    timeline(&mut tx, ActivityKind::ParticipantAdded, &added, new.actor, added.created_at).await?;
    record(&mut tx, ws, &[participant_event(EventType::TicketParticipantAdded, new.actor, &added)]).await?;
    tx.commit().await?;
    Ok(added)
}

impl Backend {
    /// `NotFound(Ticket)` unless the workspace has the ticket (read outside any transaction).
    async fn require_ticket(&self, workspace_id: Uuid, ticket_id: Uuid) -> StoreResult<()> {
        let ticket: Option<i32> = sqlx::query_scalar("SELECT 1 FROM tickets WHERE id = $1 AND workspace_id = $2")
            .bind(ticket_id)
            .bind(workspace_id)
            .fetch_optional(&self.read)
            .await?;
        ticket.map(|_| ()).ok_or(StoreError::NotFound(Entity::Ticket))
    }
}

/// The ticket's timeline entry for a participant added or removed, in the change's transaction.
async fn timeline(
    tx: &mut Tx,
    kind: ActivityKind,
    p: &TicketParticipant,
    actor: Actor,
    at: Timestamp,
) -> StoreResult<()> {
    insert_activity(tx, &TicketActivity::participant_change(kind, p, actor, at)).await
}

async fn participant_by_id(tx: &mut Tx, id: Uuid) -> StoreResult<TicketParticipant> {
    let row: ParticipantRow = sqlx::query_as(PARTICIPANT_BY_ID).bind(id).fetch_one(&mut **tx).await?;
    Ok(row.into())
}

/// The ticket's id, when the workspace has it.
async fn ticket_id(exec: &mut Conn, workspace_id: Uuid, request: RequestRef) -> StoreResult<Uuid> {
    let found: Option<Uuid> = match request {
        RequestRef::Id(id) => {
            sqlx::query_scalar(TICKET_ID_BY_ID).bind(workspace_id).bind(id).fetch_optional(&mut *exec).await?
        }
        RequestRef::Number(n) => {
            sqlx::query_scalar(TICKET_ID_BY_NUMBER).bind(workspace_id).bind(n).fetch_optional(&mut *exec).await?
        }
    };
    found.ok_or(StoreError::NotFound(Entity::Ticket))
}

async fn page(exec: &mut Conn, workspace_id: Uuid, ticket: Uuid, paging: Paging) -> StoreResult<Page<ExternalUser>> {
    let total: i64 =
        sqlx::query_scalar(COUNT_PARTICIPANTS).bind(workspace_id).bind(ticket).fetch_one(&mut *exec).await?;
    let rows: Vec<ExternalUserRow> = sqlx::query_as(PARTICIPANT_USERS)
        .bind(workspace_id)
        .bind(ticket)
        .bind(paging.limit)
        .bind(paging.offset)
        .fetch_all(&mut *exec)
        .await?;
    let items = rows.into_iter().map(ExternalUser::try_from).collect::<StoreResult<Vec<_>>>()?;
    // Counted exactly: a ticket's participants are few, and the count and page share one snapshot.
    let more = paging.offset + (items.len() as i64) < total;
    Ok(Page { items, total, total_is_exact: true, more })
}

/// Which of `users` are not external users of the workspace (of its e-mail channel when
/// `customers_only`).
async fn unknown(tx: &mut Conn, workspace_id: Uuid, users: &[Uuid], customers_only: bool) -> StoreResult<Vec<Uuid>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Db>::new("SELECT u.id FROM external_users u");
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
