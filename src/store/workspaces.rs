//! Workspaces and their API keys: the tenancy every other area hangs off.

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::support::corrupt;
use super::{StoreError, StoreResult};
use crate::domain::{Actor, ApiKey, Channel, Role, Timestamp, Workspace};

/// A new workspace with its built-in e-mail channel and its first admin API key.
#[derive(Debug, Clone)]
pub struct NewWorkspace {
    pub workspace: Workspace,
    pub email_channel: Channel,
    pub admin_key: ApiKey,
    pub admin_key_hash: Vec<u8>,
}

#[async_trait]
pub trait WorkspaceStore: Send + Sync {
    /// Cheap round trip used by `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    async fn create_workspace(&self, new: &NewWorkspace) -> StoreResult<()>;
    /// Creates the server's first workspace unless one was already bootstrapped, even by another node
    /// starting at the same moment; `false` when it was.
    async fn bootstrap_workspace(&self, new: &NewWorkspace) -> StoreResult<bool>;
    async fn count_workspaces(&self) -> StoreResult<i64>;
    /// The ids of up to `limit` workspaces, oldest first.
    async fn workspace_ids(&self, limit: i64) -> StoreResult<Vec<Uuid>>;
    /// The workspace, shown as its one service desk.
    async fn service_desk(&self, workspace_id: Uuid) -> StoreResult<Workspace>;

    async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8], actor: Actor) -> StoreResult<()>;
    async fn api_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<ApiKey>>;
    async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> StoreResult<()>;
    async fn list_api_keys(&self, workspace_id: Uuid) -> StoreResult<Vec<ApiKey>>;
    /// Revokes the key at `at` unless it already is (`api_key.revoked` fires once), and deletes the
    /// access tokens it issued.
    async fn revoke_api_key(&self, workspace_id: Uuid, id: Uuid, at: Timestamp, actor: Actor) -> StoreResult<ApiKey>;
}

pub(super) const PING: &str = "SELECT 1";
pub(super) const INSERT_WORKSPACE: &str = "INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)";
pub(super) const CLAIM_BOOTSTRAP: &str =
    "INSERT INTO bootstrap (singleton, workspace_id, created_at) VALUES (1, $1, $2)";
pub(super) const COUNT_WORKSPACES: &str = "SELECT COUNT(*) FROM workspaces";
pub(super) const WORKSPACE_IDS: &str = "SELECT id FROM workspaces ORDER BY created_at, id LIMIT $1";
pub(super) const GET_WORKSPACE: &str = "SELECT id, name, created_at FROM workspaces WHERE id = $1";

pub(super) const INSERT_API_KEY: &str = "INSERT INTO api_keys (id, workspace_id, name, role, prefix, secret_hash, \
     created_by, created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
pub(super) const API_KEY_BY_HASH: &str = "SELECT id, workspace_id, name, role, prefix, created_by, created_at, \
     last_used_at, revoked_at FROM api_keys WHERE secret_hash = $1";
pub(super) const TOUCH_API_KEY: &str = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";
pub(super) const LIST_API_KEYS: &str = "SELECT id, workspace_id, name, role, prefix, created_by, created_at, \
     last_used_at, revoked_at FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id";
/// Revoking twice keeps the first revocation's time.
pub(super) const DELETE_KEY_ACCESS_TOKENS: &str = "DELETE FROM access_tokens WHERE issued_by_key_id = $1";
pub(super) const REVOKE_API_KEY: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) \
     WHERE id = $2 AND workspace_id = $3 \
     RETURNING id, workspace_id, name, role, prefix, created_by, created_at, last_used_at, revoked_at";

#[derive(FromRow)]
pub(super) struct WorkspaceRow {
    id: Uuid,
    name: String,
    created_at: i64,
}

impl From<WorkspaceRow> for Workspace {
    fn from(r: WorkspaceRow) -> Self {
        Workspace { id: r.id, name: r.name, created_at: Timestamp::from_micros(r.created_at) }
    }
}

#[derive(FromRow)]
pub(super) struct ApiKeyRow {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    role: String,
    prefix: String,
    created_by: Option<Uuid>,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self, StoreError> {
        Ok(ApiKey {
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role", &r.role))?,
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            prefix: r.prefix,
            created_by: r.created_by,
            created_at: Timestamp::from_micros(r.created_at),
            last_used_at: r.last_used_at.map(Timestamp::from_micros),
            revoked_at: r.revoked_at.map(Timestamp::from_micros),
        })
    }
}
