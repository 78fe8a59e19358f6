//! Runs the tickets area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::record;
use super::{Backend, Db, Dialect, Push, Tx, exists, push_column_in, push_in, push_keys, require};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::{ActivityKind, Actor, Location, MemberRef, Membership, Ticket, TicketActivity, TicketStatus};
use crate::store::external_users::ExternalUserRow;
use crate::store::staff::MEMBER_STAFF;
use crate::store::staff::StaffRow;
use crate::store::support::Statement;
use crate::store::tickets::*;
use crate::store::{
    ActivityCursor, CommentKinds, Entity, Paging, RequestRef, StoreError, StoreResult, TicketCursor, TicketDetail,
    TicketFilter, TicketOrder, TicketPage, TicketSortKey, Viewer,
};

fn push_visible(qb: &mut impl Push, viewer: Viewer) {
    if let Viewer::ExternalUser(user) = viewer {
        qb.sql(" AND (requester_external_user_id = ");
        qb.bind(user);
        qb.sql(
            " OR EXISTS (SELECT 1 FROM ticket_participants p WHERE p.ticket_id = tickets.id AND p.external_user_id = ",
        );
        qb.bind(user);
        qb.sql("))");
    }
}

/// `AND` each of the filter's conditions (after a `WHERE` on the workspace).
fn push_filter(qb: &mut impl Push, filter: &TicketFilter) {
    let statuses: Vec<String> =
        filter.statuses.iter().flat_map(|s| s.stored_names()).map(|s| (*s).to_owned()).collect();
    push_in(qb, "status", &statuses);
    push_in(qb, "assignee_id", &filter.assignee_ids);
    if !filter.requester_ids.is_empty() {
        qb.sql(" AND (");
        push_column_in(qb, "requester_staff_id", &filter.requester_ids);
        qb.sql(" OR ");
        push_column_in(qb, "requester_external_user_id", &filter.requester_ids);
        qb.sql(")");
    }
    push_in(qb, "location_id", &filter.location_ids);
    push_in(qb, "type", &filter.kinds);
    if !filter.participant_ids.is_empty() {
        qb.sql(" AND EXISTS (SELECT 1 FROM ticket_participants tp WHERE tp.ticket_id = tickets.id");
        push_in(qb, "tp.external_user_id", &filter.participant_ids);
        qb.sql(")");
    }
}

/// The staff and external users among `ids`, as the tickets and activities that name them show
/// them: on SQLite on the calling task (`Dialect::rows`), as every read of a ticket ends with it.
async fn members(store: &Backend, ws: Uuid, ids: &MemberIds) -> StoreResult<Vec<Membership>> {
    let mut found = Vec::with_capacity(ids.staff.len() + ids.external.len());
    if !ids.staff.is_empty() {
        let mut staff = Statement::new(MEMBER_STAFF);
        push_keys(&mut staff, ws, &ids.staff);
        for row in store.rows::<StaffRow>(staff).await? {
            found.push(Membership::Staff(row.try_into()?));
        }
    }
    if !ids.external.is_empty() {
        let mut users = Statement::new(MEMBER_EXTERNAL_USERS);
        push_keys(&mut users, ws, &ids.external);
        for row in store.rows::<ExternalUserRow>(users).await? {
            found.push(Membership::External(row.try_into()?));
        }
    }
    Ok(found)
}

pub(super) async fn insert_activity(tx: &mut Tx, a: &TicketActivity) -> StoreResult<()> {
    let (actor_staff, actor_user) = MemberRef::columns(a.actor);
    sqlx::query(INSERT_ACTIVITY)
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
        .bind(a.comment_number)
        .bind(a.participant)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[async_trait]
impl TicketStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_location(&self, l: &Location, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(INSERT_LOCATION)
            .bind(l.id)
            .bind(l.workspace_id)
            .bind(&l.name)
            .bind(l.created_at.micros())
            .bind(l.updated_at.micros())
            .execute(&mut *tx)
            .await?;
        record(&mut tx, l.workspace_id, &[NewEvent::new(EventType::LocationCreated, actor, event::location(l))])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_locations(&self, workspace_id: Uuid) -> StoreResult<Vec<Location>> {
        let rows: Vec<LocationRow> = sqlx::query_as(LIST_LOCATIONS).bind(workspace_id).fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(Location::from).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_location(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Location> {
        let row: Option<LocationRow> =
            sqlx::query_as(GET_LOCATION).bind(id).bind(workspace_id).fetch_optional(&self.read).await?;
        row.map(Location::from).ok_or(StoreError::NotFound(Entity::Location))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_location(&self, l: &Location, actor: Actor) -> StoreResult<Location> {
        let mut tx = self.begin_write().await?;
        let before = locked_location(&mut tx, l.workspace_id, l.id).await?;
        let Some(updated) =
            NewEvent::updated(EventType::LocationUpdated, actor, &event::location(&before), event::location(l))
        else {
            return Ok(before);
        };
        sqlx::query(UPDATE_LOCATION)
            .bind(&l.name)
            .bind(l.updated_at.micros())
            .bind(l.id)
            .bind(l.workspace_id)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, l.workspace_id, &[updated]).await?;
        tx.commit().await?;
        Ok(l.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_location(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let used: Option<i32> = sqlx::query_scalar(LOCATION_HAS_TICKETS).bind(id).fetch_optional(&mut *tx).await?;
        if used.is_some() && exists(&mut tx, "locations", workspace_id, id).await? {
            return Err(StoreError::InUse(Entity::Location));
        }
        let gone = locked_location(&mut tx, workspace_id, id).await?;
        sqlx::query(DELETE_LOCATION).bind(id).bind(workspace_id).execute(&mut *tx).await?;
        record(&mut tx, workspace_id, &[NewEvent::new(EventType::LocationDeleted, actor, event::location(&gone))])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn memberships(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<Membership>> {
        members(self, workspace_id, &MemberIds::either(ids)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_ticket(&self, new: &NewTicket) -> StoreResult<TicketDetail> {
        let (ticket, activity) = self.ticket_batches.submit(new.clone()).await?;
        let activities = vec![activity];
        let members = members(self, new.workspace_id, &member_ids([&ticket], &activities)).await?;
        Ok(TicketDetail { ticket, activities, members, older: None })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_ticket(&self, workspace_id: Uuid, id: Uuid, viewer: Viewer) -> StoreResult<Ticket> {
        let mut st = Statement::new(GET_TICKET);
        st.push_bind(id).push(" AND workspace_id = ").push_bind(workspace_id);
        push_visible(&mut st, viewer);
        let row: Option<TicketRow> = self.rows(st).await?.into_iter().next();
        row.ok_or(StoreError::NotFound(Entity::Ticket))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn count_comments(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(COUNT_COMMENTS).bind(id).bind(workspace_id).fetch_one(&self.read).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn ticket_detail(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        viewer: Viewer,
        before: Option<ActivityCursor>,
        limit: i64,
    ) -> StoreResult<TicketDetail> {
        let ticket = self.get_ticket(workspace_id, id, viewer).await?;
        let mut st = Statement::new(ACTIVITIES);
        st.push_bind(id).push(" AND workspace_id = ").push_bind(workspace_id);
        if viewer != Viewer::Team {
            st.push(" AND NOT internal");
        }
        if let Some(b) = before {
            st.push(" AND (created_at < ").push_bind(b.created_at);
            st.push(" OR (created_at = ").push_bind(b.created_at).push(" AND id < ").push_bind(b.id).push("))");
        }
        // One extra row tells whether older activities remain.
        st.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit.max(0) + 1);
        let rows: Vec<ActivityRow> = self.rows(st).await?;
        let mut activities = rows.into_iter().map(TicketActivity::try_from).collect::<StoreResult<Vec<_>>>()?;
        let more = activities.len() as i64 > limit;
        activities.truncate(limit.max(0) as usize);
        activities.reverse();
        let older =
            activities.first().filter(|_| more).map(|a| ActivityCursor { created_at: a.created_at.micros(), id: a.id });
        let members = members(self, workspace_id, &member_ids([&ticket], &activities)).await?;
        Ok(TicketDetail { ticket, activities, members, older })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn status_setter(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<TicketActivity>> {
        let row: Option<ActivityRow> =
            sqlx::query_as(STATUS_SETTER).bind(id).bind(workspace_id).fetch_optional(&self.read).await?;
        row.map(TicketActivity::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_tickets(
        &self,
        workspace_id: Uuid,
        viewer: Viewer,
        filter: &TicketFilter,
        order: TicketOrder,
        after: Option<TicketCursor>,
        limit: i64,
    ) -> StoreResult<TicketPage> {
        let mut st = Statement::new(LIST_TICKETS);
        st.push_bind(workspace_id);
        push_visible(&mut st, viewer);
        push_filter(&mut st, filter);
        let beyond = if order.descending { "<" } else { ">" };
        match (order.key, after) {
            (TicketSortKey::Created, Some(after)) => {
                st.push(" AND number ").push(beyond).push(" ").push_bind(after.number);
            }
            (TicketSortKey::Updated, Some(after)) => {
                st.push(" AND (updated_at ").push(beyond).push(" ").push_bind(after.value);
                st.push(" OR (updated_at = ").push_bind(after.value);
                st.push(" AND number ").push(beyond).push(" ").push_bind(after.number).push("))");
            }
            (_, None) => {}
        }
        st.push(match (order.key, order.descending) {
            (TicketSortKey::Created, false) => " ORDER BY number",
            (TicketSortKey::Created, true) => " ORDER BY number DESC",
            (TicketSortKey::Updated, false) => " ORDER BY updated_at, number",
            (TicketSortKey::Updated, true) => " ORDER BY updated_at DESC, number DESC",
        });
        // One extra row tells whether another page follows.
        st.push(" LIMIT ").push_bind(limit + 1);
        let rows: Vec<TicketRow> = self.rows(st).await?;
        let mut tickets = rows.into_iter().map(Ticket::try_from).collect::<StoreResult<Vec<_>>>()?;
        let more = tickets.len() as i64 > limit;
        tickets.truncate(limit.max(0) as usize);
        let members = members(self, workspace_id, &member_ids(&tickets, &[])).await?;
        Ok(TicketPage { tickets, members, more })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn count_tickets(&self, workspace_id: Uuid, filter: &TicketFilter, cap: i64) -> StoreResult<i64> {
        let mut qb = QueryBuilder::<Db>::new(COUNT_TICKETS_CAPPED);
        qb.push_bind(workspace_id);
        push_filter(&mut qb, filter);
        qb.push(" LIMIT ").push_bind(cap).push(") capped");
        Ok(qb.build_query_scalar().fetch_one(&self.read).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_ticket(&self, u: &TicketUpdate) -> StoreResult<Option<TicketDetail>> {
        let t = &u.ticket;
        let mut tx = self.begin_write().await?;
        if let Some(assignee) = t.assignee_id {
            require(&mut tx, "staff_users", Entity::StaffUser, t.workspace_id, assignee).await?;
        }
        let done = sqlx::query(UPDATE_TICKET)
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
        record(&mut tx, t.workspace_id, &[change_event(u)]).await?;
        tx.commit().await?;
        let activities = vec![u.activity.clone()];
        let members = members(self, t.workspace_id, &member_ids([t], &activities)).await?;
        Ok(Some(TicketDetail { ticket: t.clone(), activities, members, older: None }))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_ticket(&self, workspace_id: Uuid, request: RequestRef, viewer: Viewer) -> StoreResult<Ticket> {
        let mut qb = match request {
            RequestRef::Id(id) => {
                let mut qb = QueryBuilder::<Db>::new(GET_TICKET);
                qb.push_bind(id);
                qb
            }
            RequestRef::Number(n) => {
                let mut qb = QueryBuilder::<Db>::new(GET_TICKET_BY_NUMBER);
                qb.push_bind(n);
                qb
            }
        };
        qb.push(" AND workspace_id = ").push_bind(workspace_id);
        push_visible(&mut qb, viewer);
        let row: Option<TicketRow> = qb.build_query_as().fetch_optional(&self.read).await?;
        row.ok_or(StoreError::NotFound(Entity::Ticket))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn comments(
        &self,
        workspace_id: Uuid,
        ticket_id: Uuid,
        kinds: CommentKinds,
        paging: Paging,
    ) -> StoreResult<(Vec<TicketActivity>, bool)> {
        if !kinds.public && !kinds.internal {
            return Ok((Vec::new(), false));
        }
        let mut qb = QueryBuilder::<Db>::new(COMMENTS);
        qb.push_bind(ticket_id).push(" AND workspace_id = ").push_bind(workspace_id);
        match (kinds.public, kinds.internal) {
            (true, false) => {
                qb.push(" AND NOT internal");
            }
            (false, true) => {
                qb.push(" AND internal");
            }
            _ => {}
        }
        // One extra row tells whether another page follows.
        qb.push(" ORDER BY comment_number LIMIT ").push_bind(paging.limit + 1);
        qb.push(" OFFSET ").push_bind(paging.offset);
        let rows: Vec<ActivityRow> = qb.build_query_as().fetch_all(&self.read).await?;
        let mut comments = rows.into_iter().map(TicketActivity::try_from).collect::<StoreResult<Vec<_>>>()?;
        let more = comments.len() as i64 > paging.limit;
        comments.truncate(paging.limit.max(0) as usize);
        Ok((comments, more))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn comment(&self, workspace_id: Uuid, ticket_id: Uuid, number: i64) -> StoreResult<Option<TicketActivity>> {
        let row: Option<ActivityRow> =
            sqlx::query_as(COMMENT).bind(ticket_id).bind(workspace_id).bind(number).fetch_optional(&self.read).await?;
        row.map(TicketActivity::try_from).transpose()
    }
}

/// The event of a ticket's change, told by its activity.
fn change_event(u: &TicketUpdate) -> NewEvent {
    let (t, a) = (&u.ticket, &u.activity);
    let (kind, previous) = match a.kind {
        ActivityKind::StatusChange => {
            (EventType::TicketStatusChanged, serde_json::json!({ "status": a.previous_status.map(|s| s.as_str()) }))
        }
        ActivityKind::AssigneeChange => {
            (EventType::TicketAssigned, serde_json::json!({ "assigneeId": a.previous_assignee_id }))
        }
        ActivityKind::TypeChange => {
            (EventType::TicketTypeChanged, serde_json::json!({ "type": a.previous_ticket_type }))
        }
        ActivityKind::Comment | ActivityKind::Created => {
            return NewEvent::new(EventType::TicketCommented, u.actor, event::comment(t, a));
        }
        // A merge's entry in the timeline: the ticket's requester now belongs to the survivor.
        ActivityKind::IdentityMerged => (EventType::SuperIdentityMerged, serde_json::json!({})),
        // Written by the participants' own store methods, with their own events; no update carries one.
        ActivityKind::ParticipantAdded => (EventType::TicketParticipantAdded, serde_json::json!({})),
        ActivityKind::ParticipantRemoved => (EventType::TicketParticipantRemoved, serde_json::json!({})),
    };
    NewEvent { kind, actor: u.actor, resource: event::ticket(t), previous: Some(previous) }
}

async fn locked_location(tx: &mut Tx, workspace_id: Uuid, id: Uuid) -> StoreResult<Location> {
    let sql = format!("{GET_LOCATION}{}", Backend::LOCK_ROW);
    let row: Option<LocationRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
    row.map(Location::from).ok_or(StoreError::NotFound(Entity::Location))
}
