//! The team: staff users, their groups and folders and memberships, invitations, passwords, search
//! (seed 003).

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::support::corrupt;
use super::{Page, Paging, StaffFilter, StaffKey, StoreError, StoreResult};
use crate::domain::{CollectionKind, Role, StaffCollection, StaffStatus, StaffUser, Timestamp};

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

/// Why a new staff member was not created: what the stored data says against it, all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaffConflicts {
    pub email_taken: bool,
    pub external_id_taken: bool,
    /// Given group ids that name no group of the workspace, in the order given.
    pub unknown_groups: Vec<Uuid>,
    /// Given folder ids that name no folder of the workspace, in the order given.
    pub unknown_folders: Vec<Uuid>,
}

impl StaffConflicts {
    fn is_empty(&self) -> bool {
        *self == StaffConflicts::default()
    }
}

/// What creating a staff member did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffMemberOutcome {
    Created,
    /// Nothing was written.
    Refused(StaffConflicts),
}

impl StaffConflicts {
    pub(super) fn into_outcome(self) -> StaffMemberOutcome {
        if self.is_empty() { StaffMemberOutcome::Created } else { StaffMemberOutcome::Refused(self) }
    }
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
    async fn insert_staff_user(&self, user: &StaffUser) -> StoreResult<()>;
    async fn get_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser>;
    async fn list_staff_users(&self, workspace_id: Uuid) -> StoreResult<Vec<StaffUser>>;

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

    /// Inserts the user, its memberships and its invitation, unless the e-mail or external id is taken
    /// or a group or folder is unknown: then it writes nothing and tells every such conflict.
    async fn create_staff_member(&self, new: &NewStaffMember) -> StoreResult<StaffMemberOutcome>;
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

    /// Adds a fresh invitation for the user if `may_invite` (the caller's rule) allows it for the user
    /// as stored, checked in the same transaction; `false` (and nothing written) when it does not.
    async fn insert_staff_invitation(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        invitation: &NewInvitation,
        may_invite: for<'u> fn(&'u StaffUser) -> bool,
    ) -> StoreResult<bool>;
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
            kind: CollectionKind::parse(&r.kind).ok_or_else(|| corrupt("collection kind", &r.kind))?,
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
    pub(super) user: StaffRow,
    pub(super) expires_at: i64,
    pub(super) accepted_at: Option<i64>,
    pub(super) has_password: bool,
}

#[derive(FromRow)]
pub(super) struct CredentialsRow {
    #[sqlx(flatten)]
    pub(super) user: StaffRow,
    pub(super) password_hash: Option<String>,
}

pub(super) const STAFF_COLUMNS: &str = "id, workspace_id, email, first_name, last_name, external_id, role, status, \
     phone_number, created_at, updated_at";
/// [`STAFF_COLUMNS`] of the table aliased `u`.
pub(super) const STAFF_COLUMNS_OF_U: &str = "u.id, u.workspace_id, u.email, u.first_name, u.last_name, \
     u.external_id, u.role, u.status, u.phone_number, u.created_at, u.updated_at";
pub(super) const INSERT_STAFF_USER: &str = "INSERT INTO staff_users (id, workspace_id, email, first_name, last_name, \
     external_id, role, status, phone_number, password_hash, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
pub(super) const EMAIL_TAKEN: &str = "SELECT 1 FROM staff_users WHERE workspace_id = $1 AND lower(email) = lower($2)";
pub(super) const EXTERNAL_ID_TAKEN: &str = "SELECT 1 FROM staff_users WHERE workspace_id = $1 AND external_id = $2";

#[derive(FromRow)]
pub(super) struct StaffRow {
    id: Uuid,
    workspace_id: Uuid,
    email: String,
    first_name: Option<String>,
    last_name: Option<String>,
    external_id: Option<String>,
    role: String,
    status: String,
    phone_number: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<StaffRow> for StaffUser {
    type Error = StoreError;
    fn try_from(r: StaffRow) -> Result<Self, StoreError> {
        Ok(StaffUser {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            status: StaffStatus::parse(&r.status).ok_or_else(|| corrupt("staff status", &r.status))?,
            id: r.id,
            workspace_id: r.workspace_id,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            external_id: r.external_id,
            phone_number: r.phone_number,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}
