use thiserror::Error;

use crate::domain::{FieldError, Refusal};
use crate::store::{Entity, StoreError, Unique};

/// Why a use case did not happen. Each contract renders these in its own envelope, in one place.
#[derive(Debug, Error)]
pub enum AppError {
    /// The request broke one or more rules; every broken rule is listed.
    #[error("invalid data provided")]
    Invalid(Vec<FieldError>),
    #[error("unauthorized")]
    Unauthorized,
    /// The principal is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("{0:?} not found")]
    NotFound(Entity),
    /// The request is valid but clashes with what is stored.
    #[error("{}", .0.message())]
    Conflict(Conflict),
    /// An `Idempotency-Key` the request may not use now (see [`super::KeyRefusal`]).
    #[error("{}", .0.message())]
    Idempotency(super::KeyRefusal),
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, refusal: Refusal) -> Self {
        AppError::Invalid(vec![FieldError::new(field, refusal)])
    }

    /// The same error with the field a use case calls `neutral` named `wire`, as one contract names it.
    pub fn rename_field(self, neutral: &str, wire: &str) -> Self {
        match self {
            AppError::Invalid(errors) => AppError::Invalid(
                errors
                    .into_iter()
                    .map(|e| if e.field == neutral { FieldError { field: wire.to_owned(), ..e } } else { e })
                    .collect(),
            ),
            other => other,
        }
    }
}

/// Which rule a conflicting request would break: typed, so a contract picks its status, field name
/// and error code from the kind and never from the sentence (rewording one changes no API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// A uniqueness rule: another record already has this value.
    Taken(Unique),
    /// The record is still referenced by others of this kind, so it cannot be deleted.
    InUse(Entity),
    /// The workspace's built-in e-mail channel is never removed.
    BuiltinChannel,
    /// Others changed the record at the same moment, every retry included.
    Contended,
    /// The super identity was merged into another: it has no external users to merge or link.
    Merged,
    /// The ticket already holds [`crate::domain::Ticket::MAX_COMMENTS`] comments.
    TicketFull,
    /// The change was decided on a version of the ticket that is no longer its current one: someone
    /// else changed it in between (see [`crate::domain::Ticket::is_at`]).
    Stale,
}

impl Conflict {
    /// A sentence for people, in no contract's terms.
    pub fn message(self) -> &'static str {
        match self {
            Conflict::Taken(unique) => match unique {
                Unique::ExternalUserExternalId => "External user external id already exists in this channel.",
                Unique::ExternalUserIdentifier => "External user identifier already exists in this channel.",
                Unique::GroupExternalId => "External user group external id already exists in this workspace.",
                Unique::StaffEmail => "A staff user with this e-mail already exists in this workspace.",
                Unique::StaffExternalId => "A staff user with this external id already exists in this workspace.",
                Unique::StaffCollectionName => "A staff group or folder with this name already exists.",
                Unique::BuiltinChannel => "The workspace already has its built-in e-mail channel.",
                Unique::Bootstrap => "The server was already bootstrapped.",
                Unique::TicketParticipant => "This person is already a participant of the ticket.",
                Unique::TicketNumber => "The ticket number is already taken.",
                Unique::Other => "Record already exists.",
            },
            Conflict::InUse(Entity::StaffUser) => {
                "The staff user is still referenced (for example as a ticket assignee); disable it instead."
            }
            Conflict::InUse(Entity::Channel) => "Channel still has external users.",
            Conflict::InUse(Entity::Location) => "Location still has tickets.",
            Conflict::InUse(_) => "Record is still in use.",
            Conflict::BuiltinChannel => "The built-in e-mail channel cannot be removed.",
            Conflict::Contended => "The ticket is being changed by others; try again.",
            Conflict::Merged => "The super identity was merged into another; use the one it was merged into.",
            Conflict::TicketFull => "The ticket holds as many comments as a ticket may (1000); open a new ticket.",
            Conflict::Stale => "The ticket changed since this version was read; nothing was saved.",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => AppError::NotFound(entity),
            StoreError::Duplicate(unique) => AppError::Conflict(Conflict::Taken(unique)),
            StoreError::InUse(entity) => AppError::Conflict(Conflict::InUse(entity)),
            StoreError::Unavailable(detail) | StoreError::RolledBack(detail) => {
                tracing::warn!(%detail, "database unavailable");
                AppError::Unavailable
            }
            StoreError::Other(detail) => AppError::Internal(detail),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
