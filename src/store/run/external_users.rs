//! Runs the external users area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::record;
use super::{Backend, Db, Dialect, Tx, capped_total, found_one, push_in, push_page, split_page};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::{Actor, ExternalUser, Timestamp, match_key};
use crate::store::external_users::*;
use crate::store::support::convert;
use crate::store::{Entity, ExternalUserFilter, IssuedToken, Page, Paging, StoreError, StoreResult, UserKey};

#[async_trait]
impl ExternalUserStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_external_user(&self, u: &ExternalUser, actor: Actor) -> StoreResult<Uuid> {
        Dialect::insert_external_user(self, u, actor).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_external_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUser> {
        let row: Option<ExternalUserRow> =
            sqlx::query_as(GET_EXTERNAL_USER).bind(id).bind(workspace_id).fetch_optional(&self.read).await?;
        row.ok_or(StoreError::NotFound(Entity::ExternalUser))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
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

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_external_users(
        &self,
        workspace_id: Uuid,
        filter: &ExternalUserFilter,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUser>> {
        if filter.search.is_some() {
            self.prepare_search().await;
        }
        let mut qb = QueryBuilder::<Db>::new(LIST_EXTERNAL_USERS);
        push_user_filter(self, &mut qb, workspace_id, filter);
        qb.push(" ORDER BY created_at, id");
        push_page(&mut qb, paging);
        let mut rows: Vec<ExternalUserRow> = qb.build_query_as().fetch_all(&self.read).await?;
        let more = split_page(&mut rows, paging);
        let page_len = rows.len() as i64;
        let (total, total_is_exact) = match counted_by(workspace_id, filter) {
            // A short page tells the total without a statement; else the counter does, exactly.
            Some(_) if !more && (page_len > 0 || paging.offset == 0) => (paging.offset + page_len, true),
            Some((kind, key)) => {
                let n: i64 = sqlx::query_scalar(COUNTED_EXTERNAL_USERS)
                    .bind(workspace_id)
                    .bind(kind)
                    .bind(key)
                    .fetch_one(&self.read)
                    .await?;
                (n, true)
            }
            None => {
                let mut count = QueryBuilder::<Db>::new(COUNT_EXTERNAL_USERS);
                push_user_filter(self, &mut count, workspace_id, filter);
                capped_total(&self.read, paging, rows.len(), more, count).await?
            }
        };
        Ok(Page { items: convert(rows)?, total, total_is_exact, more })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_external_user(&self, u: &ExternalUser, actor: Actor) -> StoreResult<ExternalUser> {
        let mut tx = self.begin_write().await?;
        let sql = format!("{GET_EXTERNAL_USER}{}", Backend::LOCK_ROW);
        let before: Option<ExternalUserRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(u.id).bind(u.workspace_id).fetch_optional(&mut *tx).await?;
        let before: ExternalUser = before.ok_or(StoreError::NotFound(Entity::ExternalUser))?.try_into()?;
        let events = event::external_user_changes(actor, &before, u);
        if events.is_empty() {
            return Ok(before);
        }
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
            .bind(u.identifier.as_deref().and_then(match_key))
            .bind(u.id)
            .bind(u.workspace_id)
            .execute(&mut *tx)
            .await?;
        found_one(done.rows_affected(), Entity::ExternalUser)?;
        // Blocking ends every token at once, so unblocking revives none of them.
        if u.blocked {
            sqlx::query(DELETE_USER_ACCESS_TOKENS).bind(u.id).execute(&mut *tx).await?;
        }
        record(&mut tx, u.workspace_id, &events).await?;
        tx.commit().await?;
        Ok(u.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_access_token(
        &self,
        token_hash: &[u8],
        user: &ExternalUser,
        created_at: Timestamp,
        expires_at: Timestamp,
        issued_by_key_id: Option<Uuid>,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_ACCESS_TOKEN)
            .bind(token_hash)
            .bind(user.workspace_id)
            .bind(user.id)
            .bind(created_at.micros())
            .bind(expires_at.micros())
            .bind(issued_by_key_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn access_token(&self, token_hash: &[u8]) -> StoreResult<Option<AccessToken>> {
        let row: Option<AccessTokenRow> =
            sqlx::query_as(ACCESS_TOKEN).bind(token_hash).fetch_optional(&self.read).await?;
        row.map(AccessToken::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn issued_tokens(&self, workspace_id: Uuid, user_ids: &[Uuid], limit: i64) -> StoreResult<Vec<IssuedToken>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(ISSUED_TOKENS);
        qb.push_bind(workspace_id);
        push_in(&mut qb, "external_user_id", user_ids);
        qb.push(" ORDER BY created_at DESC LIMIT ").push_bind(limit);
        let rows: Vec<IssuedTokenRow> = qb.build_query_as().fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(IssuedToken::from).collect())
    }
}

/// Fails with `NotFound` for the first of the user's channel, tier and group that is not in its
/// workspace; else whether the channel is the workspace's built-in e-mail channel.
pub(in crate::store) async fn require_user_refs(tx: &mut Tx, u: &ExternalUser) -> StoreResult<bool> {
    Ok(user_refs(tx, u).await?.builtin)
}

/// What a create learns from checking a user's references (one statement).
#[derive(Debug, Clone, Copy)]
pub(in crate::store) struct UserRefs {
    /// The channel is the workspace's built-in e-mail channel.
    pub builtin: bool,
    /// The workspace matches new users automatically (else a create need not look for a match).
    pub auto_match: bool,
}

/// Fails with `NotFound` for the first of the user's channel, tier and group that is not in its
/// workspace; else what the create needs to know of them.
pub(in crate::store) async fn user_refs(tx: &mut Tx, u: &ExternalUser) -> StoreResult<UserRefs> {
    let (channel, builtin, tier, group, auto_match): (bool, bool, bool, bool, bool) = sqlx::query_as(USER_REFS_EXIST)
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
        _ => Ok(UserRefs { builtin, auto_match }),
    }
}

/// `external_user.created`, and `customer.created` for a user of the built-in e-mail channel: seed
/// 004 calls exactly those users customers, whichever contract created them.
pub(in crate::store) async fn record_user_created(
    tx: &mut Tx,
    u: &ExternalUser,
    actor: Actor,
    on_builtin: bool,
) -> StoreResult<()> {
    let resource = event::external_user(u);
    let mut events = vec![NewEvent::new(EventType::ExternalUserCreated, actor, resource.clone())];
    if on_builtin {
        events.push(NewEvent::new(EventType::CustomerCreated, actor, resource));
    }
    record(tx, u.workspace_id, &events).await
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

/// The one insert of an external user's row, in `super_identity_id` (the new one of
/// [`insert_super_identity`], or the one automatic matching found).
pub(in crate::store) async fn insert_user_row(
    tx: &mut Tx,
    u: &ExternalUser,
    super_identity_id: Uuid,
) -> StoreResult<()> {
    sqlx::query(INSERT_EXTERNAL_USER)
        .bind(u.id)
        .bind(u.workspace_id)
        .bind(u.channel_id)
        .bind(super_identity_id)
        .bind(&u.external_id)
        .bind(&u.identifier)
        .bind(&u.name)
        .bind(u.tier_id)
        .bind(u.external_user_group_id)
        .bind(u.blocked)
        .bind(&u.time_zone)
        .bind(u.created_at.micros())
        .bind(u.updated_at.micros())
        .bind(u.identifier.as_deref().and_then(match_key))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The counter (migration 17) that holds the list's exact total: the workspace's, or the one
/// channel's, tier's or group's when that is the only filter. Combined filters, super identities and
/// searches have no counter and are counted up to the cap (docs/decisions/list-counts.md).
fn counted_by(workspace_id: Uuid, f: &ExternalUserFilter) -> Option<(&'static str, Uuid)> {
    if f.search.is_some() || !f.super_identity_ids.is_empty() {
        return None;
    }
    match (f.channel_ids.as_slice(), f.tier_ids.as_slice(), f.external_user_group_ids.as_slice()) {
        ([], [], []) => Some(("workspace", workspace_id)),
        ([channel], [], []) => Some(("channel", *channel)),
        ([], [tier], []) => Some(("tier", *tier)),
        ([], [], [group]) => Some(("group", *group)),
        _ => None,
    }
}

fn push_user_filter(store: &Backend, qb: &mut QueryBuilder<Db>, workspace_id: Uuid, f: &ExternalUserFilter) {
    match &f.search {
        Some(term) => store.push_search(qb, workspace_id, term),
        None => {
            qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
        }
    }
    push_in(qb, "channel_id", &f.channel_ids);
    push_in(qb, "group_id", &f.external_user_group_ids);
    push_in(qb, "super_identity_id", &f.super_identity_ids);
    push_in(qb, "tier_id", &f.tier_ids);
    qb.push(" AND erased_at IS NULL");
}
