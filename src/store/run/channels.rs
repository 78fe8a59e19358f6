//! Runs the channels area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::record;
use super::{Backend, Db, Dialect, Tx, capped_total, locked, push_in, push_page, require, split_page};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::{Actor, Channel, ExternalUserGroup, Tier};
use crate::store::channels::*;
use crate::store::support::{contains_pattern, convert};
use crate::store::{Entity, GroupFilter, Page, Paging, StoreError, StoreResult};

#[async_trait]
impl ChannelStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn builtin_email_channel(&self, workspace_id: Uuid) -> StoreResult<Channel> {
        let row: Option<ChannelRow> =
            sqlx::query_as(BUILTIN_CHANNEL).bind(workspace_id).fetch_optional(&self.read).await?;
        row.ok_or(StoreError::NotFound(Entity::Channel))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_channel(&self, channel: &Channel, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_channel(&mut tx, channel).await?;
        let created = NewEvent::new(EventType::ChannelCreated, actor, event::channel(channel));
        record(&mut tx, channel.workspace_id, &[created]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_channels(&self, workspace_id: Uuid) -> StoreResult<Vec<Channel>> {
        let rows: Vec<ChannelRow> = sqlx::query_as(LIST_CHANNELS).bind(workspace_id).fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_channel(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Channel> {
        self.channel_row(workspace_id, id).await?.ok_or(StoreError::NotFound(Entity::Channel))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_channel(&self, c: &Channel, actor: Actor) -> StoreResult<Channel> {
        let mut tx = self.begin_write().await?;
        let before: Channel =
            locked::<ChannelRow, _>(&mut tx, GET_CHANNEL, c.workspace_id, c.id, Entity::Channel).await?;
        let Some(updated) =
            NewEvent::updated(EventType::ChannelUpdated, actor, &event::channel(&before), event::channel(c))
        else {
            return Ok(before);
        };
        sqlx::query(UPDATE_CHANNEL)
            .bind(&c.name)
            .bind(c.kind.as_str())
            .bind(c.updated_at.micros())
            .bind(c.id)
            .bind(c.workspace_id)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, c.workspace_id, &[updated]).await?;
        tx.commit().await?;
        Ok(c.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_channel(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let gone: Channel = locked::<ChannelRow, _>(&mut tx, GET_CHANNEL, workspace_id, id, Entity::Channel).await?;
        let used: Option<i32> = sqlx::query_scalar(CHANNEL_HAS_USERS).bind(id).fetch_optional(&mut *tx).await?;
        if used.is_some() {
            return Err(StoreError::InUse(Entity::Channel));
        }
        sqlx::query(DELETE_CHANNEL).bind(id).bind(workspace_id).execute(&mut *tx).await?;
        record(&mut tx, workspace_id, &[NewEvent::new(EventType::ChannelDeleted, actor, event::channel(&gone))])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_tier(&self, t: &Tier, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(INSERT_TIER)
            .bind(t.id)
            .bind(t.workspace_id)
            .bind(&t.name)
            .bind(&t.description)
            .bind(t.created_at.micros())
            .bind(t.updated_at.micros())
            .execute(&mut *tx)
            .await?;
        record(&mut tx, t.workspace_id, &[NewEvent::new(EventType::TierCreated, actor, event::tier(t))]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_tiers(&self, workspace_id: Uuid, ids: &[Uuid], search: Option<&str>) -> StoreResult<Vec<Tier>> {
        let mut qb = QueryBuilder::<Db>::new(LIST_TIERS);
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

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_tier(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Tier> {
        let row: Option<TierRow> =
            sqlx::query_as(GET_TIER).bind(id).bind(workspace_id).fetch_optional(&self.read).await?;
        row.ok_or(StoreError::NotFound(Entity::Tier))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_tier(&self, t: &Tier, actor: Actor) -> StoreResult<Tier> {
        let mut tx = self.begin_write().await?;
        let before: Tier = locked::<TierRow, _>(&mut tx, GET_TIER, t.workspace_id, t.id, Entity::Tier).await?;
        let Some(updated) = NewEvent::updated(EventType::TierUpdated, actor, &event::tier(&before), event::tier(t))
        else {
            return Ok(before);
        };
        sqlx::query(UPDATE_TIER)
            .bind(&t.name)
            .bind(&t.description)
            .bind(t.updated_at.micros())
            .bind(t.id)
            .bind(t.workspace_id)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, t.workspace_id, &[updated]).await?;
        tx.commit().await?;
        Ok(t.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_tier(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let gone: Tier = locked::<TierRow, _>(&mut tx, GET_TIER, workspace_id, id, Entity::Tier).await?;
        sqlx::query(DELETE_TIER).bind(id).bind(workspace_id).execute(&mut *tx).await?;
        record(&mut tx, workspace_id, &[NewEvent::new(EventType::TierDeleted, actor, event::tier(&gone))]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_group(&self, g: &ExternalUserGroup, actor: Actor) -> StoreResult<ExternalUserGroup> {
        let mut tx = self.begin_write().await?;
        if let Some(tier) = g.tier_id {
            require(&mut tx, "tiers", Entity::Tier, g.workspace_id, tier).await?;
        }
        sqlx::query(START_GROUP_COUNTER).bind(g.workspace_id).execute(&mut *tx).await?;
        let number: i64 = sqlx::query_scalar(NEXT_GROUP_NUMBER).bind(g.workspace_id).fetch_one(&mut *tx).await?;
        let g = &ExternalUserGroup { number, ..g.clone() };
        sqlx::query(INSERT_GROUP)
            .bind(g.id)
            .bind(g.workspace_id)
            .bind(&g.external_id)
            .bind(&g.name)
            .bind(g.tier_id)
            .bind(g.created_at.micros())
            .bind(g.updated_at.micros())
            .bind(g.number)
            .execute(&mut *tx)
            .await?;
        record(&mut tx, g.workspace_id, &[NewEvent::new(EventType::GroupCreated, actor, event::group(g))]).await?;
        tx.commit().await?;
        Ok(g.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_groups(
        &self,
        workspace_id: Uuid,
        filter: &GroupFilter,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUserGroup>> {
        let mut qb = QueryBuilder::<Db>::new(LIST_GROUPS);
        push_group_filter(&mut qb, workspace_id, filter);
        qb.push(" ORDER BY created_at, id");
        push_page(&mut qb, paging);
        let mut rows: Vec<GroupRow> = qb.build_query_as().fetch_all(&self.read).await?;
        let more = split_page(&mut rows, paging);
        let mut count = QueryBuilder::<Db>::new(COUNT_GROUPS);
        push_group_filter(&mut count, workspace_id, filter);
        let (total, total_is_exact) = capped_total(&self.read, paging, rows.len(), more, count).await?;
        Ok(Page { items: convert(rows)?, total, total_is_exact, more })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_group(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUserGroup> {
        let row: Option<GroupRow> =
            sqlx::query_as(GET_GROUP).bind(id).bind(workspace_id).fetch_optional(&self.read).await?;
        row.ok_or(StoreError::NotFound(Entity::ExternalUserGroup))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_group(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let gone: ExternalUserGroup =
            locked::<GroupRow, _>(&mut tx, GET_GROUP, workspace_id, id, Entity::ExternalUserGroup).await?;
        sqlx::query(DELETE_GROUP).bind(id).bind(workspace_id).execute(&mut *tx).await?;
        record(&mut tx, workspace_id, &[NewEvent::new(EventType::GroupDeleted, actor, event::group(&gone))]).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The one insert of a channel, for the workspace's built-in one and for those added later.
pub(super) async fn insert_channel(tx: &mut Tx, c: &Channel) -> StoreResult<()> {
    sqlx::query(INSERT_CHANNEL)
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

fn push_group_filter(qb: &mut QueryBuilder<Db>, workspace_id: Uuid, f: &GroupFilter) {
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

/// [`Dialect::channel_row`] through the sqlx read pool.
pub(in crate::store) async fn pooled_channel_row(
    read: impl sqlx::Executor<'_, Database = Db>,
    workspace_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<ChannelRow>> {
    Ok(sqlx::query_as(GET_CHANNEL).bind(id).bind(workspace_id).fetch_optional(read).await?)
}
