//! Organizations, as Jira Service Management calls external user groups: a group named by its number
//! in the workspace, and its members (the external users whose group it is).

use async_trait::async_trait;
use uuid::Uuid;

use super::{Page, Paging, StoreResult};
use crate::domain::{Actor, ExternalUser, ExternalUserGroup, Timestamp};

/// Users joining or leaving the group numbered `number`, all or none.
#[derive(Debug, Clone)]
pub struct GroupMembersChange<'a> {
    pub workspace_id: Uuid,
    pub number: i64,
    pub users: &'a [Uuid],
    /// `true` to join the group, `false` to leave it.
    pub join: bool,
    pub at: Timestamp,
    pub actor: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupMembersOutcome {
    Done,
    /// These ids name no external user of the workspace; nothing changed.
    Unknown(Vec<Uuid>),
    /// These users already belong to another group (by its number); nothing changed.
    InOtherGroup(Vec<(Uuid, i64)>),
}

#[async_trait]
pub trait OrganizationStore: Send + Sync {
    async fn group_by_number(&self, workspace_id: Uuid, number: i64) -> StoreResult<ExternalUserGroup>;
    /// A page of the group's members, oldest first; `NotFound` when there is no such group.
    async fn group_members(&self, workspace_id: Uuid, number: i64, paging: Paging) -> StoreResult<Page<ExternalUser>>;
    /// Joining a user who is a member already, or taking off one who is not, changes nothing.
    async fn change_group_members(&self, change: &GroupMembersChange<'_>) -> StoreResult<GroupMembersOutcome>;
}

pub(super) const GET_GROUP_BY_NUMBER: &str = "SELECT id, workspace_id, number, external_id, name, tier_id, \
     created_at, updated_at FROM external_user_groups WHERE number = $1 AND workspace_id = $2";
pub(super) const GROUP_MEMBERS: &str = "SELECT id, workspace_id, channel_id, super_identity_id, external_id, \
     identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at FROM external_users \
     WHERE workspace_id = $1 AND group_id = $2 AND erased_at IS NULL ORDER BY created_at, id LIMIT $3 OFFSET $4";
pub(super) const COUNT_GROUP_MEMBERS: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM external_users \
     WHERE erased_at IS NULL AND workspace_id = ";
/// Followed by the ids and the workspace (`push_keys`).
pub(super) const USERS_BY_ID: &str = "SELECT id, workspace_id, channel_id, super_identity_id, external_id, \
     identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at FROM external_users \
     WHERE erased_at IS NULL AND ";
pub(super) const NUMBERS_OF_GROUPS: &str = "SELECT id, number FROM external_user_groups WHERE workspace_id = ";
pub(super) const SET_USER_GROUP: &str =
    "UPDATE external_users SET group_id = $1, updated_at = $2 WHERE id = $3 AND workspace_id = $4";
