//! Runs the workspaces area's SQL on the backend `Db`.

use async_trait::async_trait;
use uuid::Uuid;

use super::channels::insert_channel;
use super::events::record;
use super::{Backend, Dialect, Tx};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::{Actor, ApiKey, Timestamp, Workspace};
use crate::store::support::convert;
use crate::store::workspaces::*;
use crate::store::{Entity, StoreError, StoreResult, Unique};

#[async_trait]
impl WorkspaceStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query(PING).execute(&self.read).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_workspace(&self, new: &NewWorkspace) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_workspace(&mut tx, &new.workspace).await?;
        insert_channel(&mut tx, &new.email_channel).await?;
        insert_api_key(&mut tx, &new.admin_key, &new.admin_key_hash).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn bootstrap_workspace(&self, new: &NewWorkspace) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // The claim comes before the workspace's key: a node that loses the race waits on the claim
        // and sees it taken, instead of colliding on a chosen bootstrap key.
        insert_workspace(&mut tx, &new.workspace).await?;
        let claimed = sqlx::query(CLAIM_BOOTSTRAP)
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
            Err(StoreError::Duplicate(Unique::Bootstrap)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn count_workspaces(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(COUNT_WORKSPACES).fetch_one(&self.read).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn workspace_ids(&self, limit: i64) -> StoreResult<Vec<Uuid>> {
        Ok(sqlx::query_scalar(WORKSPACE_IDS).bind(limit).fetch_all(&self.read).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn service_desk(&self, workspace_id: Uuid) -> StoreResult<Workspace> {
        let row: Option<WorkspaceRow> =
            sqlx::query_as(GET_WORKSPACE).bind(workspace_id).fetch_optional(&self.read).await?;
        Ok(row.ok_or(StoreError::NotFound(Entity::Workspace))?.into())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_api_key(&self, key: &ApiKey, secret_hash: &[u8], actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_api_key(&mut tx, key, secret_hash).await?;
        record(&mut tx, key.workspace_id, &[NewEvent::new(EventType::ApiKeyCreated, actor, event::api_key(key))])
            .await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn api_key_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<ApiKey>> {
        let row: Option<ApiKeyRow> =
            sqlx::query_as(API_KEY_BY_HASH).bind(secret_hash).fetch_optional(&self.read).await?;
        row.map(ApiKey::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn touch_api_key(&self, id: Uuid, at: Timestamp) -> StoreResult<()> {
        sqlx::query(TOUCH_API_KEY).bind(at.micros()).bind(id).execute(&self.write).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_api_keys(&self, workspace_id: Uuid) -> StoreResult<Vec<ApiKey>> {
        let rows: Vec<ApiKeyRow> = sqlx::query_as(LIST_API_KEYS).bind(workspace_id).fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn revoke_api_key(&self, workspace_id: Uuid, id: Uuid, at: Timestamp, actor: Actor) -> StoreResult<ApiKey> {
        let mut tx = self.begin_write().await?;
        let row: Option<ApiKeyRow> = sqlx::query_as(REVOKE_API_KEY)
            .bind(at.micros())
            .bind(id)
            .bind(workspace_id)
            .fetch_optional(&mut *tx)
            .await?;
        let key: ApiKey = row.ok_or(StoreError::NotFound(Entity::ApiKey))?.try_into()?;
        sqlx::query(DELETE_KEY_ACCESS_TOKENS).bind(id).execute(&mut *tx).await?;
        // A key revoked before keeps its first revocation's time, and its one event.
        if key.revoked_at == Some(at) {
            let mut before = event::api_key(&key);
            before["revokedAt"] = serde_json::Value::Null;
            let revoked = NewEvent::updated(EventType::ApiKeyRevoked, actor, &before, event::api_key(&key));
            record(&mut tx, workspace_id, revoked.as_slice()).await?;
        }
        tx.commit().await?;
        Ok(key)
    }
}

async fn insert_workspace(tx: &mut Tx, ws: &Workspace) -> StoreResult<()> {
    sqlx::query(INSERT_WORKSPACE).bind(ws.id).bind(&ws.name).bind(ws.created_at.micros()).execute(&mut **tx).await?;
    Ok(())
}

async fn insert_api_key(tx: &mut Tx, k: &ApiKey, secret_hash: &[u8]) -> StoreResult<()> {
    sqlx::query(INSERT_API_KEY)
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
