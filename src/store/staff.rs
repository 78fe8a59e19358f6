//! Staff storage beyond the minimal table: groups and folders, memberships, invitations, passwords,
//! search (seed 003). Written once for both backends by [`impl_staff_store!`].

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Page, Paging, StoreError, StoreResult};
use crate::domain::{CollectionKind, StaffCollection, StaffStatus, StaffUser, Timestamp};

/// A new staff user with everything created with it in the same transaction.
#[derive(Debug, Clone)]
pub struct NewStaffMember {
    pub user: StaffUser,
    /// argon2id PHC string of the password given at creation, if any.
    pub password_hash: Option<String>,
    pub group_ids: Vec<Uuid>,
    pub folder_ids: Vec<Uuid>,
    pub invitation: NewInvitation,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub token_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Seed 003's ways of naming one user.
#[derive(Debug, Clone, Copy)]
pub enum StaffKey<'a> {
    Id(Uuid),
    Email(&'a str),
    ExternalId(&'a str),
}

#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    /// Matched case-insensitively anywhere in first name, last name or "first last".
    pub name: Option<String>,
    /// Matched case-insensitively anywhere in the e-mail address.
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub status: Option<StaffStatus>,
}

/// An invitation as found by its token.
#[derive(Debug, Clone)]
pub struct FoundInvitation {
    pub user: StaffUser,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub has_password: bool,
}

/// A staff user with the password hash that sign-in checks.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    pub user: StaffUser,
    pub password_hash: Option<String>,
}

#[async_trait]
pub trait StaffStore: Send + Sync {
    async fn insert_staff_collection(&self, c: &StaffCollection) -> StoreResult<()>;
    async fn list_staff_collections(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
    ) -> StoreResult<Vec<StaffCollection>>;
    async fn get_staff_collection(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
        id: Uuid,
    ) -> StoreResult<StaffCollection>;
    async fn delete_staff_collection(&self, workspace_id: Uuid, kind: CollectionKind, id: Uuid) -> StoreResult<()>;

    /// Inserts the user, its memberships and its invitation; refuses, listing every problem at once, a
    /// taken e-mail or external id and unknown groups or folders.
    async fn create_staff_member(&self, new: &NewStaffMember) -> StoreResult<()>;
    async fn find_staff_user(&self, workspace_id: Uuid, key: StaffKey<'_>) -> StoreResult<Option<StaffUser>>;
    /// The (kind, id) of every group and folder the user is a member of.
    async fn staff_memberships(&self, workspace_id: Uuid, user_id: Uuid) -> StoreResult<Vec<(CollectionKind, Uuid)>>;
    async fn search_staff_users(
        &self,
        workspace_id: Uuid,
        filter: &StaffFilter,
        paging: Paging,
    ) -> StoreResult<Page<StaffUser>>;
    /// Removes the user with its memberships and invitations; `InUse(StaffUser)` while others refer to it.
    async fn delete_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()>;
    async fn set_staff_status(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        status: StaffStatus,
        at: Timestamp,
    ) -> StoreResult<StaffUser>;

    /// Adds a fresh invitation for a user that is still `Invited`.
    async fn insert_staff_invitation(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        invitation: &NewInvitation,
    ) -> StoreResult<()>;
    async fn find_staff_invitation(&self, token_hash: &[u8]) -> StoreResult<Option<FoundInvitation>>;
    /// Marks the invitation used and the user `Active` (setting the password hash when given), only if
    /// the invitation is still open at `at` and the user still `Invited`: else `NotFound(StaffInvitation)`.
    async fn accept_staff_invitation(
        &self,
        token_hash: &[u8],
        password_hash: Option<&str>,
        at: Timestamp,
    ) -> StoreResult<StaffUser>;
    /// Every account with this e-mail, in any workspace, oldest first.
    async fn staff_credentials(&self, email: &str) -> StoreResult<Vec<StaffCredentials>>;
}

pub(super) const COLLECTION_COLUMNS: &str = "id, workspace_id, kind, name, created_at, updated_at";

#[derive(FromRow)]
pub(super) struct CollectionRow {
    id: Uuid,
    workspace_id: Uuid,
    kind: String,
    name: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<CollectionRow> for StaffCollection {
    type Error = StoreError;
    fn try_from(r: CollectionRow) -> Result<Self, StoreError> {
        Ok(StaffCollection {
            kind: CollectionKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Other(format!("unexpected collection kind {:?}", r.kind)))?,
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct InvitationRow {
    #[sqlx(flatten)]
    pub(super) user: super::sql::StaffRow,
    pub(super) expires_at: i64,
    pub(super) accepted_at: Option<i64>,
    pub(super) has_password: bool,
}

#[derive(FromRow)]
pub(super) struct CredentialsRow {
    #[sqlx(flatten)]
    pub(super) user: super::sql::StaffRow,
    pub(super) password_hash: Option<String>,
}

/// The staff columns qualified with table alias `u.`.
pub(super) fn qualified_staff_columns() -> String {
    super::sql::STAFF_COLUMNS.split(", ").map(|c| format!("u.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// Implements [`StaffStore`] for `$store` (see `impl_store!` for the arguments).
macro_rules! impl_staff_store {
    ($store:ty, $db:ty, |$s:ident| $begin:expr) => {
        const _: () = {
            use async_trait::async_trait;
            use sqlx::QueryBuilder;
            use uuid::Uuid;

            use crate::domain::{CollectionKind, FieldError, StaffCollection, StaffStatus, StaffUser, Timestamp};
            use crate::store::sql::{contains_pattern, convert, StaffRow, STAFF_COLUMNS};
            use crate::store::staff::{
                qualified_staff_columns, CollectionRow, CredentialsRow, FoundInvitation, InvitationRow,
                NewInvitation, NewStaffMember, StaffCredentials, StaffFilter, StaffKey, StaffStore,
                COLLECTION_COLUMNS,
            };
            use crate::store::{Entity, Page, Paging, StoreError, StoreResult};

            type Tx = sqlx::Transaction<'static, $db>;

            fn collection_entity(kind: CollectionKind) -> Entity {
                match kind {
                    CollectionKind::Group => Entity::StaffGroup,
                    CollectionKind::Folder => Entity::StaffFolder,
                }
            }

            fn push_staff_filter(qb: &mut QueryBuilder<$db>, workspace_id: Uuid, f: &StaffFilter) {
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
            async fn missing_collections(tx: &mut Tx, workspace_id: Uuid, kind: CollectionKind, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
                let mut missing = Vec::new();
                for id in ids {
                    let found: Option<i32> = sqlx::query_scalar(
                        "SELECT 1 FROM staff_collections WHERE id = $1 AND workspace_id = $2 AND kind = $3",
                    )
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

            async fn staff_by_id(tx: &mut Tx, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser> {
                let sql = format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE id = $1 AND workspace_id = $2");
                let row: Option<StaffRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
                row.ok_or(StoreError::NotFound(Entity::StaffUser))?.try_into()
            }

            #[async_trait]
            impl StaffStore for $store {
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
                async fn list_staff_collections(&self, workspace_id: Uuid, kind: CollectionKind) -> StoreResult<Vec<StaffCollection>> {
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
                async fn get_staff_collection(&self, workspace_id: Uuid, kind: CollectionKind, id: Uuid) -> StoreResult<StaffCollection> {
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
                async fn create_staff_member(&self, new: &NewStaffMember) -> StoreResult<()> {
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    let u = &new.user;
                    let mut problems = Vec::new();
                    let taken: Option<i32> =
                        sqlx::query_scalar("SELECT 1 FROM staff_users WHERE workspace_id = $1 AND lower(email) = lower($2)")
                            .bind(u.workspace_id)
                            .bind(&u.email)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if taken.is_some() {
                        problems.push(FieldError::new("email", "already exists in this workspace"));
                    }
                    if let Some(external_id) = &u.external_id {
                        let taken: Option<i32> =
                            sqlx::query_scalar("SELECT 1 FROM staff_users WHERE workspace_id = $1 AND external_id = $2")
                                .bind(u.workspace_id)
                                .bind(external_id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        if taken.is_some() {
                            problems.push(FieldError::new("externalId", "already exists in this workspace"));
                        }
                    }
                    for (field, kind, ids) in [
                        ("groups", CollectionKind::Group, &new.group_ids),
                        ("folders", CollectionKind::Folder, &new.folder_ids),
                    ] {
                        for id in missing_collections(&mut tx, u.workspace_id, kind, ids).await? {
                            problems.push(FieldError::new(
                                field,
                                format!("must reference existing {field}: {id} does not exist in this workspace"),
                            ));
                        }
                    }
                    if !problems.is_empty() {
                        return Err(StoreError::Rejected(problems));
                    }
                    sqlx::query(
                        "INSERT INTO staff_users (id, workspace_id, email, first_name, last_name, external_id, role, status, \
                         phone_number, password_hash, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    )
                    .bind(u.id)
                    .bind(u.workspace_id)
                    .bind(&u.email)
                    .bind(&u.first_name)
                    .bind(&u.last_name)
                    .bind(&u.external_id)
                    .bind(u.role.as_str())
                    .bind(u.status.as_str())
                    .bind(&u.phone_number)
                    .bind(&new.password_hash)
                    .bind(u.created_at.micros())
                    .bind(u.updated_at.micros())
                    .execute(&mut *tx)
                    .await?;
                    let mut ids: Vec<Uuid> = new.group_ids.iter().chain(&new.folder_ids).copied().collect();
                    ids.sort_unstable();
                    ids.dedup();
                    for id in ids {
                        sqlx::query("INSERT INTO staff_memberships (staff_user_id, collection_id, workspace_id) VALUES ($1, $2, $3)")
                            .bind(u.id)
                            .bind(id)
                            .bind(u.workspace_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    insert_invitation(&mut tx, u.workspace_id, u.id, &new.invitation).await?;
                    tx.commit().await?;
                    Ok(())
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
                async fn search_staff_users(&self, workspace_id: Uuid, filter: &StaffFilter, paging: Paging) -> StoreResult<Page<StaffUser>> {
                    let mut qb = QueryBuilder::<$db>::new(format!("SELECT {STAFF_COLUMNS} FROM staff_users"));
                    push_staff_filter(&mut qb, workspace_id, filter);
                    qb.push(" ORDER BY created_at, id LIMIT ").push_bind(paging.limit).push(" OFFSET ").push_bind(paging.offset);
                    let rows: Vec<StaffRow> = qb.build_query_as().fetch_all(&self.read).await?;
                    let mut count = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM staff_users");
                    push_staff_filter(&mut count, workspace_id, filter);
                    let total: i64 = count.build_query_scalar().fetch_one(&self.read).await?;
                    Ok(Page { items: convert(rows)?, total })
                }

                #[tracing::instrument(skip_all)]
                async fn delete_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
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
                async fn set_staff_status(&self, workspace_id: Uuid, id: Uuid, status: StaffStatus, at: Timestamp) -> StoreResult<StaffUser> {
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    let done = sqlx::query("UPDATE staff_users SET status = $1, updated_at = $2 WHERE id = $3 AND workspace_id = $4")
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
                async fn insert_staff_invitation(&self, workspace_id: Uuid, user_id: Uuid, invitation: &NewInvitation) -> StoreResult<()> {
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
                    let user = staff_by_id(&mut tx, workspace_id, user_id).await?;
                    if user.status != StaffStatus::Invited {
                        return Err(StoreError::Rejected(vec![FieldError::new("status", "only an Invited user can be invited again")]));
                    }
                    insert_invitation(&mut tx, workspace_id, user_id, invitation).await?;
                    tx.commit().await?;
                    Ok(())
                }

                #[tracing::instrument(skip_all)]
                async fn find_staff_invitation(&self, token_hash: &[u8]) -> StoreResult<Option<FoundInvitation>> {
                    let sql = format!(
                        "SELECT {}, i.expires_at, i.accepted_at, u.password_hash IS NOT NULL AS has_password \
                         FROM staff_invitations i JOIN staff_users u ON u.id = i.staff_user_id WHERE i.token_hash = $1",
                        qualified_staff_columns()
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
                async fn accept_staff_invitation(&self, token_hash: &[u8], password_hash: Option<&str>, at: Timestamp) -> StoreResult<StaffUser> {
                    let $s = self;
                    let mut tx: Tx = $begin.await?;
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
                        qualified_staff_columns()
                    );
                    let rows: Vec<CredentialsRow> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(email).fetch_all(&self.read).await?;
                    rows.into_iter()
                        .map(|r| Ok(StaffCredentials { user: r.user.try_into()?, password_hash: r.password_hash }))
                        .collect()
                }
            }
        };
    };
}

pub(super) use impl_staff_store;
