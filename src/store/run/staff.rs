//! Runs the staff area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Backend, Conn, Db, Dialect, Tx};
use crate::domain::{CollectionKind, StaffCollection, StaffStatus, StaffUser, Timestamp};
use crate::store::staff::*;
use crate::store::support::{contains_pattern, convert};
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
    sqlx::query(
        "INSERT INTO staff_invitations (token_hash, workspace_id, staff_user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
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
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM staff_collections WHERE id = $1 AND workspace_id = $2 AND kind = $3")
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
    let sql = format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE id = $1 AND workspace_id = $2");
    let row: Option<StaffRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(workspace_id).fetch_optional(&mut *tx).await?;
    row.ok_or(StoreError::NotFound(Entity::StaffUser))?.try_into()
}

#[async_trait]
impl StaffStore for Backend {
    #[tracing::instrument(skip_all)]
    async fn insert_staff_user(&self, u: &StaffUser) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_staff_user(&mut tx, u, None).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn get_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser> {
        let mut conn = self.read.acquire().await?;
        staff_by_id(&mut conn, workspace_id, id).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_staff_users(&self, workspace_id: Uuid) -> StoreResult<Vec<StaffUser>> {
        let sql = format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE workspace_id = $1 ORDER BY created_at, id");
        let rows: Vec<StaffRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workspace_id).fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(skip_all)]
    async fn insert_staff_collection(&self, c: &StaffCollection) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO staff_collections (id, workspace_id, kind, name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id)
        .bind(c.workspace_id)
        .bind(c.kind.as_str())
        .bind(&c.name)
        .bind(c.created_at.micros())
        .bind(c.updated_at.micros())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn list_staff_collections(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
    ) -> StoreResult<Vec<StaffCollection>> {
        let sql = format!(
            "SELECT {COLLECTION_COLUMNS} FROM staff_collections WHERE workspace_id = $1 AND kind = $2 ORDER BY created_at, id"
        );
        let rows: Vec<CollectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(workspace_id)
            .bind(kind.as_str())
            .fetch_all(&self.read)
            .await?;
        convert(rows)
    }

    #[tracing::instrument(skip_all)]
    async fn get_staff_collection(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
        id: Uuid,
    ) -> StoreResult<StaffCollection> {
        let sql = format!(
            "SELECT {COLLECTION_COLUMNS} FROM staff_collections WHERE id = $1 AND workspace_id = $2 AND kind = $3"
        );
        let row: Option<CollectionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(workspace_id)
            .bind(kind.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.ok_or(StoreError::NotFound(collection_entity(kind)))?.try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn delete_staff_collection(&self, workspace_id: Uuid, kind: CollectionKind, id: Uuid) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM staff_collections WHERE id = $1 AND workspace_id = $2 AND kind = $3")
            .bind(id)
            .bind(workspace_id)
            .bind(kind.as_str())
            .execute(&self.write)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(collection_entity(kind)));
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
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
            sqlx::query(
                "INSERT INTO staff_memberships (staff_user_id, collection_id, workspace_id) VALUES ($1, $2, $3)",
            )
            .bind(u.id)
            .bind(id)
            .bind(u.workspace_id)
            .execute(&mut *tx)
            .await?;
        }
        insert_invitation(&mut tx, u.workspace_id, u.id, &new.invitation).await?;
        tx.commit().await?;
        Ok(StaffMemberOutcome::Created)
    }

    #[tracing::instrument(skip_all)]
    async fn find_staff_user(&self, workspace_id: Uuid, key: StaffKey<'_>) -> StoreResult<Option<StaffUser>> {
        let base = format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE workspace_id = $1 AND ");
        let condition = match key {
            StaffKey::Id(_) => "id = $2",
            StaffKey::Email(_) => "lower(email) = lower($2)",
            StaffKey::ExternalId(_) => "external_id = $2",
        };
        let query = sqlx::query_as(sqlx::AssertSqlSafe(base + condition)).bind(workspace_id);
        let query = match key {
            StaffKey::Id(id) => query.bind(id),
            StaffKey::Email(e) => query.bind(e.to_owned()),
            StaffKey::ExternalId(e) => query.bind(e.to_owned()),
        };
        let row: Option<StaffRow> = query.fetch_optional(&self.read).await?;
        row.map(StaffUser::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn staff_memberships(&self, workspace_id: Uuid, user_id: Uuid) -> StoreResult<Vec<(CollectionKind, Uuid)>> {
        let rows: Vec<(String, Uuid)> = sqlx::query_as(
            "SELECT c.kind, c.id FROM staff_memberships m JOIN staff_collections c ON c.id = m.collection_id \
             WHERE m.staff_user_id = $1 AND m.workspace_id = $2 ORDER BY c.created_at, c.id",
        )
        .bind(user_id)
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(kind, id)| {
                CollectionKind::parse(&kind)
                    .map(|k| (k, id))
                    .ok_or_else(|| StoreError::Other(format!("unexpected collection kind {kind:?}")))
            })
            .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn search_staff_users(
        &self,
        workspace_id: Uuid,
        filter: &StaffFilter,
        paging: Paging,
    ) -> StoreResult<Page<StaffUser>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {STAFF_COLUMNS} FROM staff_users"));
        push_staff_filter(&mut qb, workspace_id, filter);
        qb.push(" ORDER BY created_at, id LIMIT ").push_bind(paging.limit).push(" OFFSET ").push_bind(paging.offset);
        let rows: Vec<StaffRow> = qb.build_query_as().fetch_all(&self.read).await?;
        let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM staff_users");
        push_staff_filter(&mut count, workspace_id, filter);
        let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
        // A team is small enough to count exactly.
        Ok(Page { items: convert(rows)?, total, total_is_exact: true })
    }

    #[tracing::instrument(skip_all)]
    async fn delete_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        // Memberships and invitations go with the user (ON DELETE CASCADE); anything else
        // that refers to it (tickets) makes the delete fail as "in use".
        let done = sqlx::query("DELETE FROM staff_users WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(workspace_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::InUse(_) => StoreError::InUse(Entity::StaffUser),
                other => other,
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::StaffUser));
        }
        tx.commit().await.map_err(|e| match StoreError::from(e) {
            StoreError::InUse(_) => StoreError::InUse(Entity::StaffUser),
            other => other,
        })?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn set_staff_status(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        status: StaffStatus,
        at: Timestamp,
    ) -> StoreResult<StaffUser> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE staff_users SET status = $1, updated_at = $2 WHERE id = $3 AND workspace_id = $4")
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
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(skip_all)]
    async fn insert_staff_invitation(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        invitation: &NewInvitation,
        may_invite: for<'u> fn(&'u StaffUser) -> bool,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let user = staff_by_id(&mut tx, workspace_id, user_id).await?;
        if !may_invite(&user) {
            return Ok(false);
        }
        insert_invitation(&mut tx, workspace_id, user_id, invitation).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn find_staff_invitation(&self, token_hash: &[u8]) -> StoreResult<Option<FoundInvitation>> {
        let sql = format!(
            "SELECT {}, i.expires_at, i.accepted_at, u.password_hash IS NOT NULL AS has_password \
             FROM staff_invitations i JOIN staff_users u ON u.id = i.staff_user_id WHERE i.token_hash = $1",
            STAFF_COLUMNS_OF_U
        );
        let row: Option<InvitationRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(&self.read).await?;
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

    #[tracing::instrument(skip_all)]
    async fn accept_staff_invitation(
        &self,
        token_hash: &[u8],
        password_hash: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<StaffUser> {
        let mut tx = self.begin_write().await?;
        let target: Option<(Uuid, Uuid)> = sqlx::query_as(
            "UPDATE staff_invitations SET accepted_at = $1 \
             WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $1 \
             RETURNING workspace_id, staff_user_id",
        )
        .bind(at.micros())
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let (workspace_id, user_id) = target.ok_or(StoreError::NotFound(Entity::StaffInvitation))?;
        let done = sqlx::query(
            "UPDATE staff_users SET status = 'active', password_hash = COALESCE($1, password_hash), updated_at = $2 \
             WHERE id = $3 AND workspace_id = $4 AND status = 'invited' AND COALESCE($1, password_hash) IS NOT NULL",
        )
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
        tx.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(skip_all)]
    async fn staff_credentials(&self, email: &str) -> StoreResult<Vec<StaffCredentials>> {
        let sql = format!(
            "SELECT {}, u.password_hash FROM staff_users u WHERE lower(u.email) = lower($1) ORDER BY u.created_at, u.id",
            STAFF_COLUMNS_OF_U
        );
        let rows: Vec<CredentialsRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(email).fetch_all(&self.read).await?;
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
        .execute(&mut **tx)
        .await?;
    Ok(())
}
