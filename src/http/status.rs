//! The one table from what went wrong to the HTTP status, and the wire names of a conflict's field,
//! shared by every contract. A contract departs from it only where its seed demands another status.

use axum::http::StatusCode;

use crate::app::{AppError, Conflict, KeyRefusal, Unique};

/// The status an [`AppError`] answers with.
pub fn status(e: &AppError) -> StatusCode {
    match e {
        AppError::Invalid(_) => StatusCode::BAD_REQUEST,
        AppError::Unauthorized => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Idempotency(KeyRefusal::Reused) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Idempotency(KeyRefusal::InProgress) => StatusCode::CONFLICT,
        AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The request field a conflict is about, as the JSON contracts spell it (camelCase); `id` when it is
/// about the record as a whole.
pub fn conflict_field(c: Conflict) -> &'static str {
    match c {
        Conflict::Taken(unique) => match unique {
            Unique::ExternalUserExternalId | Unique::GroupExternalId | Unique::StaffExternalId => "externalId",
            Unique::ExternalUserIdentifier => "identifier",
            Unique::StaffEmail | Unique::TicketParticipant => "email",
            Unique::StaffCollectionName => "name",
            Unique::BuiltinChannel => "type",
            Unique::TicketNumber => "number",
            Unique::Bootstrap | Unique::Other => "id",
        },
        Conflict::InUse(_) | Conflict::BuiltinChannel | Conflict::Contended | Conflict::Merged => "id",
        Conflict::TicketFull => "ticketRef",
        Conflict::Stale => "version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Entity;

    #[test]
    fn every_error_kind_has_its_status() {
        let cases = [
            (AppError::invalid("name", crate::domain::Refusal::required()), 400),
            (AppError::Unauthorized, 401),
            (AppError::Forbidden("no"), 403),
            (AppError::NotFound(Entity::Ticket), 404),
            (AppError::Conflict(Conflict::Contended), 409),
            (AppError::Idempotency(KeyRefusal::Reused), 422),
            (AppError::Idempotency(KeyRefusal::InProgress), 409),
            (AppError::Unavailable, 503),
            (AppError::Internal("x".into()), 500),
        ];
        for (e, code) in cases {
            assert_eq!(status(&e).as_u16(), code, "{e:?}");
        }
    }

    #[test]
    fn a_taken_value_names_its_field_and_a_record_in_use_names_the_record() {
        assert_eq!(conflict_field(Conflict::Taken(Unique::ExternalUserIdentifier)), "identifier");
        assert_eq!(conflict_field(Conflict::Taken(Unique::StaffExternalId)), "externalId");
        assert_eq!(conflict_field(Conflict::InUse(Entity::Channel)), "id");
    }
}
