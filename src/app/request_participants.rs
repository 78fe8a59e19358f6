//! Seed 004: a request's participants the Jira Service Management way. They are the same ticket
//! participants as seed 000's ticket external users, named by external user (a customer's account id)
//! and changed several at a time. Adding someone already participating, or removing someone who is
//! not, changes nothing and is no error (JSM's behaviour), unlike seed 000's add.

use uuid::Uuid;

use super::{App, AppError, AppResult, Principal};
use crate::domain::{ExternalUser, FieldError, Refusal, Role, Rule, Timestamp};
use crate::store::{Page, Paging, ParticipantsChange, ParticipantsOutcome, RequestRef};

/// At most this many accounts per change, like a page: a bound on one transaction's work.
pub const MAX_PARTICIPANTS_PER_CHANGE: usize = 100;

/// The accounts of one change, as the body listed them under `field`; `None` marks an entry that is no
/// account id of the caller's workspace.
pub struct AccountList<'a> {
    pub field: &'a str,
    pub users: Vec<Option<Uuid>>,
}

const UNKNOWN: &str = "names no customer of this service desk";

impl AccountList<'_> {
    /// The distinct users in order. An entry that is no account id stands in as the nil id, which names
    /// nobody: the store then answers once, a missing request before any unknown account, and every
    /// unknown entry is reported together.
    pub(super) fn distinct(&self) -> AppResult<Vec<Uuid>> {
        if self.users.is_empty() {
            return Err(AppError::invalid(
                self.field,
                Refusal::new(Rule::TooShort { min: 1 }, "must name at least one account"),
            ));
        }
        if self.users.len() > MAX_PARTICIPANTS_PER_CHANGE {
            let max = MAX_PARTICIPANTS_PER_CHANGE;
            return Err(AppError::invalid(
                self.field,
                Refusal::new(Rule::TooLong { max }, format!("must name at most {max} accounts")),
            ));
        }
        let mut distinct: Vec<Uuid> = Vec::with_capacity(self.users.len());
        for id in self.users.iter().map(|u| u.unwrap_or(Uuid::nil())) {
            if !distinct.contains(&id) {
                distinct.push(id);
            }
        }
        Ok(distinct)
    }

    /// One error per entry that is no account id or is among `unknown`.
    pub(super) fn errors(&self, unknown: &[Uuid]) -> Vec<FieldError> {
        self.users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.is_none_or(|id| unknown.contains(&id)))
            .map(|(i, _)| FieldError::new(format!("{}[{i}]", self.field), Refusal::new(Rule::NotFound, UNKNOWN)))
            .collect()
    }

    fn outcome(&self, outcome: ParticipantsOutcome) -> AppResult<Page<ExternalUser>> {
        match outcome {
            ParticipantsOutcome::Done(page) => Ok(page),
            ParticipantsOutcome::Unknown(unknown) => Err(AppError::Invalid(self.errors(&unknown))),
        }
    }
}

impl App {
    /// A page of the request's participants, oldest first.
    pub async fn list_request_participants(
        &self,
        who: &Principal,
        request: RequestRef,
        paging: Paging,
    ) -> AppResult<Page<ExternalUser>> {
        who.require(Role::Agent)?;
        Ok(self.store.request_participants(who.workspace_id(), request, paging).await?)
    }

    /// Makes the customers participants of the request (all or none); answers with a page of all its
    /// participants.
    pub async fn add_request_participants(
        &self,
        who: &Principal,
        request: RequestRef,
        accounts: &AccountList<'_>,
        paging: Paging,
    ) -> AppResult<Page<ExternalUser>> {
        who.require(Role::Agent)?;
        let users = accounts.distinct()?;
        let new_ids: Vec<Uuid> = users.iter().map(|_| Uuid::new_v4()).collect();
        let change = self.change(who, request, &users, &new_ids, paging);
        accounts.outcome(self.store.add_request_participants(&change).await?)
    }

    /// Takes the users off the request (all or none); answers with a page of the remaining participants.
    pub async fn remove_request_participants(
        &self,
        who: &Principal,
        request: RequestRef,
        accounts: &AccountList<'_>,
        paging: Paging,
    ) -> AppResult<Page<ExternalUser>> {
        who.require(Role::Agent)?;
        let users = accounts.distinct()?;
        let change = self.change(who, request, &users, &[], paging);
        accounts.outcome(self.store.remove_request_participants(&change).await?)
    }

    fn change<'a>(
        &self,
        who: &Principal,
        request: RequestRef,
        users: &'a [Uuid],
        new_ids: &'a [Uuid],
        paging: Paging,
    ) -> ParticipantsChange<'a> {
        ParticipantsChange {
            workspace_id: who.workspace_id(),
            request,
            users,
            new_ids,
            at: Timestamp::now(),
            by: who.actor_id(),
            actor: who.actor(),
            paging,
        }
    }
}
