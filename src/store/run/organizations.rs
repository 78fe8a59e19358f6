//! Runs the organizations area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::record;
use super::{Backend, Db, Dialect, Tx, capped_total, push_in, push_keys};
use crate::domain::event::external_user_changes;
use crate::domain::{ExternalUser, ExternalUserGroup};
use crate::store::channels::GroupRow;
use crate::store::external_users::ExternalUserRow;
use crate::store::organizations::*;
use crate::store::support::convert;
use crate::store::{Entity, Page, Paging, StoreError, StoreResult};

#[async_trait]
impl OrganizationStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn group_by_number(&self, workspace_id: Uuid, number: i64) -> StoreResult<ExternalUserGroup> {
        let row: Option<GroupRow> =
            sqlx::query_as(GET_GROUP_BY_NUMBER).bind(number).bind(workspace_id).fetch_optional(&self.read).await?;
        row.ok_or(StoreError::NotFound(Entity::ExternalUserGroup))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn group_members(&self, workspace_id: Uuid, number: i64, paging: Paging) -> StoreResult<Page<ExternalUser>> {
        let group = self.group_by_number(workspace_id, number).await?;
        let mut rows: Vec<ExternalUserRow> = sqlx::query_as(GROUP_MEMBERS)
            .bind(workspace_id)
            .bind(group.id)
            .bind(paging.limit + 1)
            .bind(paging.offset)
            .fetch_all(&self.read)
            .await?;
        let more = rows.len() as i64 > paging.limit;
        rows.truncate(paging.limit.max(0) as usize);
        let mut count = QueryBuilder::<Db>::new(COUNT_GROUP_MEMBERS);
        count.push_bind(workspace_id).push(" AND group_id = ").push_bind(group.id);
        let (total, total_is_exact) = capped_total(&self.read, paging, rows.len(), more, count).await?;
        Ok(Page { items: convert(rows)?, total, total_is_exact, more })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn change_group_members(&self, c: &GroupMembersChange<'_>) -> StoreResult<GroupMembersOutcome> {
        let ws = c.workspace_id;
        let mut tx = self.begin_write().await?;
        let sql = format!("{GET_GROUP_BY_NUMBER}{}", Backend::LOCK_ROW);
        let group: Option<GroupRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(c.number).bind(ws).fetch_optional(&mut *tx).await?;
        let group: ExternalUserGroup = group.ok_or(StoreError::NotFound(Entity::ExternalUserGroup))?.try_into()?;
        let users = users(&mut tx, ws, c.users).await?;
        let unknown: Vec<Uuid> = c.users.iter().filter(|id| !users.iter().any(|u| u.id == **id)).copied().collect();
        if !unknown.is_empty() {
            return Ok(GroupMembersOutcome::Unknown(unknown));
        }
        let elsewhere: Vec<Uuid> =
            users.iter().filter_map(|u| u.external_user_group_id.filter(|g| c.join && *g != group.id)).collect();
        if !elsewhere.is_empty() {
            let numbers = numbers(&mut tx, ws, &elsewhere).await?;
            let taken = users
                .iter()
                .filter_map(|u| {
                    let other = u.external_user_group_id.filter(|g| *g != group.id)?;
                    numbers.iter().find(|(id, _)| *id == other).map(|(_, n)| (u.id, *n))
                })
                .collect();
            return Ok(GroupMembersOutcome::InOtherGroup(taken));
        }
        let mut events = Vec::new();
        for before in &users {
            let member = before.external_user_group_id == Some(group.id);
            if member == c.join {
                continue;
            }
            let after =
                ExternalUser { external_user_group_id: c.join.then_some(group.id), updated_at: c.at, ..before.clone() };
            sqlx::query(SET_USER_GROUP)
                .bind(after.external_user_group_id)
                .bind(c.at.micros())
                .bind(after.id)
                .bind(ws)
                .execute(&mut *tx)
                .await?;
            events.extend(external_user_changes(c.actor, before, &after));
        }
        record(&mut tx, ws, &events).await?;
        tx.commit().await?;
        Ok(GroupMembersOutcome::Done)
    }
}

/// The workspace's external users with these ids, held until the commit.
async fn users(tx: &mut Tx, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<ExternalUser>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<Db>::new(USERS_BY_ID);
    push_keys(&mut qb, workspace_id, ids);
    qb.push(" ORDER BY created_at, id").push(Backend::LOCK_ROW);
    let rows: Vec<ExternalUserRow> = qb.build_query_as().fetch_all(&mut **tx).await?;
    convert(rows)
}

/// The numbers of the workspace's groups with these ids.
async fn numbers(tx: &mut Tx, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, i64)>> {
    let mut qb = QueryBuilder::<Db>::new(NUMBERS_OF_GROUPS);
    qb.push_bind(workspace_id);
    push_in(&mut qb, "id", ids);
    Ok(qb.build_query_as().fetch_all(&mut **tx).await?)
}
