//! Who follows a ticket besides its requester: seed 000's ticket participants and seed 004's request
//! participants are the same `ticket_participants` rows, the latter read and written as pages of
//! external users, several at a time, and idempotently.

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::{Page, Paging, ParticipantCursor, ParticipantKey, ParticipantPage, RequestRef, StoreResult};
use crate::domain::{Actor, ExternalUser, TicketParticipant, Timestamp};

/// A participant to add. When `key` is an e-mail address nobody on the e-mail channel has, a new
/// external user is created there with `new_user_id` and `new_super_identity_id`.
#[derive(Debug, Clone)]
pub struct NewParticipant<'a> {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub ticket_id: Uuid,
    pub key: ParticipantKey<'a>,
    pub new_user_id: Uuid,
    pub new_super_identity_id: Uuid,
    pub at: Timestamp,
    pub by: Uuid,
    /// Who the events name.
    pub actor: Actor,
}

impl NewParticipant<'_> {
    /// The external user a participant named by an e-mail no one has becomes: a customer of the
    /// built-in e-mail channel `channel_id`, with the ids the use case chose for it.
    pub(super) fn new_customer(&self, channel_id: Uuid, email: &str) -> ExternalUser {
        ExternalUser {
            id: self.new_user_id,
            workspace_id: self.workspace_id,
            channel_id,
            super_identity_id: self.new_super_identity_id,
            external_id: None,
            identifier: Some(email.to_owned()),
            name: None,
            tier_id: None,
            external_user_group_id: None,
            blocked: false,
            time_zone: None,
            created_at: self.at,
            updated_at: self.at,
        }
    }
}

/// Participants to add to or remove from a request, and the page of participants to answer with.
#[derive(Debug, Clone)]
pub struct ParticipantsChange<'a> {
    pub workspace_id: Uuid,
    pub request: RequestRef,
    /// External user ids, without repeats.
    pub users: &'a [Uuid],
    /// Ids for new participant rows, one per entry of `users` (unused when removing).
    pub new_ids: &'a [Uuid],
    pub at: Timestamp,
    pub by: Uuid,
    /// Who the events name.
    pub actor: Actor,
    pub paging: Paging,
}

/// What a change did: the participants afterwards, or nothing because some users are unknown.
#[derive(Debug, Clone)]
pub enum ParticipantsOutcome {
    Done(Page<ExternalUser>),
    /// These entries of `users` name no user the change may use (nothing was changed).
    Unknown(Vec<Uuid>),
}

#[async_trait]
pub trait ParticipantStore: Send + Sync {
    async fn add_participant(&self, new: &NewParticipant<'_>) -> StoreResult<TicketParticipant>;
    async fn list_participants(&self, workspace_id: Uuid, ticket_id: Uuid) -> StoreResult<Vec<TicketParticipant>>;
    /// At most `limit` of the ticket's participants added after `after`, oldest first. One statement
    /// when the page has anyone on it; an empty page also asks whether the ticket exists.
    async fn participants_page(
        &self,
        workspace_id: Uuid,
        ticket_id: Uuid,
        after: Option<ParticipantCursor>,
        limit: i64,
    ) -> StoreResult<ParticipantPage>;
    async fn remove_participant(
        &self,
        workspace_id: Uuid,
        ticket_id: Uuid,
        key: ParticipantKey<'_>,
        actor: Actor,
    ) -> StoreResult<TicketParticipant>;

    /// A page of the request's participants, oldest first.
    async fn request_participants(
        &self,
        workspace_id: Uuid,
        request: RequestRef,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUser>>;
    /// Adds the customers (external users of the built-in e-mail channel) not yet participating; ones
    /// already participating stay as they are.
    async fn add_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome>;
    /// Removes those of the workspace's external users that participate; others are left alone.
    async fn remove_request_participants(&self, change: &ParticipantsChange<'_>) -> StoreResult<ParticipantsOutcome>;
    /// Which of `users` are no customers (external users of the built-in e-mail channel) of the workspace.
    async fn unknown_customers(&self, workspace_id: Uuid, users: &[Uuid]) -> StoreResult<Vec<Uuid>>;
}

/// `SELECT <a participant's columns, its user's identifier as email> FROM ticket_participants p JOIN
/// external_users u <rest>`: one column list for every read, in the order `ParticipantRow` expects.
macro_rules! select_participants {
    ($rest:literal) => {
        concat!(
            "SELECT p.id, p.workspace_id, p.ticket_id, p.external_user_id, u.identifier AS email, p.created_at, \
             p.created_by, p.updated_at, p.updated_by FROM ticket_participants p \
             JOIN external_users u ON u.id = p.external_user_id",
            $rest
        )
    };
}
pub(super) const PARTICIPANT_SELECT: &str = select_participants!("");
/// The participant `$1`.
pub(super) const PARTICIPANT_BY_ID: &str = select_participants!(" WHERE p.id = $1");

pub(super) const INSERT_PARTICIPANT: &str = "INSERT INTO ticket_participants (id, workspace_id, ticket_id, \
     external_user_id, created_at, created_by, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $5, $6)";
/// [`INSERT_PARTICIPANT`] that leaves one already participating as it is.
pub(super) const INSERT_PARTICIPANT_IF_NEW: &str = "INSERT INTO ticket_participants (id, workspace_id, ticket_id, \
     external_user_id, created_at, created_by, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $5, $6) \
     ON CONFLICT (ticket_id, external_user_id) DO NOTHING";
pub(super) const DELETE_PARTICIPANT: &str = "DELETE FROM ticket_participants WHERE id = $1";
pub(super) const DELETE_USER_PARTICIPANT: &str =
    "DELETE FROM ticket_participants WHERE workspace_id = $1 AND ticket_id = $2 AND external_user_id = $3";
pub(super) const TICKET_ID_BY_ID: &str = "SELECT id FROM tickets WHERE workspace_id = $1 AND id = $2";
pub(super) const TICKET_ID_BY_NUMBER: &str = "SELECT id FROM tickets WHERE workspace_id = $1 AND number = $2";
pub(super) const COUNT_PARTICIPANTS: &str =
    "SELECT COUNT(*) FROM ticket_participants WHERE workspace_id = $1 AND ticket_id = $2";
pub(super) const PARTICIPANT_USERS: &str = "SELECT u.id, u.workspace_id, u.channel_id, u.super_identity_id, \
     u.external_id, u.identifier, u.name, u.tier_id, u.group_id, u.blocked, u.time_zone, u.created_at, u.updated_at \
     FROM ticket_participants p JOIN external_users u ON u.id = p.external_user_id \
     WHERE p.workspace_id = $1 AND p.ticket_id = $2 ORDER BY p.created_at, p.id LIMIT $3 OFFSET $4";

#[derive(FromRow)]
pub(super) struct ParticipantRow {
    pub(super) id: Uuid,
    pub(super) workspace_id: Uuid,
    pub(super) ticket_id: Uuid,
    pub(super) external_user_id: Uuid,
    pub(super) email: Option<String>,
    pub(super) created_at: i64,
    pub(super) created_by: Uuid,
    pub(super) updated_at: i64,
    pub(super) updated_by: Uuid,
}

impl From<ParticipantRow> for TicketParticipant {
    fn from(r: ParticipantRow) -> Self {
        TicketParticipant {
            id: r.id,
            workspace_id: r.workspace_id,
            ticket_id: r.ticket_id,
            external_user_id: r.external_user_id,
            email: r.email,
            created_at: Timestamp::from_micros(r.created_at),
            created_by: r.created_by,
            updated_at: Timestamp::from_micros(r.updated_at),
            updated_by: r.updated_by,
        }
    }
}
