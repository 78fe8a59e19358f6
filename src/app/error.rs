use thiserror::Error;

use crate::domain::FieldError;
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
    /// A uniqueness rule would be broken; `field` names the contract-neutral field.
    #[error("conflict on {field}: {message}")]
    Conflict { field: &'static str, message: &'static str },
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity) => AppError::NotFound(entity),
            StoreError::Duplicate(unique) => {
                let (field, message) = match unique {
                    Unique::ExternalUserExternalId => {
                        ("externalId", "External user external id already exists in this channel.")
                    }
                    Unique::ExternalUserIdentifier => {
                        ("identifier", "External user identifier already exists in this channel.")
                    }
                    Unique::GroupExternalId => {
                        ("externalId", "External user group external id already exists in this workspace.")
                    }
                    Unique::StaffEmail => ("email", "A staff user with this e-mail already exists in this workspace."),
                    Unique::StaffExternalId => {
                        ("externalId", "A staff user with this external id already exists in this workspace.")
                    }
                    Unique::StaffCollectionName => ("name", "A staff group or folder with this name already exists."),
                    Unique::BuiltinChannel => ("type", "The workspace already has its built-in e-mail channel."),
                    Unique::Bootstrap => ("id", "The server was already bootstrapped."),
                    Unique::TicketParticipant => ("email", "This person is already a participant of the ticket."),
                    Unique::TicketNumber => ("number", "The ticket number is already taken."),
                    Unique::Other => ("id", "Record already exists."),
                };
                AppError::Conflict { field, message }
            }
            StoreError::InUse(Entity::StaffUser) => AppError::Conflict {
                field: "id",
                message: "The staff user is still referenced (for example as a ticket assignee); disable it instead.",
            },
            StoreError::InUse(Entity::Channel) => {
                AppError::Conflict { field: "id", message: "Channel still has external users." }
            }
            StoreError::InUse(Entity::Location) => {
                AppError::Conflict { field: "id", message: "Location still has tickets." }
            }
            StoreError::InUse(_) => AppError::Conflict { field: "id", message: "Record is still in use." },
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                AppError::Unavailable
            }
            StoreError::Other(detail) => AppError::Internal(detail),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
