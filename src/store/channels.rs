//! What external users are sorted by: the channels they come through, their tiers and their groups.

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::support::corrupt;
use super::{GroupFilter, Page, Paging, StoreError, StoreResult};
use crate::domain::{Actor, Channel, ChannelType, ExternalUserGroup, Tier, Timestamp};

#[async_trait]
pub trait ChannelStore: Send + Sync {
    async fn builtin_email_channel(&self, workspace_id: Uuid) -> StoreResult<Channel>;
    async fn insert_channel(&self, channel: &Channel, actor: Actor) -> StoreResult<()>;
    async fn list_channels(&self, workspace_id: Uuid) -> StoreResult<Vec<Channel>>;
    async fn get_channel(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Channel>;
    async fn update_channel(&self, channel: &Channel, actor: Actor) -> StoreResult<Channel>;
    /// Refuses (`InUse`) while external users come through the channel; never deletes the built-in one.
    async fn delete_channel(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()>;

    async fn insert_tier(&self, tier: &Tier, actor: Actor) -> StoreResult<()>;
    async fn list_tiers(&self, workspace_id: Uuid, ids: &[Uuid], search: Option<&str>) -> StoreResult<Vec<Tier>>;
    async fn get_tier(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Tier>;
    async fn update_tier(&self, tier: &Tier, actor: Actor) -> StoreResult<Tier>;
    async fn delete_tier(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()>;

    /// Hands out the group's number; returns the group as stored.
    async fn insert_group(&self, group: &ExternalUserGroup, actor: Actor) -> StoreResult<ExternalUserGroup>;
    async fn list_groups(
        &self,
        workspace_id: Uuid,
        filter: &GroupFilter,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUserGroup>>;
    async fn get_group(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUserGroup>;
    async fn delete_group(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()>;
}

pub(super) const INSERT_CHANNEL: &str = "INSERT INTO channels (id, workspace_id, name, type, builtin, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const BUILTIN_CHANNEL: &str = "SELECT id, workspace_id, name, type, builtin, created_at, updated_at \
     FROM channels WHERE workspace_id = $1 AND builtin";
pub(super) const BUILTIN_CHANNEL_ID: &str = "SELECT id FROM channels WHERE workspace_id = $1 AND builtin";
pub(super) const LIST_CHANNELS: &str = "SELECT id, workspace_id, name, type, builtin, created_at, updated_at \
     FROM channels WHERE workspace_id = $1 ORDER BY created_at, id";
pub(super) const GET_CHANNEL: &str = "SELECT id, workspace_id, name, type, builtin, created_at, updated_at \
     FROM channels WHERE id = $1 AND workspace_id = $2";
pub(super) const UPDATE_CHANNEL: &str =
    "UPDATE channels SET name = $1, type = $2, updated_at = $3 WHERE id = $4 AND workspace_id = $5";
pub(super) const CHANNEL_HAS_USERS: &str = "SELECT 1 FROM external_users WHERE channel_id = $1 LIMIT 1";
pub(super) const DELETE_CHANNEL: &str = "DELETE FROM channels WHERE id = $1 AND workspace_id = $2 AND NOT builtin";

pub(super) const INSERT_TIER: &str = "INSERT INTO tiers (id, workspace_id, name, description, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $6)";
/// Followed by the workspace id and the list's filters.
pub(super) const LIST_TIERS: &str =
    "SELECT id, workspace_id, name, description, created_at, updated_at FROM tiers WHERE workspace_id = ";
pub(super) const GET_TIER: &str = "SELECT id, workspace_id, name, description, created_at, updated_at \
     FROM tiers WHERE id = $1 AND workspace_id = $2";
pub(super) const UPDATE_TIER: &str =
    "UPDATE tiers SET name = $1, description = $2, updated_at = $3 WHERE id = $4 AND workspace_id = $5";
pub(super) const DELETE_TIER: &str = "DELETE FROM tiers WHERE id = $1 AND workspace_id = $2";

pub(super) const INSERT_GROUP: &str = "INSERT INTO external_user_groups (id, workspace_id, external_id, name, \
     tier_id, created_at, updated_at, number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// Creates the workspace's group counter row on its first group.
pub(super) const START_GROUP_COUNTER: &str =
    "INSERT INTO group_counters (workspace_id, n) VALUES ($1, 0) ON CONFLICT (workspace_id) DO NOTHING";
pub(super) const NEXT_GROUP_NUMBER: &str = "UPDATE group_counters SET n = n + 1 WHERE workspace_id = $1 RETURNING n";
/// Followed by the list's `WHERE`.
pub(super) const LIST_GROUPS: &str =
    "SELECT id, workspace_id, number, external_id, name, tier_id, created_at, updated_at FROM external_user_groups";
/// Followed by the list's `WHERE`; see `capped_total` in `run/`.
pub(super) const COUNT_GROUPS: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM external_user_groups";
pub(super) const GET_GROUP: &str = "SELECT id, workspace_id, number, external_id, name, tier_id, created_at, updated_at \
     FROM external_user_groups WHERE id = $1 AND workspace_id = $2";
pub(super) const DELETE_GROUP: &str = "DELETE FROM external_user_groups WHERE id = $1 AND workspace_id = $2";

#[derive(FromRow)]
pub(super) struct ChannelRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub builtin: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TryFrom<ChannelRow> for Channel {
    type Error = StoreError;
    fn try_from(r: ChannelRow) -> Result<Self, StoreError> {
        Ok(Channel {
            kind: ChannelType::parse(&r.kind).ok_or_else(|| corrupt("channel type", &r.kind))?,
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            builtin: r.builtin,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct TierRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<TierRow> for Tier {
    type Error = StoreError;
    fn try_from(r: TierRow) -> Result<Self, StoreError> {
        Ok(Tier {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            description: r.description,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct GroupRow {
    id: Uuid,
    workspace_id: Uuid,
    number: i64,
    external_id: String,
    name: String,
    tier_id: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<GroupRow> for ExternalUserGroup {
    type Error = StoreError;
    fn try_from(r: GroupRow) -> Result<Self, StoreError> {
        Ok(ExternalUserGroup {
            id: r.id,
            workspace_id: r.workspace_id,
            number: r.number,
            external_id: r.external_id,
            name: r.name,
            tier_id: r.tier_id,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}
