//! Runs the identities area's SQL on the backend `Db`.

use async_trait::async_trait;
use uuid::Uuid;

use super::events::record;
use super::tickets::insert_activity;
use super::{Backend, Dialect, Tx};
use crate::domain::event;
use crate::domain::{Actor, AuditRecord, EventType, ExternalUser, NewEvent, SuperIdentity, match_key};
use crate::store::external_users::{ExternalUserRow, GET_EXTERNAL_USER};
use crate::store::identities::*;
use crate::store::support::convert;
use crate::store::{Entity, StoreError, StoreResult};

#[async_trait]
impl IdentityStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_super_identity(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<SuperIdentity> {
        let row: Option<SuperIdentityRow> =
            sqlx::query_as(GET_SUPER_IDENTITY).bind(id).bind(workspace_id).fetch_optional(&self.read).await?;
        Ok(row.ok_or(StoreError::NotFound(Entity::SuperIdentity))?.into())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn merge_super_identities(&self, m: &Merge) -> StoreResult<MergeOutcome> {
        let mut tx = self.begin_write().await?;
        // Both rows are locked in id order, so two merges of the same pair (either way round) queue
        // behind each other instead of deadlocking, and the second sees the first's outcome.
        let (first, second) = if m.survivor < m.absorbed { (m.survivor, m.absorbed) } else { (m.absorbed, m.survivor) };
        for id in [first, second] {
            if let Some(_into) = lock_identity(&mut tx, m.workspace_id, id).await? {
                let side = if id == m.survivor { Merged::Survivor } else { Merged::Absorbed };
                return Ok(MergeOutcome::AlreadyMerged(side));
            }
        }
        let tickets: Vec<Uuid> =
            sqlx::query_scalar(TICKETS_OF_IDENTITY).bind(m.workspace_id).bind(m.absorbed).fetch_all(&mut *tx).await?;
        // Both sides' duplicate participations: the absorbed side's where the survivor takes part,
        // then the survivor's where the absorbed side is the requester.
        sqlx::query(DELETE_DUPLICATE_PARTICIPANTS)
            .bind(m.workspace_id)
            .bind(m.survivor)
            .bind(m.absorbed)
            .execute(&mut *tx)
            .await?;
        sqlx::query(DELETE_DUPLICATE_PARTICIPANTS)
            .bind(m.workspace_id)
            .bind(m.absorbed)
            .bind(m.survivor)
            .execute(&mut *tx)
            .await?;
        let moved = sqlx::query(MOVE_USERS)
            .bind(m.survivor)
            .bind(m.at.micros())
            .bind(m.absorbed)
            .bind(m.workspace_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(FORWARD_MERGED).bind(m.survivor).bind(m.absorbed).execute(&mut *tx).await?;
        sqlx::query(MARK_MERGED).bind(m.survivor).bind(m.at.micros()).bind(m.absorbed).execute(&mut *tx).await?;
        for ticket_id in &tickets {
            let mut activity = m.activity.clone();
            activity.id = Uuid::new_v4();
            activity.ticket_id = *ticket_id;
            insert_activity(&mut tx, &activity).await?;
        }
        insert_audit(&mut tx, &m.audit).await?;
        let survivor: SuperIdentityRow =
            sqlx::query_as(GET_SUPER_IDENTITY).bind(m.survivor).bind(m.workspace_id).fetch_one(&mut *tx).await?;
        let merged = serde_json::json!({
            "survivorId": m.survivor,
            "absorbedId": m.absorbed,
            "movedExternalUsers": moved,
            "tickets": tickets.len(),
        });
        record(&mut tx, m.workspace_id, &[NewEvent::new(EventType::SuperIdentityMerged, m.actor, merged)]).await?;
        tx.commit().await?;
        Ok(MergeOutcome::Done { survivor: survivor.into(), moved_users: moved, tickets: tickets.len() as u64 })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn link_external_user(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        super_identity_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<LinkOutcome> {
        let mut tx = self.begin_write().await?;
        let user = live_user(&mut tx, workspace_id, user_id).await?;
        if lock_identity(&mut tx, workspace_id, super_identity_id).await?.is_some() {
            return Ok(LinkOutcome::TargetMerged);
        }
        if user.super_identity_id == super_identity_id {
            return Ok(LinkOutcome::Done(Box::new(user)));
        }
        let old = user.super_identity_id;
        lock_identity(&mut tx, workspace_id, old).await?;
        sqlx::query(SET_USER_IDENTITY)
            .bind(super_identity_id)
            .bind(audit.at.micros())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let left: i64 = sqlx::query_scalar(COUNT_IDENTITY_USERS).bind(old).fetch_one(&mut *tx).await?;
        if left == 0 {
            sqlx::query(FORWARD_MERGED).bind(super_identity_id).bind(old).execute(&mut *tx).await?;
            sqlx::query(MARK_MERGED)
                .bind(super_identity_id)
                .bind(audit.at.micros())
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        insert_audit(&mut tx, audit).await?;
        let after = live_user(&mut tx, workspace_id, user_id).await?;
        record(&mut tx, workspace_id, &event::external_user_changes(actor, &user, &after)).await?;
        tx.commit().await?;
        Ok(LinkOutcome::Done(Box::new(after)))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn unlink_external_user(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        new_super_identity_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<ExternalUser> {
        let mut tx = self.begin_write().await?;
        let user = live_user(&mut tx, workspace_id, user_id).await?;
        lock_identity(&mut tx, workspace_id, user.super_identity_id).await?;
        let together: i64 =
            sqlx::query_scalar(COUNT_IDENTITY_USERS).bind(user.super_identity_id).fetch_one(&mut *tx).await?;
        if together <= 1 {
            return Ok(user);
        }
        sqlx::query(INSERT_SUPER_IDENTITY_AT)
            .bind(new_super_identity_id)
            .bind(workspace_id)
            .bind(audit.at.micros())
            .execute(&mut *tx)
            .await?;
        sqlx::query(SET_USER_IDENTITY)
            .bind(new_super_identity_id)
            .bind(audit.at.micros())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        insert_audit(&mut tx, audit).await?;
        let after = live_user(&mut tx, workspace_id, user_id).await?;
        record(&mut tx, workspace_id, &event::external_user_changes(actor, &user, &after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn automatic_matching(&self, workspace_id: Uuid) -> StoreResult<bool> {
        let on: Option<bool> =
            sqlx::query_scalar(AUTOMATIC_MATCHING).bind(workspace_id).fetch_optional(&self.read).await?;
        on.ok_or(StoreError::NotFound(Entity::Workspace))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_automatic_matching(&self, workspace_id: Uuid, on: bool, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let was: Option<bool> =
            sqlx::query_scalar(AUTOMATIC_MATCHING).bind(workspace_id).fetch_optional(&mut *tx).await?;
        let was = was.ok_or(StoreError::NotFound(Entity::Workspace))?;
        if was == on {
            return Ok(());
        }
        let done = sqlx::query(SET_AUTOMATIC_MATCHING).bind(on).bind(workspace_id).execute(&mut *tx).await?;
        super::found_one(done.rows_affected(), Entity::Workspace)?;
        let changed = NewEvent {
            kind: EventType::AutomaticMatchingChanged,
            actor,
            resource: serde_json::json!({ "workspaceId": workspace_id, "enabled": on }),
            previous: Some(serde_json::json!({ "enabled": was })),
        };
        record(&mut tx, workspace_id, &[changed]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn erase_external_user(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let found: Option<(Uuid, Option<String>)> =
            sqlx::query_as(ERASABLE_USER).bind(user_id).bind(workspace_id).fetch_optional(&mut *tx).await?;
        let (id, identifier) = found.ok_or(StoreError::NotFound(Entity::ExternalUser))?;
        scrub(&mut tx, id, identifier, audit, actor).await?;
        insert_audit(&mut tx, audit).await?;
        Backend::after_erasure_in(&mut tx).await?;
        tx.commit().await?;
        self.after_erasure().await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn erase_person(
        &self,
        workspace_id: Uuid,
        super_identity_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        if lock_identity(&mut tx, workspace_id, super_identity_id).await?.is_some() {
            // A merged identity has no users of its own: the person is erased at the survivor.
            return Err(StoreError::NotFound(Entity::SuperIdentity));
        }
        let users: Vec<(Uuid, Option<String>)> = sqlx::query_as(ERASABLE_IDENTITY_USERS)
            .bind(super_identity_id)
            .bind(workspace_id)
            .fetch_all(&mut *tx)
            .await?;
        for (id, identifier) in &users {
            scrub(&mut tx, *id, identifier.clone(), audit, actor).await?;
        }
        insert_audit(&mut tx, audit).await?;
        Backend::after_erasure_in(&mut tx).await?;
        tx.commit().await?;
        self.after_erasure().await?;
        Ok(users.len() as u64)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn audit_records(&self, workspace_id: Uuid, subject_id: Uuid) -> StoreResult<Vec<AuditRecord>> {
        let rows: Vec<AuditRow> =
            sqlx::query_as(AUDIT_RECORDS).bind(workspace_id).bind(subject_id).fetch_all(&self.read).await?;
        convert(rows)
    }
}

/// Locks the super identity's row (see [`LOCK_SUPER_IDENTITY`]): `NotFound` when the workspace has no
/// such one, else where it was merged into, if it was.
pub(in crate::store) async fn lock_identity(tx: &mut Tx, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<Uuid>> {
    let found: Option<Option<Uuid>> =
        sqlx::query_scalar(LOCK_SUPER_IDENTITY).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
    found.ok_or(StoreError::NotFound(Entity::SuperIdentity))
}

/// The super identity a new external user joins by automatic matching, if any: locked, so a merge
/// running at the same moment either finishes first (and the user joins its survivor) or waits.
pub(in crate::store) async fn matching_identity(tx: &mut Tx, u: &ExternalUser) -> StoreResult<Option<Uuid>> {
    let Some(key) = u.identifier.as_deref().and_then(match_key) else { return Ok(None) };
    let found: Option<Uuid> = sqlx::query_scalar(MATCHING_IDENTITY)
        .bind(u.workspace_id)
        .bind(key)
        .bind(u.channel_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(id) = found else { return Ok(None) };
    Ok(Some(lock_identity(tx, u.workspace_id, id).await?.unwrap_or(id)))
}

async fn live_user(tx: &mut Tx, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUser> {
    let row: Option<ExternalUserRow> =
        sqlx::query_as(GET_EXTERNAL_USER).bind(id).bind(workspace_id).fetch_optional(&mut **tx).await?;
    row.ok_or(StoreError::NotFound(Entity::ExternalUser))?.try_into()
}

/// Removes the user's personal data from every table that holds it.
async fn scrub(
    tx: &mut Tx,
    id: Uuid,
    identifier: Option<String>,
    audit: &AuditRecord,
    actor: Actor,
) -> StoreResult<()> {
    sqlx::query(DELETE_USER_PARTICIPATIONS).bind(id).execute(&mut **tx).await?;
    sqlx::query(DELETE_USER_TOKENS).bind(id).execute(&mut **tx).await?;
    if let Some(identifier) = identifier {
        sqlx::query(DELETE_SIGN_IN_FAILURES)
            .bind(crate::domain::sign_in_account_key(&identifier))
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(SCRUB_USER).bind(audit.at.micros()).bind(id).execute(&mut **tx).await?;
    // The outbox showed the person as they were: those copies go too, and what is left says only
    // that someone was erased (a receiver of earlier events learns the id it must forget).
    let gone = serde_json::json!({ "id": id, "erased": true });
    sqlx::query(REDACT_USER_EVENTS)
        .bind(gone.to_string())
        .bind(audit.workspace_id)
        .bind(format!("%{id}%"))
        .execute(&mut **tx)
        .await?;
    record(tx, audit.workspace_id, &[NewEvent::new(EventType::ExternalUserDeleted, actor, gone)]).await
}

async fn insert_audit(tx: &mut Tx, a: &AuditRecord) -> StoreResult<()> {
    sqlx::query(INSERT_AUDIT)
        .bind(a.id)
        .bind(a.workspace_id)
        .bind(a.action.as_str())
        .bind(a.actor_id)
        .bind(a.subject_id)
        .bind(a.target_id)
        .bind(a.at.micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
