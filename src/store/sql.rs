//! The SQL both backends share.
//!
//! The statements are written once in the subset SQLite and PostgreSQL (and the PostgreSQL-compatible
//! distributed databases) all run: `$n` placeholders, `RETURNING`, no sequences, no vendor functions.
//! [`impl_store!`] turns them into a [`Store`](super::Store) for one concrete database type, so each
//! backend gets statically typed, separately prepared code without a `sqlx::Any` layer.

use super::StoreError;

pub(super) const API_KEY_COLUMNS: &str =
    "id, workspace_id, name, role, prefix, created_by, created_at, last_used_at, revoked_at";
pub(super) const CHANNEL_COLUMNS: &str = "id, workspace_id, name, type, builtin, created_at, updated_at";
pub(super) const TIER_COLUMNS: &str = "id, workspace_id, name, description, created_at, updated_at";
pub(super) const GROUP_COLUMNS: &str = "id, workspace_id, external_id, name, tier_id, created_at, updated_at";
pub(super) const EXTERNAL_USER_COLUMNS: &str = "id, workspace_id, channel_id, super_identity_id, \
     external_id, identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at";
pub(super) const STAFF_COLUMNS: &str = "id, workspace_id, email, first_name, last_name, external_id, role, status, \
     phone_number, created_at, updated_at";

/// A `LIKE` pattern that finds `needle` anywhere, case-insensitively, with its own wildcards escaped
/// (used with `ESCAPE '\'`).
pub(super) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub(super) fn convert<R, T: TryFrom<R, Error = StoreError>>(rows: Vec<R>) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(T::try_from).collect()
}

/// Implements [`Store`](super::Store) for `$store`, whose `read` and `write` pools hold connections of
/// database `$db`; `$begin` opens a write transaction on `self`, `$search` writes the `WHERE` of an
/// external-user search (the workspace and the backend's indexed condition for the term), and `$insert_user` stores a new external user
/// (each backend commits creates its own way).
macro_rules! impl_store {
    ($store:ty, $db:ty, |$s:ident| $begin:expr, search = $search:path, insert_user = $insert_user:path) => {
        use async_trait::async_trait;
        use sqlx::QueryBuilder;
        use uuid::Uuid;

        use crate::domain::{
            ApiKey, Channel, ExternalUser, ExternalUserGroup, StaffUser, Tier, Timestamp,
        };
        use crate::store::rows::{AccessTokenRow, ApiKeyRow, ChannelRow, ExternalUserRow, GroupRow, StaffRow, TierRow};
        use crate::store::sql::{
            contains_pattern, convert, API_KEY_COLUMNS, CHANNEL_COLUMNS, EXTERNAL_USER_COLUMNS, GROUP_COLUMNS,
            STAFF_COLUMNS, TIER_COLUMNS,
        };
        use crate::store::{
            AccessToken, COUNT_CAP, Entity, ExternalUserFilter, GroupFilter, NewWorkspace, Page, Paging,
            Store, StoreError, StoreResult, UserKey,
        };

        type Tx = sqlx::Transaction<'static, $db>;

        /// Whether `id` names a row of `table` in the workspace. The other areas' store macros expand
        /// in modules inside this one and use it (and [`require`]) as `super::exists`.
        async fn exists(tx: &mut Tx, table: &'static str, workspace_id: Uuid, id: Uuid) -> StoreResult<bool> {
            let sql = format!("SELECT 1 FROM {table} WHERE id = $1 AND workspace_id = $2");
            let found: Option<i32> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(workspace_id)
                .fetch_optional(&mut **tx)
                .await?;
            Ok(found.is_some())
        }

        /// Fails with `NotFound(entity)` unless `id` names a row of `table` in the workspace.
        async fn require(tx: &mut Tx, table: &'static str, entity: Entity, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
            if exists(tx, table, workspace_id, id).await? { Ok(()) } else { Err(StoreError::NotFound(entity)) }
        }

        /// Checks the channel, tier and group a user refers to in one round trip: each must be in the
        /// user's workspace.
        async fn require_user_refs(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
            let (channel, tier, group): (bool, bool, bool) = sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM channels WHERE id = $1 AND workspace_id = $4), \
                 $2 IS NULL OR EXISTS (SELECT 1 FROM tiers WHERE id = $2 AND workspace_id = $4), \
                 $3 IS NULL OR EXISTS (SELECT 1 FROM external_user_groups WHERE id = $3 AND workspace_id = $4)",
            )
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

        /// Inserts a user and its new super identity (the identity first: its key must exist for the user).
        #[allow(dead_code)]
        async fn insert_external_user_in(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
            require_user_refs(tx, u).await?;
            insert_super_identity(tx, u).await?;
            insert_external_user_row(tx, u).await
        }

        async fn insert_super_identity(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
            sqlx::query("INSERT INTO super_identities (id, workspace_id, created_at) VALUES ($1, $2, $3)")
                .bind(u.super_identity_id)
                .bind(u.workspace_id)
                .bind(u.created_at.micros())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_external_user_row(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO external_users (id, workspace_id, channel_id, super_identity_id, external_id, \
                 identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
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

        /// How many rows match, up to [`COUNT_CAP`], and whether that is exact. `count` selects the
        /// matching rows (`SELECT COUNT(*) FROM (SELECT 1 FROM ... WHERE ...`). A page that came back
        /// short already tells the total, so the count query runs only when the list goes on.
        async fn capped_total(
            read: &sqlx::Pool<$db>,
            paging: Paging,
            page_len: usize,
            mut count: QueryBuilder<$db>,
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

        fn push_in(qb: &mut QueryBuilder<$db>, column: &str, ids: &[Uuid]) {
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

        fn push_user_filter(qb: &mut QueryBuilder<$db>, workspace_id: Uuid, f: &ExternalUserFilter) {
            match &f.search {
                Some(term) => $search(qb, workspace_id, term),
                None => {
                    qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
                }
            }
            push_in(qb, "channel_id", &f.channel_ids);
            push_in(qb, "group_id", &f.external_user_group_ids);
            push_in(qb, "super_identity_id", &f.super_identity_ids);
            push_in(qb, "tier_id", &f.tier_ids);
        }

        fn push_group_filter(qb: &mut QueryBuilder<$db>, workspace_id: Uuid, f: &GroupFilter) {
            qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
            if let Some(external_id) = &f.external_id {
                qb.push(" AND external_id = ").push_bind(external_id.clone());
            }
            push_in(qb, "id", &f.ids);
            push_in(qb, "tier_id", &f.tier_ids);
            if let Some(search) = &f.search {
                let p = contains_pattern(search);
                qb.push(" AND (lower(name) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
                qb.push(" OR lower(external_id) LIKE ").push_bind(p).push(" ESCAPE '\\')");
            }
        }

        #[async_trait]
        impl Store for $store {
            #[tracing::instrument(skip_all)]
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.read).await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn create_workspace(&self, new: &NewWorkspace) -> StoreResult<()> {
                let $s = self;
                let mut tx: Tx = $begin.await?;
                insert_workspace(&mut tx, new).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn bootstrap_workspace(&self, new: &NewWorkspace) -> StoreResult<bool> {
                let $s = self;
                let mut tx: Tx = $begin.await?;
                // The claim comes before the workspace's key: a node that loses the race waits on the
                // claim and sees it taken, instead of colliding on a chosen bootstrap key.
                sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(new.workspace.id)
                    .bind(&new.workspace.name)
                    .bind(new.workspace.created_at.micros())
                    .execute(&mut *tx)
                    .await?;
                let claimed = sqlx::query("INSERT INTO bootstrap (singleton, workspace_id, created_at) VALUES (1, $1, $2)")
                    .bind(new.workspace.id)
                    .bind(new.workspace.created_at.micros())
                    .execute(&mut *tx)
                    .await;
                match claimed.map_err(StoreError::from) {
                    Ok(_) => {
                        insert_channel(&mut tx, &new.email_channel).await?;
                        insert_api_key(&mut tx, &new.admin_key, &new.admin_key_hash).await?;
                        tx.commit().await?;
                        Ok(true)
                    }
                    // Another node bootstrapped first; dropping `tx` rolls this workspace back.
                    Err(StoreError::Duplicate(crate::store::Unique::Bootstrap)) => Ok(false),
                    Err(e) => Err(e),
                }
            }

            async fn count_workspaces(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM workspaces").fetch_one(&self.read).await?)
            }

            async fn workspace_ids(&self, limit: i64) -> StoreResult<Vec<Uuid>> {
                Ok(sqlx::query_scalar("SELECT id FROM workspaces ORDER BY created_at, id LIMIT $1")
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?)
            }

            #[tracing::instrument(skip_all)]
            async fn builtin_email_channel(&self, workspace_id: Uuid) -> StoreResult<Channel> {
                let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE workspace_id = $1 AND builtin");
                let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(workspace_id)
                    .fetch_optional(&self.read)
                    .await?;
                row.ok_or(StoreError::NotFound(Entity::Channel))?.try_into()
            }

            #[tracing::instrument(skip_all)]
            async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8]) -> StoreResult<()> {
                let $s = self;
                let mut tx: Tx = $begin.await?;
                insert_api_key(&mut tx, key, secret_hash).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn api_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<ApiKey>> {
                let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1");
                let row: Option<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(secret_hash)
                    .fetch_optional(&self.read)
                    .await?;
                row.map(ApiKey::try_from).transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> StoreResult<()> {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(at.micros())
                    .bind(id)
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn list_api_keys(&self, workspace_id: Uuid) -> StoreResult<Vec<ApiKey>> {
                let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id");
                let rows: Vec<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(workspace_id)
                    .fetch_all(&self.read)
                    .await?;
                convert(rows)
            }

            #[tracing::instrument(skip_all)]
            async fn revoke_api_key(&self, workspace_id: Uuid, id: Uuid, at: Timestamp) -> StoreResult<ApiKey> {
                let sql = format!(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) \
                     WHERE id = $2 AND workspace_id = $3 RETURNING {API_KEY_COLUMNS}"
                );
                let row: Option<ApiKeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(at.micros())
                    .bind(id)
                    .bind(workspace_id)
                    .fetch_optional(&self.write)
                    .await?;
                row.ok_or(StoreError::NotFound(Entity::ApiKey))?.try_into()
            }

            #[tracing::instrument(skip_all)]
            async fn insert_channel(&self, channel: &Channel) -> StoreResult<()> {
                let $s = self;
                let mut tx: Tx = $begin.await?;
                insert_channel(&mut tx, channel).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn list_channels(&self, workspace_id: Uuid) -> StoreResult<Vec<Channel>> {
                let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE workspace_id = $1 ORDER BY created_at, id");
                let rows: Vec<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(workspace_id)
                    .fetch_all(&self.read)
                    .await?;
                convert(rows)
            }

            #[tracing::instrument(skip_all)]
            async fn get_channel(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Channel> {
                let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1 AND workspace_id = $2");
                let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(workspace_id)
                    .fetch_optional(&self.read)
                    .await?;
                row.ok_or(StoreError::NotFound(Entity::Channel))?.try_into()
            }

            #[tracing::instrument(skip_all)]
            async fn update_channel(&self, c: &Channel) -> StoreResult<()> {
                let done = sqlx::query("UPDATE channels SET name = $1, type = $2, updated_at = $3 WHERE id = $4 AND workspace_id = $5")
                    .bind(&c.name)
                    .bind(c.kind.as_str())
                    .bind(c.updated_at.micros())
                    .bind(c.id)
                    .bind(c.workspace_id)
                    .execute(&self.write)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(Entity::Channel));
                }
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn delete_channel(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
                let $s = self;
                let mut tx: Tx = $begin.await?;
                require(&mut tx, "channels", Entity::Channel, workspace_id, id).await?;
                let used: Option<i32> = sqlx::query_scalar("SELECT 1 FROM external_users WHERE channel_id = $1 LIMIT 1")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if used.is_some() {
                    return Err(StoreError::InUse(Entity::Channel));
                }
                sqlx::query("DELETE FROM channels WHERE id = $1 AND workspace_id = $2 AND NOT builtin")
                    .bind(id)
                    .bind(workspace_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn insert_tier(&self, t: &Tier) -> StoreResult<()> {
                sqlx::query("INSERT INTO tiers (id, workspace_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(t.id)
                    .bind(t.workspace_id)
                    .bind(&t.name)
                    .bind(&t.description)
                    .bind(t.created_at.micros())
                    .bind(t.updated_at.micros())
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn list_tiers(&self, workspace_id: Uuid, ids: &[Uuid], search: Option<&str>) -> StoreResult<Vec<Tier>> {
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {TIER_COLUMNS} FROM tiers WHERE workspace_id = "));
                qb.push_bind(workspace_id);
                push_in(&mut qb, "id", ids);
                if let Some(search) = search {
                    let p = contains_pattern(search);
                    qb.push(" AND (lower(name) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
                    qb.push(" OR lower(description) LIKE ").push_bind(p).push(" ESCAPE '\\')");
                }
                qb.push(" ORDER BY created_at, id");
                let rows: Vec<TierRow> = qb.build_query_as().fetch_all(&self.read).await?;
                convert(rows)
            }

            #[tracing::instrument(skip_all)]
            async fn get_tier(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Tier> {
                let sql = format!("SELECT {TIER_COLUMNS} FROM tiers WHERE id = $1 AND workspace_id = $2");
                let row: Option<TierRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(workspace_id)
                    .fetch_optional(&self.read)
                    .await?;
                row.ok_or(StoreError::NotFound(Entity::Tier))?.try_into()
            }

            #[tracing::instrument(skip_all)]
            async fn update_tier(&self, t: &Tier) -> StoreResult<()> {
                let done = sqlx::query("UPDATE tiers SET name = $1, description = $2, updated_at = $3 WHERE id = $4 AND workspace_id = $5")
                    .bind(&t.name)
                    .bind(&t.description)
                    .bind(t.updated_at.micros())
                    .bind(t.id)
                    .bind(t.workspace_id)
                    .execute(&self.write)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(Entity::Tier));
                }
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn delete_tier(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM tiers WHERE id = $1 AND workspace_id = $2")
                    .bind(id)
                    .bind(workspace_id)
                    .execute(&self.write)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(Entity::Tier));
                }
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn insert_group(&self, g: &ExternalUserGroup) -> StoreResult<()> {
                let $s = self;
                let mut tx: Tx = $begin.await?;
                if let Some(tier) = g.tier_id {
                    require(&mut tx, "tiers", Entity::Tier, g.workspace_id, tier).await?;
                }
                sqlx::query("INSERT INTO external_user_groups (id, workspace_id, external_id, name, tier_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(g.id)
                    .bind(g.workspace_id)
                    .bind(&g.external_id)
                    .bind(&g.name)
                    .bind(g.tier_id)
                    .bind(g.created_at.micros())
                    .bind(g.updated_at.micros())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn list_groups(&self, workspace_id: Uuid, filter: &GroupFilter, paging: Paging) -> StoreResult<Page<ExternalUserGroup>> {
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {GROUP_COLUMNS} FROM external_user_groups"));
                push_group_filter(&mut qb, workspace_id, filter);
                qb.push(" ORDER BY created_at, id LIMIT ").push_bind(paging.limit).push(" OFFSET ").push_bind(paging.offset);
                let rows: Vec<GroupRow> = qb.build_query_as().fetch_all(&self.read).await?;
                let mut count = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM (SELECT 1 FROM external_user_groups");
                push_group_filter(&mut count, workspace_id, filter);
                let (total, total_is_exact) = capped_total(&self.read, paging, rows.len(), count).await?;
                Ok(Page { items: convert(rows)?, total, total_is_exact })
            }

            #[tracing::instrument(skip_all)]
            async fn get_group(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUserGroup> {
                let sql = format!("SELECT {GROUP_COLUMNS} FROM external_user_groups WHERE id = $1 AND workspace_id = $2");
                let row: Option<GroupRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(workspace_id)
                    .fetch_optional(&self.read)
                    .await?;
                row.ok_or(StoreError::NotFound(Entity::ExternalUserGroup))?.try_into()
            }

            #[tracing::instrument(skip_all)]
            async fn delete_group(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM external_user_groups WHERE id = $1 AND workspace_id = $2")
                    .bind(id)
                    .bind(workspace_id)
                    .execute(&self.write)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(Entity::ExternalUserGroup));
                }
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn insert_external_user(&self, u: &ExternalUser) -> StoreResult<()> {
                $insert_user(self, u).await
            }

            #[tracing::instrument(skip_all)]
            async fn get_external_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUser> {
                let sql = format!("SELECT {EXTERNAL_USER_COLUMNS} FROM external_users WHERE id = $1 AND workspace_id = $2");
                let row: Option<ExternalUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(workspace_id)
                    .fetch_optional(&self.read)
                    .await?;
                row.ok_or(StoreError::NotFound(Entity::ExternalUser))?.try_into()
            }

            #[tracing::instrument(skip_all)]
            async fn find_external_user(&self, workspace_id: Uuid, channel_id: Uuid, key: UserKey<'_>) -> StoreResult<Option<ExternalUser>> {
                let base = format!("SELECT {EXTERNAL_USER_COLUMNS} FROM external_users WHERE workspace_id = $1 AND channel_id = $2 AND ");
                let condition = match key {
                    UserKey::Id(_) => "id = $3",
                    UserKey::ExternalId(_) => "external_id = $3",
                    UserKey::Identifier(_) => "lower(identifier) = lower($3)",
                };
                let query = sqlx::query_as(sqlx::AssertSqlSafe(base + condition)).bind(workspace_id).bind(channel_id);
                let query = match key {
                    UserKey::Id(id) => query.bind(id),
                    UserKey::ExternalId(e) => query.bind(e.to_owned()),
                    UserKey::Identifier(i) => query.bind(i.to_owned()),
                };
                let row: Option<ExternalUserRow> = query.fetch_optional(&self.read).await?;
                row.map(ExternalUser::try_from).transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn list_external_users(&self, workspace_id: Uuid, filter: &ExternalUserFilter, paging: Paging) -> StoreResult<Page<ExternalUser>> {
                let mut qb = QueryBuilder::<$db>::new(format!("SELECT {EXTERNAL_USER_COLUMNS} FROM external_users"));
                push_user_filter(&mut qb, workspace_id, filter);
                qb.push(" ORDER BY created_at, id LIMIT ").push_bind(paging.limit).push(" OFFSET ").push_bind(paging.offset);
                let rows: Vec<ExternalUserRow> = qb.build_query_as().fetch_all(&self.read).await?;
                let mut count = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM (SELECT 1 FROM external_users");
                push_user_filter(&mut count, workspace_id, filter);
                let (total, total_is_exact) = capped_total(&self.read, paging, rows.len(), count).await?;
                Ok(Page { items: convert(rows)?, total, total_is_exact })
            }

            #[tracing::instrument(skip_all)]
            async fn update_external_user(&self, u: &ExternalUser) -> StoreResult<()> {
                let $s = self;
                let mut tx: Tx = $begin.await?;
                require_user_refs(&mut tx, u).await?;
                let done = sqlx::query(
                    "UPDATE external_users SET external_id = $1, identifier = $2, name = $3, tier_id = $4, \
                     group_id = $5, blocked = $6, time_zone = $7, updated_at = $8 WHERE id = $9 AND workspace_id = $10",
                )
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
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(Entity::ExternalUser));
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn insert_access_token(&self, token_hash: &[u8], user: &ExternalUser, created_at: Timestamp, expires_at: Timestamp) -> StoreResult<()> {
                sqlx::query("INSERT INTO access_tokens (token_hash, workspace_id, external_user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
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
                let sql = format!(
                    "SELECT {}, t.expires_at FROM access_tokens t JOIN external_users u ON u.id = t.external_user_id WHERE t.token_hash = $1",
                    EXTERNAL_USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
                );
                let row: Option<AccessTokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(token_hash)
                    .fetch_optional(&self.read)
                    .await?;
                row.map(AccessToken::try_from).transpose()
            }

            #[tracing::instrument(skip_all)]
            async fn insert_staff_user(&self, u: &StaffUser) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO staff_users (id, workspace_id, email, first_name, last_name, external_id, role, status, \
                     phone_number, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
                .bind(u.created_at.micros())
                .bind(u.updated_at.micros())
                .execute(&self.write)
                .await?;
                Ok(())
            }

            #[tracing::instrument(skip_all)]
            async fn get_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser> {
                let sql = format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE id = $1 AND workspace_id = $2");
                let row: Option<StaffRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(workspace_id)
                    .fetch_optional(&self.read)
                    .await?;
                row.ok_or(StoreError::NotFound(Entity::StaffUser))?.try_into()
            }

            #[tracing::instrument(skip_all)]
            async fn list_staff_users(&self, workspace_id: Uuid) -> StoreResult<Vec<StaffUser>> {
                let sql = format!("SELECT {STAFF_COLUMNS} FROM staff_users WHERE workspace_id = $1 ORDER BY created_at, id");
                let rows: Vec<StaffRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(workspace_id)
                    .fetch_all(&self.read)
                    .await?;
                convert(rows)
            }
        }

        async fn insert_workspace(tx: &mut Tx, new: &NewWorkspace) -> StoreResult<()> {
            let ws = &new.workspace;
            sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(ws.id)
                .bind(&ws.name)
                .bind(ws.created_at.micros())
                .execute(&mut **tx)
                .await?;
            insert_channel(tx, &new.email_channel).await?;
            insert_api_key(tx, &new.admin_key, &new.admin_key_hash).await
        }

        async fn insert_channel(tx: &mut Tx, c: &Channel) -> StoreResult<()> {
            sqlx::query("INSERT INTO channels (id, workspace_id, name, type, builtin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(c.id)
                .bind(c.workspace_id)
                .bind(&c.name)
                .bind(c.kind.as_str())
                .bind(c.builtin)
                .bind(c.created_at.micros())
                .bind(c.updated_at.micros())
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_api_key(tx: &mut Tx, k: &ApiKey, secret_hash: &[u8]) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO api_keys (id, workspace_id, name, role, prefix, secret_hash, created_by, created_at, last_used_at, revoked_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(k.id)
            .bind(k.workspace_id)
            .bind(&k.name)
            .bind(k.role.as_str())
            .bind(&k.prefix)
            .bind(secret_hash)
            .bind(k.created_by)
            .bind(k.created_at.micros())
            .bind(k.last_used_at.map(Timestamp::micros))
            .bind(k.revoked_at.map(Timestamp::micros))
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
    };
}

pub(super) use impl_store;
