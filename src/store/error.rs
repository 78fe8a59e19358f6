use thiserror::Error;

use crate::domain::query::{Entity, Unique};

impl Unique {
    /// Tells which rule a unique violation broke from the database's own words: PostgreSQL names the
    /// index, SQLite names the columns (or the index, for an expression index).
    pub(crate) fn from_message(text: &str) -> Self {
        if text.contains("ticket_participants") {
            Unique::TicketParticipant
        } else if text.contains("tickets_number") || text.contains("tickets.number") {
            Unique::TicketNumber
        } else if text.contains("external_users_identifier") || text.contains("external_users.identifier") {
            Unique::ExternalUserIdentifier
        } else if text.contains("external_users_external_id") || text.contains("external_users.external_id") {
            Unique::ExternalUserExternalId
        } else if text.contains("external_user_groups") {
            Unique::GroupExternalId
        } else if text.contains("staff_users_email") || text.contains("staff_users.email") {
            Unique::StaffEmail
        } else if text.contains("staff_users_external_id") || text.contains("staff_users.external_id") {
            Unique::StaffExternalId
        } else if text.contains("bootstrap") {
            Unique::Bootstrap
        } else if text.contains("staff_collections") {
            Unique::StaffCollectionName
        } else if text.contains("channels_builtin") || text.contains("channels.workspace_id") {
            Unique::BuiltinChannel
        } else {
            Unique::Other
        }
    }
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0:?} not found")]
    NotFound(Entity),
    #[error("duplicate {0:?}")]
    Duplicate(Unique),
    /// The record is still referenced by others and cannot be removed.
    #[error("{0:?} is in use")]
    InUse(Entity),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// PostgreSQL ended the transaction to break a deadlock or a serialization conflict: nothing of
    /// it was written, and running it again may succeed.
    #[error("transaction rolled back by the database: {0}")]
    RolledBack(String),
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    /// An error of the same kind and text, for telling several callers about one failure.
    pub fn same_kind(&self) -> StoreError {
        match self {
            StoreError::NotFound(e) => StoreError::NotFound(*e),
            StoreError::Duplicate(u) => StoreError::Duplicate(*u),
            StoreError::InUse(e) => StoreError::InUse(*e),
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            StoreError::RolledBack(m) => StoreError::RolledBack(m.clone()),
            other => StoreError::Other(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) => {
                let text = format!("{} {}", db.message(), db.constraint().unwrap_or_default());
                match db.kind() {
                    sqlx::error::ErrorKind::UniqueViolation => StoreError::Duplicate(Unique::from_message(&text)),
                    // Deleting a row others still point at (e.g. a staff user assigned to tickets).
                    sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::InUse(Entity::Other),
                    _ if is_connection_loss(db.code().as_deref()) => StoreError::Unavailable(e.to_string()),
                    _ if matches!(db.code().as_deref(), Some("40P01" | "40001")) => {
                        StoreError::RolledBack(e.to_string())
                    }
                    _ => StoreError::Other(e.to_string()),
                }
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e.to_string()),
        }
    }
}

/// PostgreSQL's "admin shutdown" and "connection failure" classes, and SQLite's "busy"/"locked".
fn is_connection_loss(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("57P") || c.starts_with("08") || c == "5" || c == "6")
}

/// The direct SQLite reads' errors (`sqlite_direct.rs`), sorted as the sqlx ones above: a broken
/// rule by its kind, busy/locked or an unopenable file as the database being unavailable.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match &e {
            rusqlite::Error::SqliteFailure(failure, message) => {
                let text = message.as_deref().unwrap_or_default();
                match failure.code {
                    ErrorCode::ConstraintViolation
                        if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                    {
                        StoreError::Duplicate(Unique::from_message(text))
                    }
                    ErrorCode::ConstraintViolation
                        if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                    {
                        StoreError::InUse(Entity::Other)
                    }
                    ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::CannotOpen
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::NotADatabase => StoreError::Unavailable(e.to_string()),
                    _ => StoreError::Other(e.to_string()),
                }
            }
            _ => StoreError::Other(e.to_string()),
        }
    }
}
