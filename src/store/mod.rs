//! Storage: one trait, one implementation per database, each with its own migrations.
//!
//! Every method is one transaction. Methods that write check the ids they are given against the
//! caller's workspace inside that transaction, so a reference is never dangling or foreign.

mod error;
mod migrations;
pub mod postgres;
pub mod request_participants;
mod rows;
mod sql;
mod sqlite;
pub mod staff;
pub mod tickets;
mod web;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::{ApiKey, Channel, ExternalUser, ExternalUserGroup, StaffUser, Tier, Timestamp, Workspace};

pub use error::{Entity, StoreError, Unique};
pub use postgres::PostgresStore;
pub use request_participants::{ParticipantsChange, ParticipantsOutcome, RequestParticipantStore, RequestRef};
pub use sqlite::SqliteStore;
pub use staff::{NewInvitation, NewStaffMember, StaffFilter, StaffKey, StaffStore};
pub use tickets::{
    NewParticipant, NewTicket, ParticipantKey, TicketCursor, TicketDetail, TicketFilter, TicketOrder, TicketPage,
    TicketSortKey, TicketStore, TicketUpdate, Viewer,
};
pub use web::{NewWebSession, WebStore};

pub type StoreResult<T> = Result<T, StoreError>;

/// A new workspace with its built-in e-mail channel and its first admin API key.
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub workspace: Workspace,
    pub email_channel: Channel,
    pub admin_key: ApiKey,
    pub admin_key_hash: Vec<u8>,
}

/// Which of a channel's keys identifies an external user, in the order seed 001's authenticate tries
/// them.
#[derive(Debug, Clone, Copy)]
pub enum UserKey<'a> {
    Id(Uuid),
    ExternalId(&'a str),
    Identifier(&'a str),
}

#[derive(Debug, Clone, Default)]
pub struct ExternalUserFilter {
    pub channel_ids: Vec<Uuid>,
    pub external_user_group_ids: Vec<Uuid>,
    pub super_identity_ids: Vec<Uuid>,
    pub tier_ids: Vec<Uuid>,
    /// Matched case-insensitively anywhere in name, identifier and external id.
    pub search: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub external_id: Option<String>,
    pub ids: Vec<Uuid>,
    pub tier_ids: Vec<Uuid>,
    pub search: Option<String>,
}

/// An offset page and how many records match in all.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The number of matches, counted up to [`COUNT_CAP`].
    pub total: i64,
    /// Whether `total` is exact; when false, more than [`COUNT_CAP`] records match.
    pub total_is_exact: bool,
}

/// Counting stops here: an exact count of a million matches would cost more than the page itself,
/// and nobody pages through more than this by count (see docs/decisions/list-counts.md).
pub const COUNT_CAP: i64 = 10_000;

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub offset: i64,
    pub limit: i64,
}

/// An external user as authenticated by an access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub user: ExternalUser,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait Store: TicketStore + StaffStore + WebStore + RequestParticipantStore + Send + Sync + 'static {
    /// Cheap round trip used by `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    async fn create_workspace(&self, new: &NewWorkspace) -> StoreResult<()>;
    /// Creates the server's first workspace unless one was already bootstrapped, even by another node
    /// starting at the same moment; `false` when it was.
    async fn bootstrap_workspace(&self, new: &NewWorkspace) -> StoreResult<bool>;
    async fn count_workspaces(&self) -> StoreResult<i64>;
    /// The ids of up to `limit` workspaces, oldest first.
    async fn workspace_ids(&self, limit: i64) -> StoreResult<Vec<Uuid>>;
    async fn builtin_email_channel(&self, workspace_id: Uuid) -> StoreResult<Channel>;

    async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8]) -> StoreResult<()>;
    async fn api_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<ApiKey>>;
    async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> StoreResult<()>;
    async fn list_api_keys(&self, workspace_id: Uuid) -> StoreResult<Vec<ApiKey>>;
    async fn revoke_api_key(&self, workspace_id: Uuid, id: Uuid, at: Timestamp) -> StoreResult<ApiKey>;

    async fn insert_channel(&self, channel: &Channel) -> StoreResult<()>;
    async fn list_channels(&self, workspace_id: Uuid) -> StoreResult<Vec<Channel>>;
    async fn get_channel(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Channel>;
    async fn update_channel(&self, channel: &Channel) -> StoreResult<()>;
    async fn delete_channel(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()>;

    async fn insert_tier(&self, tier: &Tier) -> StoreResult<()>;
    async fn list_tiers(&self, workspace_id: Uuid, ids: &[Uuid], search: Option<&str>) -> StoreResult<Vec<Tier>>;
    async fn get_tier(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Tier>;
    async fn update_tier(&self, tier: &Tier) -> StoreResult<()>;
    async fn delete_tier(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()>;

    async fn insert_group(&self, group: &ExternalUserGroup) -> StoreResult<()>;
    async fn list_groups(
        &self,
        workspace_id: Uuid,
        filter: &GroupFilter,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUserGroup>>;
    async fn get_group(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUserGroup>;
    async fn delete_group(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<()>;

    /// Inserts the user together with the new super identity it names.
    async fn insert_external_user(&self, user: &ExternalUser) -> StoreResult<()>;
    async fn get_external_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUser>;
    async fn find_external_user(
        &self,
        workspace_id: Uuid,
        channel_id: Uuid,
        key: UserKey<'_>,
    ) -> StoreResult<Option<ExternalUser>>;
    async fn list_external_users(
        &self,
        workspace_id: Uuid,
        filter: &ExternalUserFilter,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUser>>;
    async fn update_external_user(&self, user: &ExternalUser) -> StoreResult<()>;

    async fn insert_access_token(
        &self,
        token_hash: &[u8],
        user: &ExternalUser,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    async fn access_token(&self, token_hash: &[u8]) -> StoreResult<Option<AccessToken>>;

    async fn insert_staff_user(&self, user: &StaffUser) -> StoreResult<()>;
    async fn get_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser>;
    async fn list_staff_users(&self, workspace_id: Uuid) -> StoreResult<Vec<StaffUser>>;
}
