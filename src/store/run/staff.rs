//! Runs the staff area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::record;
use super::{Backend, Conn, Db, Dialect, Tx, push_keys, split_page};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::{Actor, CollectionKind, StaffCollection, StaffStatus, StaffUser, Timestamp};
use crate::store::staff::*;
use crate::store::support::{contains_pattern, convert, corrupt};
use crate::store::{Entity, Page, Paging, StaffFilter, StaffKey, StoreError, StoreResult};

fn collection_entity(kind: CollectionKind) -> Entity {
    match kind {
        CollectionKind::Group => Entity::StaffGroup,
        CollectionKind::Folder => Entity::StaffFolder,
    }
}

fn push_staff_filter(qb: &mut QueryBuilder<Db>, workspace_id: Uuid, f: &StaffFilter) {
    qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
    if let Some(status) = f.status {
        qb.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(external_id) = &f.external_id {
        qb.push(" AND external_id = ").push_bind(external_id.clone());
    }
    if let Some(email) = &f.email {
        qb.push(" AND lower(email) LIKE ").push_bind(contains_pattern(email)).push(" ESCAPE '\\'");
    }
    if let Some(name) = &f.name {
        let p = contains_pattern(name);
        qb.push(" AND (lower(first_name) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
        qb.push(" OR lower(last_name) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
        qb.push(" OR lower(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')) LIKE ")
            .push_bind(p)
            .push(" ESCAPE '\\')");
    }
}

async fn insert_invitation(tx: &mut Tx, workspace_id: Uuid, user_id: Uuid, i: &NewInvitation) -> StoreResult<()> {
    sqlx::query(INSERT_INVITATION)
        .bind(&i.token_hash)
        .bind(workspace_id)
        .bind(user_id)
        .bind(i.created_at.micros())
        .bind(i.expires_at.micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The ids among `ids` that are not collections of `kind` in the workspace.
async fn missing_collections(
    tx: &mut Tx,
    workspace_id: Uuid,
    kind: CollectionKind,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    let mut missing = Vec::new();
    for id in ids {
        let found: Option<i32> = sqlx::query_scalar(COLLECTION_EXISTS)
            .bind(*id)
            .bind(workspace_id)
            .bind(kind.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            missing.push(*id);
        }
    }
    Ok(missing)
}

async fn staff_by_id(tx: &mut Conn, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser> {
    let row: Option<StaffRow> =
        sqlx::query_as(GET_STAFF_USER).bind(id).bind(workspace_id).fetch_optional(&mut *tx).await?;
    row.ok_or(StoreError::NotFound(Entity::StaffUser))?.try_into()
}

#[async_trait]
impl StaffStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_staff_user(&self, u: &StaffUser, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_staff_user(&mut tx, u, None).await?;
        record(&mut tx, u.workspace_id, &[NewEvent::new(EventType::StaffUserInvited, actor, event::staff_user(u))])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser> {
        let mut conn = self.read.acquire().await?;
        staff_by_id(&mut conn, workspace_id, id).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_staff_users(&self, workspace_id: Uuid) -> StoreResult<Vec<StaffUser>> {
        let rows: Vec<StaffRow> = sqlx::query_as(LIST_STAFF_USERS).bind(workspace_id).fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn active_staff_users(&self, workspace_id: Uuid, limit: i64) -> StoreResult<(Vec<StaffUser>, bool)> {
        let paging = Paging { offset: 0, limit: limit.max(0) };
        // One extra row tells whether more follow.
        let mut rows: Vec<StaffRow> =
            sqlx::query_as(ACTIVE_STAFF_USERS).bind(workspace_id).bind(paging.limit + 1).fetch_all(&self.read).await?;
        let more = split_page(&mut rows, paging);
        Ok((convert(rows)?, more))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn staff_users_among(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<StaffUser>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(MEMBER_STAFF);
        push_keys(&mut qb, workspace_id, ids);
        let rows: Vec<StaffRow> = qb.build_query_as().fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_staff_collection(&self, c: &StaffCollection, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(INSERT_COLLECTION)
            .bind(c.id)
            .bind(c.workspace_id)
            .bind(c.kind.as_str())
            .bind(&c.name)
            .bind(c.created_at.micros())
            .bind(c.updated_at.micros())
            .execute(&mut *tx)
            .await?;
        let created = NewEvent::new(event::staff_collection_event(c.kind, true), actor, event::staff_collection(c));
        record(&mut tx, c.workspace_id, &[created]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_staff_collections(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
    ) -> StoreResult<Vec<StaffCollection>> {
        let rows: Vec<CollectionRow> =
            sqlx::query_as(LIST_COLLECTIONS).bind(workspace_id).bind(kind.as_str()).fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_staff_collection(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
        id: Uuid,
    ) -> StoreResult<StaffCollection> {
        let row: Option<CollectionRow> = sqlx::query_as(GET_COLLECTION)
            .bind(id)
            .bind(workspace_id)
            .bind(kind.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.ok_or(StoreError::NotFound(collection_entity(kind)))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_staff_collection(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
        id: Uuid,
        actor: Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let row: Option<CollectionRow> = sqlx::query_as(GET_COLLECTION)
            .bind(id)
            .bind(workspace_id)
            .bind(kind.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let gone: StaffCollection = row.ok_or(StoreError::NotFound(collection_entity(kind)))?.try_into()?;
        let done =
            sqlx::query(DELETE_COLLECTION).bind(id).bind(workspace_id).bind(kind.as_str()).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(collection_entity(kind)));
        }
        let deleted = NewEvent::new(event::staff_collection_event(kind, false), actor, event::staff_collection(&gone));
        record(&mut tx, workspace_id, &[deleted]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_staff_member(&self, new: &NewStaffMember) -> StoreResult<StaffMemberOutcome> {
        let mut tx = self.begin_write().await?;
        let u = &new.user;
        let mut conflicts = StaffConflicts::default();
        let taken: Option<i32> =
            sqlx::query_scalar(EMAIL_TAKEN).bind(u.workspace_id).bind(&u.email).fetch_optional(&mut *tx).await?;
        conflicts.email_taken = taken.is_some();
        if let Some(external_id) = &u.external_id {
            let taken: Option<i32> = sqlx::query_scalar(EXTERNAL_ID_TAKEN)
                .bind(u.workspace_id)
                .bind(external_id)
                .fetch_optional(&mut *tx)
                .await?;
            conflicts.external_id_taken = taken.is_some();
        }
        conflicts.unknown_groups =
            missing_collections(&mut tx, u.workspace_id, CollectionKind::Group, &new.group_ids).await?;
        conflicts.unknown_folders =
            missing_collections(&mut tx, u.workspace_id, CollectionKind::Folder, &new.folder_ids).await?;
        let outcome = conflicts.into_outcome();
        if outcome != StaffMemberOutcome::Created {
            return Ok(outcome);
        }
        insert_staff_user(&mut tx, u, new.password_hash.as_deref()).await?;
        let mut ids: Vec<Uuid> = new.group_ids.iter().chain(&new.folder_ids).copied().collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            sqlx::query(INSERT_MEMBERSHIP).bind(u.id).bind(id).bind(u.workspace_id).execute(&mut *tx).await?;
        }
        insert_invitation(&mut tx, u.workspace_id, u.id, &new.invitation).await?;
        let invited = NewEvent::new(EventType::StaffUserInvited, new.actor, event::staff_user(u));
        record(&mut tx, u.workspace_id, &[invited]).await?;
        tx.commit().await?;
        Ok(StaffMemberOutcome::Created)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_staff_user(&self, workspace_id: Uuid, key: StaffKey<'_>) -> StoreResult<Option<StaffUser>> {
        let row: Option<StaffRow> = match key {
            // GET_STAFF_USER takes the id first.
            StaffKey::Id(id) => sqlx::query_as(GET_STAFF_USER).bind(id).bind(workspace_id),
            StaffKey::Email(e) => sqlx::query_as(STAFF_USER_BY_EMAIL).bind(workspace_id).bind(e.to_owned()),
            StaffKey::ExternalId(e) => sqlx::query_as(STAFF_USER_BY_EXTERNAL_ID).bind(workspace_id).bind(e.to_owned()),
        }
        .fetch_optional(&self.read)
        .await?;
        row.map(StaffUser::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn staff_memberships(&self, workspace_id: Uuid, user_id: Uuid) -> StoreResult<Vec<(CollectionKind, Uuid)>> {
        let rows: Vec<(String, Uuid)> =
            sqlx::query_as(MEMBERSHIPS).bind(user_id).bind(workspace_id).fetch_all(&self.read).await?;
        rows.into_iter()
            .map(|(kind, id)| {
                CollectionKind::parse(&kind).map(|k| (k, id)).ok_or_else(|| corrupt("collection kind", &kind))
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_staff_users(
        &self,
        workspace_id: Uuid,
        filter: &StaffFilter,
        paging: Paging,
    ) -> StoreResult<Page<StaffUser>> {
        let mut qb = QueryBuilder::<Db>::new(SEARCH_STAFF_USERS);
        push_staff_filter(&mut qb, workspace_id, filter);
        qb.push(" ORDER BY created_at, id LIMIT ").push_bind(paging.limit).push(" OFFSET ").push_bind(paging.offset);
        let rows: Vec<StaffRow> = qb.build_query_as().fetch_all(&self.read).await?;
        let mut count = QueryBuilder::<Db>::new(COUNT_STAFF_USERS);
        push_staff_filter(&mut count, workspace_id, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        // A team is small enough to count exactly.
        let more = paging.offset + (rows.len() as i64) < total;
        Ok(Page { items: convert(rows)?, total, total_is_exact: true, more })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_staff_user(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let gone = staff_by_id(&mut tx, workspace_id, id).await?;
        // Memberships and invitations go with the user (ON DELETE CASCADE); anything else
        // that refers to it (tickets) makes the delete fail as "in use".
        let done = sqlx::query(DELETE_STAFF_USER).bind(id).bind(workspace_id).execute(&mut *tx).await.map_err(|e| {
            match StoreError::from(e) {
                StoreError::InUse(_) => StoreError::InUse(Entity::StaffUser),
                other => other,
            }
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::StaffUser));
        }
        record(&mut tx, workspace_id, &[NewEvent::new(EventType::StaffUserDeleted, actor, event::staff_user(&gone))])
            .await?;
        tx.commit().await.map_err(|e| match StoreError::from(e) {
            StoreError::InUse(_) => StoreError::InUse(Entity::StaffUser),
            other => other,
        })?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_staff_status(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        status: StaffStatus,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<StaffUser> {
        let mut tx = self.begin_write().await?;
        let before = staff_by_id(&mut tx, workspace_id, id).await?;
        if before.status == status {
            // Nothing changes, so nothing fires and the modification time stays.
            return Ok(before);
        }
        let done = sqlx::query(SET_STAFF_STATUS)
            .bind(status.as_str())
            .bind(at.micros())
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::StaffUser));
        }
        let user = staff_by_id(&mut tx, workspace_id, id).await?;
        if let Some(changed) = event::staff_status_change(actor, &before, &user) {
            record(&mut tx, workspace_id, &[changed]).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_staff_invitation(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        invitation: &NewInvitation,
        may_invite: for<'u> fn(&'u StaffUser) -> bool,
        actor: Actor,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let user = staff_by_id(&mut tx, workspace_id, user_id).await?;
        if !may_invite(&user) {
            return Ok(false);
        }
        insert_invitation(&mut tx, workspace_id, user_id, invitation).await?;
        // A fresh invitation is `staff_user.invited` again: the receiver may send the new link.
        record(&mut tx, workspace_id, &[NewEvent::new(EventType::StaffUserInvited, actor, event::staff_user(&user))])
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_staff_invitation(&self, token_hash: &[u8]) -> StoreResult<Option<FoundInvitation>> {
        let row: Option<InvitationRow> =
            sqlx::query_as(FIND_INVITATION).bind(token_hash).fetch_optional(&self.read).await?;
        row.map(|r| {
            Ok(FoundInvitation {
                user: r.user.try_into()?,
                expires_at: Timestamp::from_micros(r.expires_at),
                accepted_at: r.accepted_at.map(Timestamp::from_micros),
                has_password: r.has_password,
            })
        })
        .transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn accept_staff_invitation(
        &self,
        token_hash: &[u8],
        password_hash: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<StaffUser> {
        let mut tx = self.begin_write().await?;
        let target: Option<(Uuid, Uuid)> =
            sqlx::query_as(ACCEPT_INVITATION).bind(at.micros()).bind(token_hash).fetch_optional(&mut *tx).await?;
        let (workspace_id, user_id) = target.ok_or(StoreError::NotFound(Entity::StaffInvitation))?;
        let done = sqlx::query(ACTIVATE_STAFF_USER)
            .bind(password_hash)
            .bind(at.micros())
            .bind(user_id)
            .bind(workspace_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::StaffInvitation));
        }
        let user = staff_by_id(&mut tx, workspace_id, user_id).await?;
        // The invitation's token is the credential: the user activates itself.
        let activated = NewEvent {
            kind: EventType::StaffUserActivated,
            actor: Actor::StaffUser(user_id),
            resource: event::staff_user(&user),
            previous: Some(serde_json::json!({ "status": StaffStatus::Invited.as_str() })),
        };
        record(&mut tx, workspace_id, &[activated]).await?;
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn staff_credentials(&self, email: &str) -> StoreResult<Vec<StaffCredentials>> {
        let rows: Vec<CredentialsRow> = sqlx::query_as(STAFF_CREDENTIALS).bind(email).fetch_all(&self.read).await?;
        rows.into_iter()
            .map(|r| Ok(StaffCredentials { user: r.user.try_into()?, password_hash: r.password_hash }))
            .collect()
    }
}

/// The one insert of a staff user, with the password hash given at creation if any.
async fn insert_staff_user(tx: &mut Tx, u: &StaffUser, password_hash: Option<&str>) -> StoreResult<()> {
    sqlx::query(INSERT_STAFF_USER)
        .bind(u.id)
        .bind(u.workspace_id)
        .bind(&u.email)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.external_id)
        .bind(u.role.as_str())
        .bind(u.status.as_str())
        .bind(&u.phone_number)
        .bind(password_hash)
        .bind(u.created_at.micros())
        .bind(u.updated_at.micros())
        .bind(u.role_named_user)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
