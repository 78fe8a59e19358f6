//! One person across channels: super identities, their merges and links, automatic matching, erasure,
//! and the audit records of them.

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{Actor, AuditRecord, ExternalUser, SuperIdentity, TicketActivity, Timestamp};

/// A merge to run: `absorbed`'s external users (with their tickets, participations and tokens) move to
/// `survivor`, and `absorbed` is remembered as merged into it.
#[derive(Debug, Clone)]
pub struct Merge {
    pub workspace_id: Uuid,
    pub survivor: Uuid,
    pub absorbed: Uuid,
    pub at: Timestamp,
    pub audit: AuditRecord,
    /// The activity each affected ticket gets, with a fresh `id` and its `ticket_id` per ticket.
    pub activity: TicketActivity,
    pub actor: Actor,
}

/// Which side of a merge or link refused it because it was merged before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    Survivor,
    Absorbed,
}

#[derive(Debug, Clone)]
pub enum MergeOutcome {
    Done { survivor: SuperIdentity, moved_users: u64, tickets: u64 },
    AlreadyMerged(Merged),
}

#[derive(Debug, Clone)]
pub enum LinkOutcome {
    Done(Box<ExternalUser>),
    /// The super identity to link to was merged into another.
    TargetMerged,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn get_super_identity(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<SuperIdentity>;
    async fn merge_super_identities(&self, merge: &Merge) -> StoreResult<MergeOutcome>;
    /// Moves the external user to `super_identity_id`. When it was the only user of its old super
    /// identity, the old one is remembered as merged into the new one (the person lives there now).
    async fn link_external_user(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        super_identity_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<LinkOutcome>;
    /// Moves the external user to the new super identity `new_super_identity_id`, unless it is
    /// already the only user of its own (then nothing changes).
    async fn unlink_external_user(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        new_super_identity_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<ExternalUser>;

    async fn automatic_matching(&self, workspace_id: Uuid) -> StoreResult<bool>;
    /// Records `settings.automatic_matching_changed` when the setting changed.
    async fn set_automatic_matching(&self, workspace_id: Uuid, on: bool, actor: Actor) -> StoreResult<()>;

    /// Erases one external user: personal fields cleared, participations and tokens removed. The row
    /// stays (tickets still name it as requester). `NotFound` when already erased.
    async fn erase_external_user(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<()>;
    /// Erases every external user of the super identity; how many there were.
    async fn erase_person(
        &self,
        workspace_id: Uuid,
        super_identity_id: Uuid,
        audit: &AuditRecord,
        actor: Actor,
    ) -> StoreResult<u64>;

    /// The workspace's audit records about `subject_id`, oldest first.
    async fn audit_records(&self, workspace_id: Uuid, subject_id: Uuid) -> StoreResult<Vec<AuditRecord>>;
}

pub(super) const GET_SUPER_IDENTITY: &str = "SELECT id, workspace_id, created_at, merged_into, merged_at \
     FROM super_identities WHERE id = $1 AND workspace_id = $2";
/// Takes the row's write lock (PostgreSQL waits here for a concurrent merge of it to end, then sees
/// its outcome) and says where it was merged, if it was.
pub(super) const LOCK_SUPER_IDENTITY: &str = "UPDATE super_identities SET merged_at = merged_at \
     WHERE id = $1 AND workspace_id = $2 RETURNING merged_into";
/// The tickets whose requester or a participant is one of the super identity's external users.
pub(super) const TICKETS_OF_IDENTITY: &str = "SELECT t.id FROM tickets t JOIN external_users u \
     ON u.id = t.requester_external_user_id WHERE t.workspace_id = $1 AND u.super_identity_id = $2 \
     UNION SELECT p.ticket_id FROM ticket_participants p JOIN external_users u ON u.id = p.external_user_id \
     WHERE p.workspace_id = $1 AND u.super_identity_id = $2";
/// Participations of `$3`'s users on tickets where `$2`'s users already take part (as participant or
/// requester): after the merge the person would be on the ticket twice.
pub(super) const DELETE_DUPLICATE_PARTICIPANTS: &str = "DELETE FROM ticket_participants WHERE workspace_id = $1 \
     AND external_user_id IN (SELECT id FROM external_users WHERE super_identity_id = $3) \
     AND (ticket_id IN (SELECT p.ticket_id FROM ticket_participants p JOIN external_users u \
          ON u.id = p.external_user_id WHERE u.super_identity_id = $2) \
       OR ticket_id IN (SELECT t.id FROM tickets t JOIN external_users u \
          ON u.id = t.requester_external_user_id WHERE u.super_identity_id = $2))";
pub(super) const MOVE_USERS: &str = "UPDATE external_users SET super_identity_id = $1, \
     updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at END \
     WHERE super_identity_id = $3 AND workspace_id = $4";
/// Those merged into the absorbed one now forward to the survivor, so no reader follows a chain.
pub(super) const FORWARD_MERGED: &str = "UPDATE super_identities SET merged_into = $1 WHERE merged_into = $2";
pub(super) const MARK_MERGED: &str = "UPDATE super_identities SET merged_into = $1, merged_at = $2 WHERE id = $3";
pub(super) const INSERT_SUPER_IDENTITY_AT: &str =
    "INSERT INTO super_identities (id, workspace_id, created_at) VALUES ($1, $2, $3)";
pub(super) const COUNT_IDENTITY_USERS: &str = "SELECT COUNT(*) FROM external_users WHERE super_identity_id = $1";
pub(super) const SET_USER_IDENTITY: &str = "UPDATE external_users SET super_identity_id = $1, \
     updated_at = CASE WHEN updated_at < $2 THEN $2 ELSE updated_at END WHERE id = $3";

pub(super) const AUTOMATIC_MATCHING: &str = "SELECT auto_match FROM workspaces WHERE id = $1";
pub(super) const SET_AUTOMATIC_MATCHING: &str = "UPDATE workspaces SET auto_match = $1 WHERE id = $2";
/// The super identity of the oldest external user on another channel with the same match key, when
/// the workspace matches automatically.
pub(super) const MATCHING_IDENTITY: &str = "SELECT u.super_identity_id FROM external_users u \
     JOIN workspaces w ON w.id = u.workspace_id \
     WHERE w.auto_match AND u.workspace_id = $1 AND u.match_key = $2 AND u.channel_id <> $3 \
     ORDER BY u.created_at, u.id LIMIT 1";

/// The users to erase: one by id, or a super identity's.
pub(super) const ERASABLE_USER: &str = "SELECT id, identifier FROM external_users \
     WHERE id = $1 AND workspace_id = $2 AND erased_at IS NULL";
pub(super) const ERASABLE_IDENTITY_USERS: &str = "SELECT id, identifier FROM external_users \
     WHERE super_identity_id = $1 AND workspace_id = $2 AND erased_at IS NULL";
pub(super) const DELETE_USER_PARTICIPATIONS: &str = "DELETE FROM ticket_participants WHERE external_user_id = $1";
pub(super) const DELETE_USER_TOKENS: &str = "DELETE FROM access_tokens WHERE external_user_id = $1";
/// The sign-in throttle's key for the address (`app::web_sessions::throttle_subject`).
pub(super) const DELETE_SIGN_IN_FAILURES: &str = "DELETE FROM sign_in_failures WHERE subject = $1";
pub(super) const SCRUB_USER: &str = "UPDATE external_users SET external_id = NULL, identifier = NULL, \
     name = NULL, time_zone = NULL, match_key = NULL, tier_id = NULL, group_id = NULL, blocked = TRUE, \
     erased_at = $1, updated_at = $1 WHERE id = $2";

pub(super) const INSERT_AUDIT: &str = "INSERT INTO audit_records (id, workspace_id, action, actor_id, subject_id, \
     target_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const AUDIT_RECORDS: &str = "SELECT id, workspace_id, action, actor_id, subject_id, target_id, at \
     FROM audit_records WHERE workspace_id = $1 AND (subject_id = $2 OR target_id = $2) ORDER BY at, id";

#[derive(FromRow)]
pub(super) struct SuperIdentityRow {
    id: Uuid,
    workspace_id: Uuid,
    created_at: i64,
    merged_into: Option<Uuid>,
    merged_at: Option<i64>,
}

impl From<SuperIdentityRow> for SuperIdentity {
    fn from(r: SuperIdentityRow) -> Self {
        SuperIdentity {
            id: r.id,
            workspace_id: r.workspace_id,
            created_at: Timestamp::from_micros(r.created_at),
            merged_into: r.merged_into,
            merged_at: r.merged_at.map(Timestamp::from_micros),
        }
    }
}

#[derive(FromRow)]
pub(super) struct AuditRow {
    id: Uuid,
    workspace_id: Uuid,
    action: String,
    actor_id: Uuid,
    subject_id: Uuid,
    target_id: Option<Uuid>,
    at: i64,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = super::StoreError;
    fn try_from(r: AuditRow) -> Result<Self, Self::Error> {
        Ok(AuditRecord {
            id: r.id,
            workspace_id: r.workspace_id,
            action: crate::domain::AuditAction::parse(&r.action)
                .ok_or_else(|| super::support::corrupt("audit action", &r.action))?,
            actor_id: r.actor_id,
            subject_id: r.subject_id,
            target_id: r.target_id,
            at: Timestamp::from_micros(r.at),
        })
    }
}

/// The outbox's copies of an erased external user (its own events; tickets' events name it by id only).
pub(super) const REDACT_USER_EVENTS: &str = "UPDATE events SET resource = $1, previous = NULL \
     WHERE workspace_id = $2 AND type IN ('external_user.created', 'external_user.updated', \
     'external_user.blocked', 'external_user.unblocked', 'customer.created') AND resource LIKE $3";
