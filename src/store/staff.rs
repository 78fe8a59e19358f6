//! The team: staff users, their groups and folders and memberships, invitations, passwords, search
//! (seed 003).

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::support::corrupt;
use super::{Page, Paging, StaffFilter, StaffKey, StoreError, StoreResult};
use crate::domain::{Actor, CollectionKind, Role, StaffCollection, StaffStatus, StaffUser, Timestamp};

/// A new staff user with everything created with it in the same transaction.
#[derive(Debug, Clone)]
pub struct NewStaffMember {
    pub user: StaffUser,
    /// argon2id PHC string of the password given at creation, if any.
    pub password_hash: Option<String>,
    pub group_ids: Vec<Uuid>,
    pub folder_ids: Vec<Uuid>,
    pub invitation: NewInvitation,
    /// Who the `staff_user.invited` event names.
    pub actor: Actor,
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
    async fn insert_staff_user(&self, user: &StaffUser, actor: Actor) -> StoreResult<()>;
    async fn get_staff_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<StaffUser>;
    async fn list_staff_users(&self, workspace_id: Uuid) -> StoreResult<Vec<StaffUser>>;
    /// The first `limit` active staff users in the order they joined, and whether more follow.
    async fn active_staff_users(&self, workspace_id: Uuid, limit: i64) -> StoreResult<(Vec<StaffUser>, bool)>;
    /// The staff users among `ids`, whatever their status (other ids are left out).
    async fn staff_users_among(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<StaffUser>>;

    async fn insert_staff_collection(&self, c: &StaffCollection, actor: Actor) -> StoreResult<()>;
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
    async fn delete_staff_collection(
        &self,
        workspace_id: Uuid,
        kind: CollectionKind,
        id: Uuid,
        actor: Actor,
    ) -> StoreResult<()>;

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
    async fn delete_staff_user(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()>;
    /// Sets the status; records `staff_user.activated`/`disabled` when it changed.
    async fn set_staff_status(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        status: StaffStatus,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<StaffUser>;

    /// Adds a fresh invitation for the user if `may_invite` (the caller's rule) allows it for the user
    /// as stored, checked in the same transaction; `false` (and nothing written) when it does not.
    async fn insert_staff_invitation(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        invitation: &NewInvitation,
        may_invite: for<'u> fn(&'u StaffUser) -> bool,
        actor: Actor,
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

pub(super) const INSERT_COLLECTION: &str = "INSERT INTO staff_collections (id, workspace_id, kind, name, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const LIST_COLLECTIONS: &str = "SELECT id, workspace_id, kind, name, created_at, updated_at FROM staff_collections \
     WHERE workspace_id = $1 AND kind = $2 ORDER BY created_at, id";
pub(super) const GET_COLLECTION: &str = "SELECT id, workspace_id, kind, name, created_at, updated_at FROM staff_collections WHERE id = $1 AND workspace_id = $2 AND kind = $3";
pub(super) const COLLECTION_EXISTS: &str =
    "SELECT 1 FROM staff_collections WHERE id = $1 AND workspace_id = $2 AND kind = $3";
pub(super) const DELETE_COLLECTION: &str =
    "DELETE FROM staff_collections WHERE id = $1 AND workspace_id = $2 AND kind = $3";
pub(super) const INSERT_MEMBERSHIP: &str =
    "INSERT INTO staff_memberships (staff_user_id, collection_id, workspace_id) VALUES ($1, $2, $3)";
pub(super) const MEMBERSHIPS: &str = "SELECT c.kind, c.id FROM staff_memberships m \
     JOIN staff_collections c ON c.id = m.collection_id \
     WHERE m.staff_user_id = $1 AND m.workspace_id = $2 ORDER BY c.created_at, c.id";

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

/// `SELECT <every staff user column> FROM staff_users <rest>`, as a constant, in the order `StaffRow`
/// expects.
macro_rules! select_staff_users {
    ($rest:literal) => {
        concat!(
            "SELECT id, workspace_id, email, first_name, last_name, external_id, role, status, phone_number, \
             created_at, updated_at, role_named_user FROM staff_users ",
            $rest
        )
    };
}

pub(super) const GET_STAFF_USER: &str = select_staff_users!("WHERE id = $1 AND workspace_id = $2");
pub(super) const LIST_STAFF_USERS: &str = select_staff_users!("WHERE workspace_id = $1 ORDER BY created_at, id");
/// A range of `ix_staff_users_status`, in its order.
pub(super) const ACTIVE_STAFF_USERS: &str =
    select_staff_users!("WHERE workspace_id = $1 AND status = 'active' ORDER BY created_at, id LIMIT $2");
pub(super) const STAFF_USER_BY_EMAIL: &str =
    select_staff_users!("WHERE workspace_id = $1 AND lower(email) = lower($2)");
pub(super) const STAFF_USER_BY_EXTERNAL_ID: &str = select_staff_users!("WHERE workspace_id = $1 AND external_id = $2");
/// Followed by the filter, the order and the page.
pub(super) const SEARCH_STAFF_USERS: &str = select_staff_users!("");
/// Followed by the workspace id and `AND id IN (...)`.
/// Followed by the ids and the workspace (`push_keys`).
pub(super) const MEMBER_STAFF: &str = select_staff_users!("WHERE ");
/// Followed by the filter.
pub(super) const COUNT_STAFF_USERS: &str = "SELECT COUNT(*) FROM staff_users";
pub(super) const DELETE_STAFF_USER: &str = "DELETE FROM staff_users WHERE id = $1 AND workspace_id = $2";
pub(super) const SET_STAFF_STATUS: &str =
    "UPDATE staff_users SET status = $1, updated_at = $2 WHERE id = $3 AND workspace_id = $4";
pub(super) const STAFF_CREDENTIALS: &str = "SELECT u.id, u.workspace_id, u.email, u.first_name, u.last_name, \
     u.external_id, u.role, u.status, u.phone_number, u.created_at, u.updated_at, u.role_named_user, u.password_hash \
     FROM staff_users u WHERE lower(u.email) = lower($1) ORDER BY u.created_at, u.id";
pub(super) const INSERT_INVITATION: &str = "INSERT INTO staff_invitations (token_hash, workspace_id, staff_user_id, \
     created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
pub(super) const FIND_INVITATION: &str = "SELECT u.id, u.workspace_id, u.email, u.first_name, u.last_name, \
     u.external_id, u.role, u.status, u.phone_number, u.created_at, u.updated_at, u.role_named_user, i.expires_at, i.accepted_at, \
     u.password_hash IS NOT NULL AS has_password \
     FROM staff_invitations i JOIN staff_users u ON u.id = i.staff_user_id WHERE i.token_hash = $1";
/// Marks an open invitation used at `$1`; yields whose it was.
pub(super) const ACCEPT_INVITATION: &str = "UPDATE staff_invitations SET accepted_at = $1 \
     WHERE token_hash = $2 AND accepted_at IS NULL AND expires_at > $1 RETURNING workspace_id, staff_user_id";
/// Activates a still invited user, keeping its password hash unless a new one is given; it must have one.
pub(super) const ACTIVATE_STAFF_USER: &str = "UPDATE staff_users SET status = 'active', \
     password_hash = COALESCE($1, password_hash), updated_at = $2 \
     WHERE id = $3 AND workspace_id = $4 AND status = 'invited' AND COALESCE($1, password_hash) IS NOT NULL";
pub(super) const INSERT_STAFF_USER: &str = "INSERT INTO staff_users (id, workspace_id, email, first_name, last_name, \
     external_id, role, status, phone_number, password_hash, created_at, updated_at, role_named_user) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
pub(super) const EMAIL_TAKEN: &str = "SELECT 1 FROM staff_users WHERE workspace_id = $1 AND lower(email) = lower($2)";
pub(super) const EXTERNAL_ID_TAKEN: &str = "SELECT 1 FROM staff_users WHERE workspace_id = $1 AND external_id = $2";

#[derive(FromRow)]
pub(super) struct StaffRow {
    pub(super) id: Uuid,
    pub(super) workspace_id: Uuid,
    pub(super) email: String,
    pub(super) first_name: Option<String>,
    pub(super) last_name: Option<String>,
    pub(super) external_id: Option<String>,
    pub(super) role: String,
    pub(super) status: String,
    pub(super) phone_number: Option<String>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) role_named_user: bool,
}

impl TryFrom<StaffRow> for StaffUser {
    type Error = StoreError;
    fn try_from(r: StaffRow) -> Result<Self, StoreError> {
        Ok(StaffUser {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            role_named_user: r.role_named_user,
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
