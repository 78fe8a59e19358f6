//! Storage of locations, tickets, their activities and participants.
//!
//! Like [`super::sql`], the SQL is written once in the subset both databases run and turned into an
//! implementation per backend by [`impl_ticket_store!`].

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::rows::corrupt;
use super::{StoreError, StoreResult};
use crate::domain::{
    ActivityKind, Attachment, Location, MemberRef, Membership, Ticket, TicketActivity, TicketParticipant, TicketStatus,
    Timestamp,
};

/// Who is looking at tickets: the team sees every ticket of the workspace, an external user only the
/// tickets it requested or participates in, and never internal comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Team,
    ExternalUser(Uuid),
}

/// List filters; within one filter any of the values matches, across filters all must.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<TicketStatus>,
    pub assignee_ids: Vec<Uuid>,
    pub requester_ids: Vec<Uuid>,
    pub location_ids: Vec<Uuid>,
}

/// Which date a list is sorted by; ties (and the creation date itself) go by ticket number, which is
/// handed out in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSortKey {
    Created,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketOrder {
    pub key: TicketSortKey,
    pub descending: bool,
}

/// Where a page ended: the last ticket's sort value (its `updated_at` microseconds when sorting by
/// update; unused when sorting by creation) and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketCursor {
    pub value: i64,
    pub number: i64,
}

/// A ticket to open. The store resolves `requester_id` to a staff or external membership and hands
/// out the number, all in the ticket's own transaction.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub location_id: Uuid,
    pub text: String,
    pub kind: Option<String>,
    pub requester_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: Timestamp,
    pub activity_id: Uuid,
}

/// A change of a ticket decided on `expected_version`, and the activity recording it.
#[derive(Debug, Clone)]
pub struct TicketUpdate {
    /// The ticket as it is after the change (its `version` already bumped).
    pub ticket: Ticket,
    pub expected_version: i64,
    pub activity: TicketActivity,
}

/// A ticket (or a change of it) with the activities asked for and every membership they name.
#[derive(Debug, Clone)]
pub struct TicketDetail {
    pub ticket: Ticket,
    pub activities: Vec<TicketActivity>,
    pub members: Vec<Membership>,
}

#[derive(Debug, Clone)]
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub members: Vec<Membership>,
    /// Whether tickets follow the last one returned.
    pub more: bool,
}

/// How a participant is named: by its own id, its external user's id, or an e-mail address (matched
/// case-insensitively against the identifiers of the workspace's built-in e-mail channel).
#[derive(Debug, Clone, Copy)]
pub enum ParticipantKey<'a> {
    Id(Uuid),
    ExternalUser(Uuid),
    Email(&'a str),
}

/// A participant to add. When `key` is an e-mail address nobody on the e-mail channel has, a new
/// external user is created there with `new_user_id` and `new_super_identity_id`.
#[derive(Debug, Clone)]
pub struct NewParticipant<'a> {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub ticket_id: Uuid,
    pub key: ParticipantKey<'a>,
    pub new_user_id: Uuid,
    pub new_super_identity_id: Uuid,
    pub at: Timestamp,
    pub by: Uuid,
}

#[async_trait]
pub trait TicketStore: Send + Sync {
    async fn insert_location(&self, location: &Location) -> StoreResult<()>;
    async fn list_locations(&self, workspace_id: Uuid) -> StoreResult<Vec<Location>>;
    async fn get_location(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Location>;
    async fn update_location(&self, location: &Location) -> StoreResult<()>;
    /// Refuses (`InUse`) while tickets refer to the location.
    async fn delete_location(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()>;

    /// The staff and external users of the workspace with these ids (unknown ids are left out).
    async fn memberships(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Membership>>;

    async fn create_ticket(&self, new: &NewTicket) -> StoreResult<TicketDetail>;
    /// The ticket if `viewer` may see it, else `NotFound`.
    async fn get_ticket(&self, workspace_id: Uuid, id: Uuid, viewer: Viewer) -> StoreResult<Ticket>;
    /// The ticket with its activities, oldest first, as `viewer` may see them.
    async fn ticket_detail(&self, workspace_id: Uuid, id: Uuid, viewer: Viewer) -> StoreResult<TicketDetail>;
    /// Up to `limit` tickets in `order`, after the position `after` when given.
    async fn list_tickets(
        &self,
        workspace_id: Uuid,
        viewer: Viewer,
        filter: &TicketFilter,
        order: TicketOrder,
        after: Option<TicketCursor>,
        limit: i64,
    ) -> StoreResult<TicketPage>;
    /// Applies the change with its activity, or returns `None` (and changes nothing) when the ticket
    /// is no longer at `expected_version`.
    async fn update_ticket(&self, update: &TicketUpdate) -> StoreResult<Option<TicketDetail>>;

    async fn add_participant(&self, new: &NewParticipant<'_>) -> StoreResult<TicketParticipant>;
    async fn list_participants(&self, workspace_id: Uuid, ticket_id: Uuid) -> StoreResult<Vec<TicketParticipant>>;
    async fn remove_participant(
        &self,
        workspace_id: Uuid,
        ticket_id: Uuid,
        key: ParticipantKey<'_>,
    ) -> StoreResult<TicketParticipant>;
}

pub(super) const LOCATION_COLUMNS: &str = "id, workspace_id, name, created_at, updated_at";
pub(super) const TICKET_COLUMNS: &str = "id, workspace_id, number, location_id, text, type, status, \
     requester_staff_id, requester_external_user_id, assignee_id, version, created_by, created_at, updated_at, \
     status_updated_at";
pub(super) const ACTIVITY_COLUMNS: &str = "id, workspace_id, ticket_id, type, actor_staff_id, \
     actor_external_user_id, created_by, text, internal, attachments, status, assignee_id, previous_status, \
     previous_assignee_id, ticket_type, previous_ticket_type, created_at";
pub(super) const PARTICIPANT_SELECT: &str = "SELECT p.id, p.workspace_id, p.ticket_id, p.external_user_id, \
     u.identifier AS email, p.created_at, p.created_by, p.updated_at, p.updated_by \
     FROM ticket_participants p JOIN external_users u ON u.id = p.external_user_id";

fn status(s: &str) -> Result<TicketStatus, StoreError> {
    TicketStatus::from_stored(s).ok_or_else(|| corrupt("ticket status", s))
}

pub(super) fn attachments_json(a: &[Attachment]) -> StoreResult<String> {
    serde_json::to_string(a).map_err(|e| StoreError::Other(e.to_string()))
}

#[derive(FromRow)]
pub(super) struct LocationRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    created_at: i64,
    updated_at: i64,
}

impl From<LocationRow> for Location {
    fn from(r: LocationRow) -> Self {
        Location {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        }
    }
}

#[derive(FromRow)]
pub(super) struct TicketRow {
    id: Uuid,
    workspace_id: Uuid,
    number: i64,
    location_id: Uuid,
    text: String,
    #[sqlx(rename = "type")]
    kind: Option<String>,
    status: String,
    requester_staff_id: Option<Uuid>,
    requester_external_user_id: Option<Uuid>,
    assignee_id: Option<Uuid>,
    version: i64,
    created_by: Uuid,
    created_at: i64,
    updated_at: i64,
    status_updated_at: i64,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = StoreError;
    fn try_from(r: TicketRow) -> Result<Self, StoreError> {
        Ok(Ticket {
            status: status(&r.status)?,
            requester: MemberRef::from_columns(r.requester_staff_id, r.requester_external_user_id)
                .ok_or_else(|| corrupt("ticket requester", "none"))?,
            id: r.id,
            workspace_id: r.workspace_id,
            number: r.number,
            location_id: r.location_id,
            text: r.text,
            kind: r.kind,
            assignee_id: r.assignee_id,
            version: r.version,
            created_by: r.created_by,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
            status_updated_at: Timestamp::from_micros(r.status_updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct ActivityRow {
    id: Uuid,
    workspace_id: Uuid,
    ticket_id: Uuid,
    #[sqlx(rename = "type")]
    kind: String,
    actor_staff_id: Option<Uuid>,
    actor_external_user_id: Option<Uuid>,
    created_by: Uuid,
    text: Option<String>,
    internal: bool,
    attachments: String,
    status: Option<String>,
    assignee_id: Option<Uuid>,
    previous_status: Option<String>,
    previous_assignee_id: Option<Uuid>,
    ticket_type: Option<String>,
    previous_ticket_type: Option<String>,
    created_at: i64,
}

impl TryFrom<ActivityRow> for TicketActivity {
    type Error = StoreError;
    fn try_from(r: ActivityRow) -> Result<Self, StoreError> {
        Ok(TicketActivity {
            kind: ActivityKind::parse(&r.kind).ok_or_else(|| corrupt("activity type", &r.kind))?,
            actor: MemberRef::from_columns(r.actor_staff_id, r.actor_external_user_id),
            attachments: serde_json::from_str(&r.attachments).map_err(|_| corrupt("attachments", &r.attachments))?,
            status: r.status.as_deref().map(status).transpose()?,
            previous_status: r.previous_status.as_deref().map(status).transpose()?,
            id: r.id,
            workspace_id: r.workspace_id,
            ticket_id: r.ticket_id,
            created_by: r.created_by,
            text: r.text,
            internal: r.internal,
            assignee_id: r.assignee_id,
            previous_assignee_id: r.previous_assignee_id,
            ticket_type: r.ticket_type,
            previous_ticket_type: r.previous_ticket_type,
            created_at: Timestamp::from_micros(r.created_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct ParticipantRow {
    id: Uuid,
    workspace_id: Uuid,
    ticket_id: Uuid,
    external_user_id: Uuid,
    email: Option<String>,
    created_at: i64,
    created_by: Uuid,
    updated_at: i64,
    updated_by: Uuid,
}

impl From<ParticipantRow> for TicketParticipant {
    fn from(r: ParticipantRow) -> Self {
        TicketParticipant {
            id: r.id,
            workspace_id: r.workspace_id,
            ticket_id: r.ticket_id,
            external_user_id: r.external_user_id,
            email: r.email,
            created_at: Timestamp::from_micros(r.created_at),
            created_by: r.created_by,
            updated_at: Timestamp::from_micros(r.updated_at),
            updated_by: r.updated_by,
        }
    }
}

/// The membership ids a set of tickets and activities refer to, each once.
pub(super) fn member_ids<'a>(
    tickets: impl IntoIterator<Item = &'a Ticket>,
    activities: &[TicketActivity],
) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = Vec::new();
    for t in tickets {
        ids.push(t.requester.id());
        ids.extend(t.assignee_id);
    }
    for a in activities {
        ids.extend(a.actor.map(MemberRef::id));
        ids.extend(a.assignee_id);
        ids.extend(a.previous_assignee_id);
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Implements [`TicketStore`] for `$store` (database `$db`); `$begin` opens a write transaction on
/// `self`. Expands to a private module so its helpers stay apart from the other store macros'.
macro_rules! impl_ticket_store {
    ($store:ident, $db:ident, |$s:ident| $begin:expr) => {
        mod ticket_store {
            use super::{$db, $store};

            use async_trait::async_trait;
            use sqlx::QueryBuilder;
            use uuid::Uuid;

            use crate::domain::{
                ActivityKind, Location, MemberRef, Membership, Ticket, TicketActivity, TicketParticipant,
                TicketStatus,
            };
            use crate::store::rows::{ExternalUserRow, StaffRow};
            use crate::store::sql::{EXTERNAL_USER_COLUMNS, STAFF_COLUMNS};
            use crate::store::tickets::{
                attachments_json, member_ids, ActivityRow, LocationRow, NewParticipant, NewTicket,
                ParticipantKey, ParticipantRow, TicketCursor, TicketDetail, TicketFilter, TicketOrder, TicketPage, TicketRow,
                TicketSortKey,
                TicketStore, TicketUpdate, Viewer, ACTIVITY_COLUMNS, LOCATION_COLUMNS, PARTICIPANT_SELECT,
                TICKET_COLUMNS,
            };
            use crate::store::{Entity, StoreError, StoreResult};

            type Tx = sqlx::Transaction<'static, $db>;

            // Defined by `impl_store!` in the backend module this one is expanded in.
            use super::{exists, require};

            fn push_in<T>(qb: &mut QueryBuilder<$db>, column: &str, values: &[T])
            where
                T: Clone + Send + for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + 'static,
            {
                qb.push(column).push(" IN (");
                let mut list = qb.separated(", ");
                for v in values {
                    list.push_bind(v.clone());
                }
                list.push_unseparated(")");
            }

            fn push_visible(qb: &mut QueryBuilder<$db>, viewer: Viewer) {
                if let Viewer::ExternalUser(user) = viewer {
                    qb.push(" AND (requester_external_user_id = ").push_bind(user);
                    qb.push(" OR EXISTS (SELECT 1 FROM ticket_participants p WHERE p.ticket_id = tickets.id AND p.external_user_id = ")
                        .push_bind(user)
                        .push("))");
                }
            }

            async fn members(pool: &sqlx::Pool<$db>, ws: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Membership>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE workspace_id = "));
                qb.push_bind(ws).push(" AND ");
                push_in(&mut qb, "id", ids);
                let staff: Vec<StaffRow> = qb.build_query_as().fetch_all(pool).await?;
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {EXTERNAL_USER_COLUMNS} FROM external_users WHERE workspace_id = "));
                qb.push_bind(ws).push(" AND ");
                push_in(&mut qb, "id", ids);
                let users: Vec<ExternalUserRow> = qb.build_query_as().fetch_all(pool).await?;
                let mut found = Vec::with_capacity(staff.len() + users.len());
                for row in staff {
                    found.push(Membership::Staff(row.try_into()?));
                }
                for row in users {
                    found.push(Membership::External(row.try_into()?));
                }
                Ok(found)
            }

            async fn insert_activity(tx: &mut Tx, a: &TicketActivity) -> StoreResult<()> {
                let (actor_staff, actor_user) = MemberRef::columns(a.actor);
                sqlx::query(
                    "INSERT INTO ticket_activities (id, workspace_id, ticket_id, type, actor_staff_id, actor_external_user_id, \
                     created_by, text, internal, attachments, status, assignee_id, previous_status, previous_assignee_id, ticket_type, \
                     previous_ticket_type, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                )
                .bind(a.id)
                .bind(a.workspace_id)
                .bind(a.ticket_id)
                .bind(a.kind.as_str())
                .bind(actor_staff)
                .bind(actor_user)
                .bind(a.created_by)
                .bind(&a.text)
                .bind(a.internal)
                .bind(attachments_json(&a.attachments)?)
                .bind(a.status.map(TicketStatus::stored))
                .bind(a.assignee_id)
                .bind(a.previous_status.map(TicketStatus::stored))
                .bind(a.previous_assignee_id)
                .bind(&a.ticket_type)
                .bind(&a.previous_ticket_type)
                .bind(a.created_at.micros())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// The workspace's e-mail channel member with this address, created when there is none.
            async fn email_user(tx: &mut Tx, new: &NewParticipant<'_>, email: &str) -> StoreResult<Uuid> {
                let channel: Option<Uuid> = sqlx::query_scalar("SELECT id FROM channels WHERE workspace_id = $1 AND builtin")
                    .bind(new.workspace_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                let channel = channel.ok_or(StoreError::NotFound(Entity::Channel))?;
                let found: Option<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM external_users WHERE channel_id = $1 AND lower(identifier) = lower($2)",
                )
                .bind(channel)
                .bind(email)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(id) = found {
                    return Ok(id);
                }
                sqlx::query("INSERT INTO super_identities (id, workspace_id, created_at) VALUES ($1, $2, $3)")
                    .bind(new.new_super_identity_id)
                    .bind(new.workspace_id)
                    .bind(new.at.micros())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO external_users (id, workspace_id, channel_id, super_identity_id, identifier, blocked, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6)",
                )
                .bind(new.new_user_id)
                .bind(new.workspace_id)
                .bind(channel)
                .bind(new.new_super_identity_id)
                .bind(email)
                .bind(new.at.micros())
                .execute(&mut **tx)
                .await?;
                Ok(new.new_user_id)
            }

            #[async_trait]
            impl TicketStore for $store {
                #[tracing::instrument(skip_all)]
                async fn insert_location(&self, l: &Location) -> StoreResult<()> {
                    sqlx::query("INSERT INTO locations (id, workspace_id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(l.id)
                        .bind(l.workspace_id)
                        .bind(&l.name)
                        .bind(l.created_at.micros())
                        .bind(l.updated_at.micros())
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                #[tracing::instrument(skip_all)]
                async fn list_locations(&self, workspace_id: Uuid) -> StoreResult<Vec<Location>> {
                    let sql = format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE workspace_id = $1 ORDER BY created_at, id");
                    let rows: Vec<LocationRow> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workspace_id).fetch_all(&self.read).await?;
                    Ok(rows.into_iter().map(Location::from).collect())
                }

                #[tracing::instrument(skip_all)]
                async fn get_location(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Location> {
                    let sql = format!("SELECT {LOCATION_COLUMNS} FROM locations WHERE id = $1 AND workspace_id = $2");
                    let row: Option<LocationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(id)
                        .bind(workspace_id)
                        .fetch_optional(&self.read)
                        .await?;
                    row.map(Location::from).ok_or(StoreError::NotFound(Entity::Location))
                }

                #[tracing::instrument(skip_all)]
                async fn update_location(&self, l: &Location) -> StoreResult<()> {
                    let done = sqlx::query("UPDATE locations SET name = $1, updated_at = $2 WHERE id = $3 AND workspace_id = $4")
                        .bind(&l.name)
                        .bind(l.updated_at.micros())
                        .bind(l.id)
                        .bind(l.workspace_id)
                        .execute(&self.write)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(Entity::Location));
                    }
                    Ok(())
                }

                #[tracing::instrument(skip_all)]
                async fn delete_location(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    let used: Option<i32> = sqlx::query_scalar("SELECT 1 FROM tickets WHERE location_id = $1 LIMIT 1")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if used.is_some() && exists(&mut tx, "locations", workspace_id, id).await? {
                        return Err(StoreError::InUse(Entity::Location));
                    }
                    let done = sqlx::query("DELETE FROM locations WHERE id = $1 AND workspace_id = $2")
                        .bind(id)
                        .bind(workspace_id)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound(Entity::Location));
                    }
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(skip_all)]
                async fn memberships(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Membership>> {
                    members(&self.read, workspace_id, ids).await
                }

                #[tracing::instrument(skip_all)]
                async fn create_ticket(&self, new: &NewTicket) -> StoreResult<TicketDetail> {
                    let ws = new.workspace_id;
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    require(&mut tx, "locations", Entity::Location, ws, new.location_id).await?;
                    let requester = if exists(&mut tx, "staff_users", ws, new.requester_id).await? {
                        MemberRef::Staff(new.requester_id)
                    } else if exists(&mut tx, "external_users", ws, new.requester_id).await? {
                        MemberRef::External(new.requester_id)
                    } else {
                        return Err(StoreError::NotFound(Entity::Membership));
                    };
                    if let Some(assignee) = new.assignee_id {
                        require(&mut tx, "staff_users", Entity::StaffUser, ws, assignee).await?;
                    }
                    // The counter row serialises concurrent creates of one workspace: each waits for
                    // the previous transaction's increment, so numbers neither repeat nor skip.
                    sqlx::query("INSERT INTO ticket_counters (workspace_id, n) VALUES ($1, 0) ON CONFLICT (workspace_id) DO NOTHING")
                        .bind(ws)
                        .execute(&mut *tx)
                        .await?;
                    let number: i64 = sqlx::query_scalar("UPDATE ticket_counters SET n = n + 1 WHERE workspace_id = $1 RETURNING n")
                        .bind(ws)
                        .fetch_one(&mut *tx)
                        .await?;
                    let ticket = Ticket {
                        id: new.id,
                        workspace_id: ws,
                        number,
                        location_id: new.location_id,
                        text: new.text.clone(),
                        kind: new.kind.clone(),
                        status: TicketStatus::New,
                        requester,
                        assignee_id: new.assignee_id,
                        version: 1,
                        created_by: new.created_by,
                        created_at: new.created_at,
                        updated_at: new.created_at,
                        status_updated_at: new.created_at,
                    };
                    let (requester_staff, requester_user) = MemberRef::columns(Some(requester));
                    sqlx::query(
                        "INSERT INTO tickets (id, workspace_id, number, location_id, text, type, status, requester_staff_id, \
                         requester_external_user_id, assignee_id, version, created_by, created_at, updated_at, status_updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13)",
                    )
                    .bind(ticket.id)
                    .bind(ws)
                    .bind(number)
                    .bind(ticket.location_id)
                    .bind(&ticket.text)
                    .bind(&ticket.kind)
                    .bind(ticket.status.stored())
                    .bind(requester_staff)
                    .bind(requester_user)
                    .bind(ticket.assignee_id)
                    .bind(ticket.version)
                    .bind(ticket.created_by)
                    .bind(ticket.created_at.micros())
                    .execute(&mut *tx)
                    .await?;
                    let activity = TicketActivity {
                        id: new.activity_id,
                        workspace_id: ws,
                        ticket_id: ticket.id,
                        kind: ActivityKind::Created,
                        actor: Some(requester),
                        created_by: new.created_by,
                        text: Some(ticket.text.clone()),
                        internal: false,
                        attachments: Vec::new(),
                        status: Some(TicketStatus::New),
                        assignee_id: ticket.assignee_id,
                        previous_status: None,
                        previous_assignee_id: None,
                        ticket_type: None,
                        previous_ticket_type: None,
                        created_at: ticket.created_at,
                    };
                    insert_activity(&mut tx, &activity).await?;
                    tx.commit().await?;
                    let activities = vec![activity];
                    let members = members(&self.read, ws, &member_ids([&ticket], &activities)).await?;
                    Ok(TicketDetail { ticket, activities, members })
                }

                #[tracing::instrument(skip_all)]
                async fn get_ticket(&self, workspace_id: Uuid, id: Uuid, viewer: Viewer) -> StoreResult<Ticket> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = "));
                    qb.push_bind(id).push(" AND workspace_id = ").push_bind(workspace_id);
                    push_visible(&mut qb, viewer);
                    let row: Option<TicketRow> = qb.build_query_as().fetch_optional(&self.read).await?;
                    row.ok_or(StoreError::NotFound(Entity::Ticket))?.try_into()
                }

                #[tracing::instrument(skip_all)]
                async fn ticket_detail(&self, workspace_id: Uuid, id: Uuid, viewer: Viewer) -> StoreResult<TicketDetail> {
                    let ticket = self.get_ticket(workspace_id, id, viewer).await?;
                    let internal = if viewer == Viewer::Team { "" } else { " AND NOT internal" };
                    let sql = format!(
                        "SELECT {ACTIVITY_COLUMNS} FROM ticket_activities WHERE ticket_id = $1 AND workspace_id = $2{internal} \
                         ORDER BY created_at, id"
                    );
                    let rows: Vec<ActivityRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(id)
                        .bind(workspace_id)
                        .fetch_all(&self.read)
                        .await?;
                    let activities = rows.into_iter().map(TicketActivity::try_from).collect::<StoreResult<Vec<_>>>()?;
                    let members = members(&self.read, workspace_id, &member_ids([&ticket], &activities)).await?;
                    Ok(TicketDetail { ticket, activities, members })
                }

                #[tracing::instrument(skip_all)]
                async fn list_tickets(
                    &self,
                    workspace_id: Uuid,
                    viewer: Viewer,
                    filter: &TicketFilter,
                    order: TicketOrder,
                    after: Option<TicketCursor>,
                    limit: i64,
                ) -> StoreResult<TicketPage> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE workspace_id = "));
                    qb.push_bind(workspace_id);
                    push_visible(&mut qb, viewer);
                    if !filter.statuses.is_empty() {
                        let statuses: Vec<String> =
                            filter.statuses.iter().flat_map(|s| s.stored_names()).map(|s| (*s).to_owned()).collect();
                        qb.push(" AND ");
                        push_in(&mut qb, "status", &statuses);
                    }
                    if !filter.assignee_ids.is_empty() {
                        qb.push(" AND ");
                        push_in(&mut qb, "assignee_id", &filter.assignee_ids);
                    }
                    if !filter.requester_ids.is_empty() {
                        qb.push(" AND (");
                        push_in(&mut qb, "requester_staff_id", &filter.requester_ids);
                        qb.push(" OR ");
                        push_in(&mut qb, "requester_external_user_id", &filter.requester_ids);
                        qb.push(")");
                    }
                    if !filter.location_ids.is_empty() {
                        qb.push(" AND ");
                        push_in(&mut qb, "location_id", &filter.location_ids);
                    }
                    let (beyond, direction) = if order.descending { ("<", " DESC") } else { (">", "") };
                    match (order.key, after) {
                        (TicketSortKey::Created, Some(after)) => {
                            qb.push(format!(" AND number {beyond} ")).push_bind(after.number);
                        }
                        (TicketSortKey::Updated, Some(after)) => {
                            qb.push(format!(" AND (updated_at {beyond} ")).push_bind(after.value);
                            qb.push(" OR (updated_at = ").push_bind(after.value);
                            qb.push(format!(" AND number {beyond} ")).push_bind(after.number).push("))");
                        }
                        (_, None) => {}
                    }
                    qb.push(match order.key {
                        TicketSortKey::Created => format!(" ORDER BY number{direction}"),
                        TicketSortKey::Updated => format!(" ORDER BY updated_at{direction}, number{direction}"),
                    });
                    // One extra row tells whether another page follows.
                    qb.push(" LIMIT ").push_bind(limit + 1);
                    let rows: Vec<TicketRow> = qb.build_query_as().fetch_all(&self.read).await?;
                    let mut tickets = rows.into_iter().map(Ticket::try_from).collect::<StoreResult<Vec<_>>>()?;
                    let more = tickets.len() as i64 > limit;
                    tickets.truncate(limit.max(0) as usize);
                    let members = members(&self.read, workspace_id, &member_ids(&tickets, &[])).await?;
                    Ok(TicketPage { tickets, members, more })
                }

                #[tracing::instrument(skip_all)]
                async fn update_ticket(&self, u: &TicketUpdate) -> StoreResult<Option<TicketDetail>> {
                    let t = &u.ticket;
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    if let Some(assignee) = t.assignee_id {
                        require(&mut tx, "staff_users", Entity::StaffUser, t.workspace_id, assignee).await?;
                    }
                    let done = sqlx::query(
                        "UPDATE tickets SET status = $1, assignee_id = $2, version = $3, updated_at = $4, status_updated_at = $5, \
                         type = $9 WHERE id = $6 AND workspace_id = $7 AND version = $8",
                    )
                    .bind(t.status.stored())
                    .bind(t.assignee_id)
                    .bind(t.version)
                    .bind(t.updated_at.micros())
                    .bind(t.status_updated_at.micros())
                    .bind(t.id)
                    .bind(t.workspace_id)
                    .bind(u.expected_version)
                    .bind(&t.kind)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(None);
                    }
                    insert_activity(&mut tx, &u.activity).await?;
                    tx.commit().await?;
                    let activities = vec![u.activity.clone()];
                    let members = members(&self.read, t.workspace_id, &member_ids([t], &activities)).await?;
                    Ok(Some(TicketDetail { ticket: t.clone(), activities, members }))
                }

                #[tracing::instrument(skip_all)]
                async fn add_participant(&self, new: &NewParticipant<'_>) -> StoreResult<TicketParticipant> {
                    let ws = new.workspace_id;
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    require(&mut tx, "tickets", Entity::Ticket, ws, new.ticket_id).await?;
                    let user = match new.key {
                        ParticipantKey::ExternalUser(id) => {
                            require(&mut tx, "external_users", Entity::ExternalUser, ws, id).await?;
                            id
                        }
                        ParticipantKey::Email(email) => email_user(&mut tx, new, email).await?,
                        ParticipantKey::Id(_) => return Err(StoreError::Other("a new participant has no id yet".into())),
                    };
                    sqlx::query(
                        "INSERT INTO ticket_participants (id, workspace_id, ticket_id, external_user_id, created_at, created_by, \
                         updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $5, $6)",
                    )
                    .bind(new.id)
                    .bind(ws)
                    .bind(new.ticket_id)
                    .bind(user)
                    .bind(new.at.micros())
                    .bind(new.by)
                    .execute(&mut *tx)
                    .await?;
                    let sql = format!("{PARTICIPANT_SELECT} WHERE p.id = $1");
                    let row: ParticipantRow = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(new.id).fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(row.into())
                }

                #[tracing::instrument(skip_all)]
                async fn list_participants(&self, workspace_id: Uuid, ticket_id: Uuid) -> StoreResult<Vec<TicketParticipant>> {
                    let ticket: Option<i32> = sqlx::query_scalar("SELECT 1 FROM tickets WHERE id = $1 AND workspace_id = $2")
                        .bind(ticket_id)
                        .bind(workspace_id)
                        .fetch_optional(&self.read)
                        .await?;
                    if ticket.is_none() {
                        return Err(StoreError::NotFound(Entity::Ticket));
                    }
                    let sql = format!("{PARTICIPANT_SELECT} WHERE p.workspace_id = $1 AND p.ticket_id = $2 ORDER BY p.created_at, p.id");
                    let rows: Vec<ParticipantRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(workspace_id)
                        .bind(ticket_id)
                        .fetch_all(&self.read)
                        .await?;
                    Ok(rows.into_iter().map(TicketParticipant::from).collect())
                }

                #[tracing::instrument(skip_all)]
                async fn remove_participant(&self, workspace_id: Uuid, ticket_id: Uuid, key: ParticipantKey<'_>) -> StoreResult<TicketParticipant> {
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
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
                    sqlx::query("DELETE FROM ticket_participants WHERE id = $1")
                        .bind(found.id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(found)
                }
            }
        }
    };
}

pub(super) use impl_ticket_store;
