//! Runs the external users area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Backend, Db, Dialect, Tx, capped_total, found_one, push_in};
use crate::domain::{ExternalUser, Timestamp};
use crate::store::external_users::*;
use crate::store::support::convert;
use crate::store::{Entity, ExternalUserFilter, Page, Paging, StoreError, StoreResult, UserKey};

#[async_trait]
impl ExternalUserStore for Backend {
    #[tracing::instrument(skip_all)]
    async fn insert_external_user(&self, u: &ExternalUser) -> StoreResult<()> {
        Dialect::insert_external_user(self, u).await
    }

    #[tracing::instrument(skip_all)]
    async fn get_external_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUser> {
        let row: Option<ExternalUserRow> =
            sqlx::query_as(GET_EXTERNAL_USER).bind(id).bind(workspace_id).fetch_optional(&self.read).await?;
        row.ok_or(StoreError::NotFound(Entity::ExternalUser))?.try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn find_external_user(
        &self,
        workspace_id: Uuid,
        channel_id: Uuid,
        key: UserKey<'_>,
    ) -> StoreResult<Option<ExternalUser>> {
        let condition = match key {
            UserKey::Id(_) => FIND_BY_ID,
            UserKey::ExternalId(_) => FIND_BY_EXTERNAL_ID,
            UserKey::Identifier(_) => FIND_BY_IDENTIFIER,
        };
        let sql = format!("{FIND_EXTERNAL_USER}{condition}");
        let query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workspace_id).bind(channel_id);
        let query = match key {
            UserKey::Id(id) => query.bind(id),
            UserKey::ExternalId(e) => query.bind(e.to_owned()),
            UserKey::Identifier(i) => query.bind(i.to_owned()),
        };
        let row: Option<ExternalUserRow> = query.fetch_optional(&self.read).await?;
        row.map(ExternalUser::try_from).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn list_external_users(
        &self,
        workspace_id: Uuid,
        filter: &ExternalUserFilter,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUser>> {
        let mut qb = QueryBuilder::<Db>::new(LIST_EXTERNAL_USERS);
        push_user_filter(&mut qb, workspace_id, filter);
        qb.push(" ORDER BY created_at, id LIMIT ").push_bind(paging.limit).push(" OFFSET ").push_bind(paging.offset);
        let rows: Vec<ExternalUserRow> = qb.build_query_as().fetch_all(&self.read).await?;
        let mut count = QueryBuilder::<Db>::new(COUNT_EXTERNAL_USERS);
        push_user_filter(&mut count, workspace_id, filter);
        let (total, total_is_exact) = capped_total(&self.read, paging, rows.len(), count).await?;
        Ok(Page { items: convert(rows)?, total, total_is_exact })
    }

    #[tracing::instrument(skip_all)]
    async fn update_external_user(&self, u: &ExternalUser) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        require_user_refs(&mut tx, u).await?;
        let done = sqlx::query(UPDATE_EXTERNAL_USER)
            .bind(&u.external_id)
            .bind(&u.identifier)
            .bind(&u.name)
            .bind(u.tier_id)
            .bind(u.external_user_group_id)
            .bind(u.blocked)
            .bind(&u.time_zone)
            .bind(u.updated_at.micros())
            .bind(u.id)
            .bind(u.workspace_id)
            .execute(&mut *tx)
            .await?;
        found_one(done.rows_affected(), Entity::ExternalUser)?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn insert_access_token(
        &self,
        token_hash: &[u8],
        user: &ExternalUser,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_ACCESS_TOKEN)
            .bind(token_hash)
            .bind(user.workspace_id)
            .bind(user.id)
            .bind(created_at.micros())
            .bind(expires_at.micros())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn access_token(&self, token_hash: &[u8]) -> StoreResult<Option<AccessToken>> {
        let row: Option<AccessTokenRow> =
            sqlx::query_as(ACCESS_TOKEN).bind(token_hash).fetch_optional(&self.read).await?;
        row.map(AccessToken::try_from).transpose()
    }
}

/// Fails with `NotFound` for the first of the user's channel, tier and group that is not in its
/// workspace.
pub(in crate::store) async fn require_user_refs(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
    let (channel, tier, group): (bool, bool, bool) = sqlx::query_as(USER_REFS_EXIST)
        .bind(u.channel_id)
        .bind(u.tier_id)
        .bind(u.external_user_group_id)
        .bind(u.workspace_id)
        .fetch_one(&mut **tx)
        .await?;
    match (channel, tier, group) {
        (false, _, _) => Err(StoreError::NotFound(Entity::Channel)),
        (_, false, _) => Err(StoreError::NotFound(Entity::Tier)),
        (_, _, false) => Err(StoreError::NotFound(Entity::ExternalUserGroup)),
        _ => Ok(()),
    }
}

/// The one insert of a super identity: the new one a new external user names.
pub(in crate::store) async fn insert_super_identity(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
    sqlx::query(INSERT_SUPER_IDENTITY)
        .bind(u.super_identity_id)
        .bind(u.workspace_id)
        .bind(u.created_at.micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The one insert of an external user's row (its super identity is [`insert_super_identity`]'s).
pub(in crate::store) async fn insert_user_row(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
    sqlx::query(INSERT_EXTERNAL_USER)
        .bind(u.id)
        .bind(u.workspace_id)
        .bind(u.channel_id)
        .bind(u.super_identity_id)
        .bind(&u.external_id)
        .bind(&u.identifier)
        .bind(&u.name)
        .bind(u.tier_id)
        .bind(u.external_user_group_id)
        .bind(u.blocked)
        .bind(&u.time_zone)
        .bind(u.created_at.micros())
        .bind(u.updated_at.micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn push_user_filter(qb: &mut QueryBuilder<Db>, workspace_id: Uuid, f: &ExternalUserFilter) {
    match &f.search {
        Some(term) => Backend::push_search(qb, workspace_id, term),
        None => {
            qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
        }
    }
    push_in(qb, "channel_id", &f.channel_ids);
    push_in(qb, "group_id", &f.external_user_group_ids);
    push_in(qb, "super_identity_id", &f.super_identity_ids);
    push_in(qb, "tier_id", &f.tier_ids);
}
