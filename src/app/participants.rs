//! Seed 000: people outside the team given access to one ticket. Each participant is an external user
//! of the workspace; one added by e-mail address is found on (or added to) the built-in e-mail channel,
//! so it also shows up among the workspace's external users. Other contracts (request participants)
//! map onto the same use cases.

use uuid::Uuid;

use super::{App, AppError, AppResult, Principal};
use crate::domain::{EmailAddress, Refusal, Role, Rule, TicketParticipant, Timestamp, new_super_identity_id};
use crate::store::{NewParticipant, ParticipantCursor, ParticipantKey, ParticipantPage, StoreError, Unique};

/// Names a participant: by its own id (removal only), its external user's id, or an e-mail address.
#[derive(Debug, Clone)]
pub enum ParticipantRef {
    Id(Uuid),
    ExternalUser(Uuid),
    Email(EmailAddress),
}

impl ParticipantRef {
    fn key(&self) -> ParticipantKey<'_> {
        match self {
            ParticipantRef::Id(id) => ParticipantKey::Id(*id),
            ParticipantRef::ExternalUser(id) => ParticipantKey::ExternalUser(*id),
            ParticipantRef::Email(email) => ParticipantKey::Email(email.as_str()),
        }
    }
}

impl App {
    /// Adds a participant to a ticket. The same person twice is a conflict on `email`.
    pub async fn add_participant(
        &self,
        who: &Principal,
        ticket_id: Uuid,
        person: ParticipantRef,
    ) -> AppResult<TicketParticipant> {
        who.require(Role::Agent)?;
        if let ParticipantRef::Id(_) = person {
            return Err(AppError::invalid(
                "id",
                Refusal::new(Rule::Combination, "a new participant is named by external user or e-mail"),
            ));
        }
        let new = NewParticipant {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            ticket_id,
            key: person.key(),
            new_user_id: Uuid::new_v4(),
            new_super_identity_id: new_super_identity_id(),
            at: Timestamp::now(),
            by: who.actor_id(),
            actor: who.actor(),
        };
        match self.store.add_participant(&new).await {
            // Another request added the same address to the e-mail channel a moment ago: the second
            // attempt finds that external user.
            Err(StoreError::Duplicate(Unique::ExternalUserIdentifier)) => Ok(self.store.add_participant(&new).await?),
            other => Ok(other?),
        }
    }

    pub async fn list_participants(&self, who: &Principal, ticket_id: Uuid) -> AppResult<Vec<TicketParticipant>> {
        who.require(Role::Agent)?;
        Ok(self.store.list_participants(who.workspace_id(), ticket_id).await?)
    }

    /// At most `limit` (1 to [`TicketParticipant::MAX_PER_PAGE`]) of the ticket's participants added
    /// after `after`, oldest first.
    pub async fn participants_page(
        &self,
        who: &Principal,
        ticket_id: Uuid,
        after: Option<ParticipantCursor>,
        limit: i64,
    ) -> AppResult<ParticipantPage> {
        who.require(Role::Agent)?;
        let limit = limit.clamp(1, TicketParticipant::MAX_PER_PAGE);
        Ok(self.store.participants_page(who.workspace_id(), ticket_id, after, limit).await?)
    }

    /// Removes a participant and returns what it was.
    pub async fn remove_participant(
        &self,
        who: &Principal,
        ticket_id: Uuid,
        person: ParticipantRef,
    ) -> AppResult<TicketParticipant> {
        who.require(Role::Agent)?;
        Ok(self.store.remove_participant(who.workspace_id(), ticket_id, person.key(), who.actor()).await?)
    }
}
