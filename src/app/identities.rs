//! One person across channels: merging and linking super identities, automatic matching, upsert by
//! (channel, external id), and erasure.

use uuid::Uuid;

use super::external_users::{ExternalUserPatch, NewExternalUser};
use super::{App, AppError, AppResult, Conflict, Principal};
use crate::domain::{
    ActivityKind, AuditAction, AuditRecord, DisplayName, ExternalId, ExternalUser, Identifier, Refusal, Role, Rule,
    SuperIdentity, TicketActivity, Timestamp, new_super_identity_id,
};
use crate::store::{LinkOutcome, Merge, MergeOutcome, Unique, UserKey};

/// How often an upsert looks again after losing a race to create the same key.
const UPSERT_ATTEMPTS: usize = 3;

/// An upsert's fields besides its key: `None` leaves a field as it is (or empty on create),
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ExternalUserUpsert {
    pub identifier: Option<Option<Identifier>>,
    pub name: Option<Option<DisplayName>>,
    pub tier_id: Option<Option<Uuid>>,
    pub external_user_group_id: Option<Option<Uuid>>,
    pub blocked: Option<bool>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
    Unchanged,
}

/// A merge as its caller sees it afterwards.
#[derive(Debug, Clone)]
pub struct MergeDone {
    pub survivor: SuperIdentity,
    pub moved_external_users: u64,
    pub tickets: u64,
}

fn audit(who: &Principal, action: AuditAction, subject_id: Uuid, target_id: Option<Uuid>) -> AuditRecord {
    AuditRecord {
        id: Uuid::new_v4(),
        workspace_id: who.workspace_id(),
        action,
        actor_id: who.actor_id(),
        subject_id,
        target_id,
        at: Timestamp::now(),
    }
}

impl App {
    pub async fn get_super_identity(&self, who: &Principal, id: Uuid) -> AppResult<SuperIdentity> {
        who.require(Role::Agent)?;
        Ok(self.store.get_super_identity(who.workspace_id(), id).await?)
    }

    /// Merges `absorbed` into `survivor` in one transaction: its external users (and with them
    /// their tickets, participations and access tokens) move, each affected ticket's timeline says so,
    /// and an audit record keeps who did it.
    pub async fn merge_super_identities(
        &self,
        who: &Principal,
        survivor: Uuid,
        absorbed: Uuid,
    ) -> AppResult<MergeDone> {
        who.require(Role::Agent)?;
        if survivor == absorbed {
            return Err(AppError::invalid(
                "absorbedId",
                Refusal::new(Rule::Combination, "must name another super identity than the survivor"),
            ));
        }
        let audit = audit(who, AuditAction::Merged, absorbed, Some(survivor));
        let activity = TicketActivity {
            id: Uuid::nil(),
            ticket_id: Uuid::nil(),
            text: Some(format!("Super identity {absorbed} was merged into {survivor}.")),
            ..TicketActivity::new(
                ActivityKind::IdentityMerged,
                (who.workspace_id(), Uuid::nil()),
                (who.member(), who.actor_id()),
                audit.at,
            )
        };
        let merge = Merge {
            workspace_id: who.workspace_id(),
            survivor,
            absorbed,
            at: audit.at,
            audit,
            activity,
            actor: who.actor(),
        };
        match self.store.merge_super_identities(&merge).await? {
            MergeOutcome::Done { survivor, moved_users, tickets } => {
                Ok(MergeDone { survivor, moved_external_users: moved_users, tickets })
            }
            MergeOutcome::AlreadyMerged(_) => Err(AppError::Conflict(Conflict::Merged)),
        }
    }

    /// Moves an external user to another super identity (the same person, known on another channel).
    pub async fn link_external_user(
        &self,
        who: &Principal,
        user_id: Uuid,
        super_identity_id: Uuid,
    ) -> AppResult<ExternalUser> {
        who.require(Role::Agent)?;
        let audit = audit(who, AuditAction::Linked, user_id, Some(super_identity_id));
        match self.store.link_external_user(who.workspace_id(), user_id, super_identity_id, &audit, who.actor()).await?
        {
            LinkOutcome::Done(user) => Ok(*user),
            LinkOutcome::TargetMerged => Err(AppError::Conflict(Conflict::Merged)),
        }
    }

    /// Gives an external user a super identity of its own (a person wrongly taken for another).
    pub async fn unlink_external_user(&self, who: &Principal, user_id: Uuid) -> AppResult<ExternalUser> {
        who.require(Role::Agent)?;
        let new_identity = new_super_identity_id();
        let audit = audit(who, AuditAction::Unlinked, user_id, Some(new_identity));
        Ok(self.store.unlink_external_user(who.workspace_id(), user_id, new_identity, &audit, who.actor()).await?)
    }

    pub async fn automatic_matching(&self, who: &Principal) -> AppResult<bool> {
        who.require(Role::Agent)?;
        Ok(self.store.automatic_matching(who.workspace_id()).await?)
    }

    pub async fn set_automatic_matching(&self, who: &Principal, on: bool) -> AppResult<bool> {
        who.require(Role::Admin)?;
        self.store.set_automatic_matching(who.workspace_id(), on, who.actor()).await?;
        Ok(on)
    }

    /// Creates or updates the user with this external id on the channel. Two upserts of one key at
    /// the same moment make one user: the loser of the unique index finds the winner's and updates it.
    pub async fn upsert_external_user(
        &self,
        who: &Principal,
        channel_id: Uuid,
        external_id: ExternalId,
        fields: ExternalUserUpsert,
    ) -> AppResult<(ExternalUser, Upserted)> {
        who.require(Role::Agent)?;
        let ws = who.workspace_id();
        self.store.get_channel(ws, channel_id).await?;
        for _ in 0..UPSERT_ATTEMPTS {
            let key = UserKey::ExternalId(external_id.as_str());
            if let Some(found) = self.store.find_external_user(ws, channel_id, key).await? {
                return self.update_upserted(who, found, &fields).await;
            }
            let new = NewExternalUser {
                channel_id,
                external_id: Some(external_id.clone()),
                identifier: fields.identifier.clone().flatten(),
                name: fields.name.clone().flatten(),
                tier_id: fields.tier_id.flatten(),
                external_user_group_id: fields.external_user_group_id.flatten(),
                time_zone: None,
            };
            match self.create_external_user(who, new).await {
                // Users are created unblocked; a blocked one takes a second write.
                Ok(user) if fields.blocked == Some(true) => {
                    return self.update_upserted(who, user, &fields).await.map(|(u, _)| (u, Upserted::Created));
                }
                Ok(user) => return Ok((user, Upserted::Created)),
                Err(AppError::Conflict(Conflict::Taken(Unique::ExternalUserExternalId))) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict(Conflict::Contended))
    }

    /// The update half of an upsert: the same use case, rules and events as a seed 001 patch, which
    /// writes nothing (and keeps `updatedAt`) when no field changes.
    async fn update_upserted(
        &self,
        who: &Principal,
        user: ExternalUser,
        f: &ExternalUserUpsert,
    ) -> AppResult<(ExternalUser, Upserted)> {
        let patch = ExternalUserPatch {
            blocked: f.blocked,
            external_id: None,
            identifier: f.identifier.clone(),
            name: f.name.clone(),
            tier_id: f.tier_id,
            external_user_group_id: f.external_user_group_id,
        };
        let stored = self.update_external_user(who, user.id, patch).await?;
        let outcome = if stored.updated_at == user.updated_at { Upserted::Unchanged } else { Upserted::Updated };
        Ok((stored, outcome))
    }

    /// Erases one external user (see docs/privacy.md); the audit keeps who erased whom, and when.
    pub async fn erase_external_user(&self, who: &Principal, user_id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        let audit = audit(who, AuditAction::ExternalUserErased, user_id, None);
        Ok(self.store.erase_external_user(who.workspace_id(), user_id, &audit, who.actor()).await?)
    }

    /// Erases a person: every external user of the super identity. How many were erased.
    pub async fn erase_person(&self, who: &Principal, super_identity_id: Uuid) -> AppResult<u64> {
        who.require(Role::Admin)?;
        let audit = audit(who, AuditAction::PersonErased, super_identity_id, None);
        Ok(self.store.erase_person(who.workspace_id(), super_identity_id, &audit, who.actor()).await?)
    }

    /// The audit records naming `subject_id` (as subject or target), oldest first.
    pub async fn audit_records(&self, who: &Principal, subject_id: Uuid) -> AppResult<Vec<AuditRecord>> {
        who.require(Role::Admin)?;
        Ok(self.store.audit_records(who.workspace_id(), subject_id).await?)
    }
}
