//! External users (the people integrations act for), the access tokens they sign in with, and the
//! search over them.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Entity, ExternalUserFilter, IssuedToken, Page, Paging, StoreError, StoreResult, Unique, UserKey};
use crate::domain::{Actor, ExternalUser, Timestamp};

/// An external user as authenticated by an access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub user: ExternalUser,
    pub expires_at: Timestamp,
    /// The API key that issued it (none when staff or the operator did); revoking the key deletes it.
    pub issued_by_key_id: Option<Uuid>,
}

#[async_trait]
pub trait ExternalUserStore: Send + Sync {
    /// Inserts the user together with the new super identity it names, or into the super identity
    /// of a user on another channel with the same e-mail or phone when the workspace matches
    /// automatically; answers the super identity the user is in.
    async fn insert_external_user(&self, user: &ExternalUser, actor: Actor) -> StoreResult<Uuid>;
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
    /// Stores `user` unless it equals the stored user but for `updated_at`; the stored user after it.
    async fn update_external_user(&self, user: &ExternalUser, actor: Actor) -> StoreResult<ExternalUser>;

    async fn insert_access_token(
        &self,
        token_hash: &[u8],
        user: &ExternalUser,
        created_at: Timestamp,
        expires_at: Timestamp,
        issued_by_key_id: Option<Uuid>,
    ) -> StoreResult<()>;
    async fn access_token(&self, token_hash: &[u8]) -> StoreResult<Option<AccessToken>>;
    /// Up to `limit` access tokens issued to these users of the workspace, newest first.
    async fn issued_tokens(&self, workspace_id: Uuid, user_ids: &[Uuid], limit: i64) -> StoreResult<Vec<IssuedToken>>;

    /// The channel's live users with these external ids (an import's lookup of one batch's keys).
    async fn find_external_users_by_external_ids(
        &self,
        workspace_id: Uuid,
        channel_id: Uuid,
        external_ids: &[String],
    ) -> StoreResult<Vec<ExternalUser>>;
    /// Rows an import should write per call of [`ExternalUserStore::import_external_users`] (one
    /// transaction): the backend's balance between the cost of a commit and how long it holds locks.
    fn import_batch_rows(&self) -> usize;
    /// Writes one batch of an import in one transaction: each create and update with the same
    /// reference checks, uniqueness rules and events as a single write. A row breaking a rule
    /// (an unknown channel, tier or group; an identifier another user has) is left out and its
    /// outcome says why; the others are written. `Stale` (nothing written) when a user to update
    /// changed since it was read: the batch must be planned again.
    async fn import_external_users(
        &self,
        workspace_id: Uuid,
        writes: &[ImportWrite],
        actor: Actor,
    ) -> StoreResult<ImportBatchOutcome>;
    /// Up to `limit` users of the filtered list after `after` (its `created_at`, `id`) in list order:
    /// an export reads the whole list page by page, each page one indexed range read.
    async fn export_external_users(
        &self,
        workspace_id: Uuid,
        filter: &ExternalUserFilter,
        after: Option<(Timestamp, Uuid)>,
        limit: i64,
    ) -> StoreResult<Vec<ExternalUser>>;
}

/// One row of an import batch, in file order.
#[derive(Debug, Clone)]
pub enum ImportWrite {
    /// A new user (its new super identity in `super_identity_id`).
    Create(ExternalUser),
    /// A user as it was read, and as it is to be stored.
    Update { before: Box<ExternalUser>, after: ExternalUser },
}

impl ImportWrite {
    /// The user as it is to be stored.
    pub fn user(&self) -> &ExternalUser {
        match self {
            ImportWrite::Create(u) | ImportWrite::Update { after: u, .. } => u,
        }
    }
}

/// What a batch did: each write's outcome in order, or nothing because a user changed meanwhile.
#[derive(Debug)]
pub enum ImportBatchOutcome {
    Done(Vec<Result<(), StoreError>>),
    Stale,
}

/// An import batch's reference checks by (channel, tier, group): whether the channel is the
/// built-in e-mail one, or the first reference not found.
pub(super) type CheckedRefs = HashMap<(Uuid, Option<Uuid>, Option<Uuid>), Result<bool, Entity>>;

/// The lower-cased identifiers a batch's writes claim, by channel: each new identifier of a write
/// not already refused, with the write's index (a write keeping its identifier claims nothing).
pub(super) fn claimed_identifiers(
    writes: &[ImportWrite],
    outcomes: &[Result<(), StoreError>],
) -> HashMap<Uuid, Vec<(usize, String)>> {
    let mut claimed: HashMap<Uuid, Vec<(usize, String)>> = HashMap::new();
    for (i, w) in writes.iter().enumerate() {
        if outcomes[i].is_err() {
            continue;
        }
        let new = w.user().identifier.as_deref().map(str::to_lowercase);
        let old = match w {
            ImportWrite::Create(_) => None,
            ImportWrite::Update { before, .. } => before.identifier.as_deref().map(str::to_lowercase),
        };
        if let Some(new) = new.filter(|n| old.as_ref() != Some(n)) {
            claimed.entry(w.user().channel_id).or_default().push((i, new));
        }
    }
    claimed
}

/// Refuses each claim of `wanted` (one channel's, from [`claimed_identifiers`]) whose identifier
/// another user already holds (`holders`: the stored holders' lower-cased identifiers and ids) or an
/// earlier write of the batch claimed: the unique index would refuse it.
pub(super) fn refuse_held(
    writes: &[ImportWrite],
    wanted: &[(usize, String)],
    holders: &HashMap<String, Uuid>,
    outcomes: &mut [Result<(), StoreError>],
) {
    let mut in_batch = HashSet::new();
    for (i, identifier) in wanted {
        let held_by_another = holders.get(identifier).is_some_and(|id| *id != writes[*i].user().id);
        if held_by_another || !in_batch.insert(identifier.as_str()) {
            outcomes[*i] = Err(StoreError::Duplicate(Unique::ExternalUserIdentifier));
        }
    }
}

/// What `USER_REFS_EXIST` answered, checked: `NotFound` for the first of the channel, tier and group
/// not in the workspace, else whether the channel is the built-in e-mail one and whether the
/// workspace matches automatically.
pub(super) fn checked_refs(
    (channel, builtin, tier, group, auto_match): (bool, bool, bool, bool, bool),
) -> Result<(bool, bool), Entity> {
    match (channel, tier, group) {
        (false, _, _) => Err(Entity::Channel),
        (_, false, _) => Err(Entity::Tier),
        (_, _, false) => Err(Entity::ExternalUserGroup),
        _ => Ok((builtin, auto_match)),
    }
}

/// Checks the channel, tier and group a user refers to in one round trip: each must be in the user's
/// workspace; also whether the workspace matches new users automatically, so a create looks for a
/// match only when it does.
pub(super) const USER_REFS_EXIST: &str = "SELECT EXISTS (SELECT 1 FROM channels WHERE id = $1 AND workspace_id = $4), \
     EXISTS (SELECT 1 FROM channels WHERE id = $1 AND workspace_id = $4 AND builtin), \
     $2 IS NULL OR EXISTS (SELECT 1 FROM tiers WHERE id = $2 AND workspace_id = $4), \
     $3 IS NULL OR EXISTS (SELECT 1 FROM external_user_groups WHERE id = $3 AND workspace_id = $4), \
     EXISTS (SELECT 1 FROM workspaces WHERE id = $4 AND auto_match)";
pub(super) const INSERT_SUPER_IDENTITY: &str =
    "INSERT INTO super_identities (id, workspace_id, created_at) VALUES ($1, $2, $3)";
pub(super) const INSERT_EXTERNAL_USER: &str = "INSERT INTO external_users (id, workspace_id, channel_id, \
     super_identity_id, external_id, identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at, \
     match_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub(super) const GET_EXTERNAL_USER: &str = "SELECT id, workspace_id, channel_id, super_identity_id, external_id, \
     identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at \
     FROM external_users WHERE id = $1 AND workspace_id = $2 AND erased_at IS NULL";
/// The multi-row insert of an import batch: followed by its `VALUES` lists.
pub(super) const INSERT_EXTERNAL_USERS: &str = "INSERT INTO external_users (id, workspace_id, channel_id, \
     super_identity_id, external_id, identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at, \
     match_key) ";
pub(super) const INSERT_SUPER_IDENTITIES: &str = "INSERT INTO super_identities (id, workspace_id, created_at) ";
/// An import's update: only when the user is as the import read it (`$12`, its `updated_at`).
pub(super) const UPDATE_IMPORTED_USER: &str = "UPDATE external_users SET external_id = $1, identifier = $2, \
     name = $3, tier_id = $4, group_id = $5, blocked = $6, time_zone = $7, updated_at = $8, match_key = $9 \
     WHERE id = $10 AND workspace_id = $11 AND updated_at = $12 AND erased_at IS NULL";
/// Who holds lower-cased identifiers on a channel: followed by the channel, [`IDENTIFIER_HOLDERS_IN`],
/// the identifiers and `)`.
pub(super) const IDENTIFIER_HOLDERS: &str = "SELECT id, lower(identifier) FROM external_users WHERE channel_id = ";
pub(super) const IDENTIFIER_HOLDERS_IN: &str = " AND lower(identifier) IN (";
/// Followed by one of the `FIND_BY_*` conditions on `$3`.
pub(super) const FIND_EXTERNAL_USER: &str = "SELECT id, workspace_id, channel_id, super_identity_id, external_id, \
     identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at \
     FROM external_users WHERE workspace_id = $1 AND channel_id = $2 AND erased_at IS NULL AND ";
pub(super) const FIND_BY_ID: &str = "id = $3";
pub(super) const FIND_BY_EXTERNAL_ID: &str = "external_id = $3";
pub(super) const FIND_BY_IDENTIFIER: &str = "lower(identifier) = lower($3)";
/// Followed by the list's `WHERE`.
pub(super) const LIST_EXTERNAL_USERS: &str = "SELECT id, workspace_id, channel_id, super_identity_id, external_id, \
     identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at FROM external_users";
/// Followed by the list's `WHERE`; see `capped_total` in `run/`.
pub(super) const COUNT_EXTERNAL_USERS: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM external_users";
/// A single-filter list's exact total from the counters of migration 17: `$2` is the kind of key
/// (`workspace`, `channel`, `tier`, `group`), `$3` the key.
pub(super) const COUNTED_EXTERNAL_USERS: &str = "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) \
     FROM external_user_counts WHERE workspace_id = $1 AND kind = $2 AND key_id = $3";
pub(super) const UPDATE_EXTERNAL_USER: &str = "UPDATE external_users SET external_id = $1, identifier = $2, \
     name = $3, tier_id = $4, group_id = $5, blocked = $6, time_zone = $7, updated_at = $8, match_key = $9 \
     WHERE id = $10 AND workspace_id = $11 AND erased_at IS NULL";
/// The user with this identifier on a channel, case-insensitively.
pub(super) const USER_BY_IDENTIFIER: &str =
    "SELECT id FROM external_users WHERE channel_id = $1 AND lower(identifier) = lower($2)";

pub(super) const INSERT_ACCESS_TOKEN: &str = "INSERT INTO access_tokens (token_hash, workspace_id, \
     external_user_id, created_at, expires_at, issued_by_key_id) VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const DELETE_USER_ACCESS_TOKENS: &str = "DELETE FROM access_tokens WHERE external_user_id = $1";
pub(super) const ACCESS_TOKEN: &str = "SELECT u.id, u.workspace_id, u.channel_id, u.super_identity_id, \
     u.external_id, u.identifier, u.name, u.tier_id, u.group_id, u.blocked, u.time_zone, u.created_at, u.updated_at, \
     t.expires_at, t.issued_by_key_id FROM access_tokens t JOIN external_users u ON u.id = t.external_user_id WHERE t.token_hash = $1";

/// Followed by the workspace id, `AND external_user_id IN (...)`, the order and the limit.
pub(super) const ISSUED_TOKENS: &str =
    "SELECT external_user_id, created_at, expires_at FROM access_tokens WHERE workspace_id = ";

#[derive(FromRow)]
pub(super) struct IssuedTokenRow {
    external_user_id: Uuid,
    created_at: i64,
    expires_at: i64,
}

impl From<IssuedTokenRow> for IssuedToken {
    fn from(r: IssuedTokenRow) -> Self {
        IssuedToken {
            external_user_id: r.external_user_id,
            created_at: Timestamp::from_micros(r.created_at),
            expires_at: Timestamp::from_micros(r.expires_at),
        }
    }
}

#[derive(FromRow)]
pub(super) struct ExternalUserRow {
    pub(super) id: Uuid,
    pub(super) workspace_id: Uuid,
    pub(super) channel_id: Uuid,
    pub(super) super_identity_id: Uuid,
    pub(super) external_id: Option<String>,
    pub(super) identifier: Option<String>,
    pub(super) name: Option<String>,
    pub(super) tier_id: Option<Uuid>,
    pub(super) group_id: Option<Uuid>,
    pub(super) blocked: bool,
    pub(super) time_zone: Option<String>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

impl TryFrom<ExternalUserRow> for ExternalUser {
    type Error = StoreError;
    fn try_from(r: ExternalUserRow) -> Result<Self, StoreError> {
        Ok(ExternalUser {
            id: r.id,
            workspace_id: r.workspace_id,
            channel_id: r.channel_id,
            super_identity_id: r.super_identity_id,
            external_id: r.external_id,
            identifier: r.identifier,
            name: r.name,
            tier_id: r.tier_id,
            external_user_group_id: r.group_id,
            blocked: r.blocked,
            time_zone: r.time_zone,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct AccessTokenRow {
    #[sqlx(flatten)]
    pub(super) user: ExternalUserRow,
    pub(super) expires_at: i64,
    pub(super) issued_by_key_id: Option<Uuid>,
}

impl TryFrom<AccessTokenRow> for AccessToken {
    type Error = StoreError;
    fn try_from(r: AccessTokenRow) -> Result<Self, StoreError> {
        Ok(AccessToken {
            user: r.user.try_into()?,
            expires_at: Timestamp::from_micros(r.expires_at),
            issued_by_key_id: r.issued_by_key_id,
        })
    }
}
