//! The support tickets contract's error envelope.
//!
//! Seed 002's product documents its error body only by name (`responseError`); its paging
//! (`limit`, `pageToken`/`nextPageToken`) follows Google's API design guide, so errors follow that
//! guide's shape too: `{"error": {"code", "status", "message", "details": [{"field", "message"}]}}`.
//! See docs/decisions/support-tickets-contract.md.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::Entity;
use crate::app::{AppError, Conflict, IDEMPOTENCY_KEY_FIELD, KeyRefusal};
use crate::http::status::{conflict_field, status};

pub struct TicketsError(pub AppError);

impl From<AppError> for TicketsError {
    fn from(e: AppError) -> Self {
        TicketsError(e)
    }
}

fn not_found_message(entity: Entity) -> &'static str {
    match entity {
        Entity::Ticket => "Ticket not found.",
        Entity::Location => "Location not found.",
        Entity::StaffUser | Entity::ExternalUser | Entity::Membership => "Membership not found.",
        Entity::Workspace => "Network not found.",
        _ => "Not found.",
    }
}

impl IntoResponse for TicketsError {
    fn into_response(self) -> Response {
        let status = status(&self.0);
        let (kind, message, details) = match self.0 {
            AppError::Invalid(errors) => {
                let details: Vec<_> = errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
                let message = match errors.first() {
                    Some(e) if errors.len() == 1 => format!("Invalid data provided: {} {}.", e.field, e.message),
                    _ => "Invalid data provided.".to_owned(),
                };
                ("INVALID_ARGUMENT", message, details)
            }
            AppError::Unauthorized => ("UNAUTHENTICATED", "Unauthorized.".to_owned(), Vec::new()),
            AppError::Forbidden(why) => ("PERMISSION_DENIED", why.to_owned(), Vec::new()),
            AppError::NotFound(entity) => ("NOT_FOUND", not_found_message(entity).to_owned(), Vec::new()),
            // Google's guide: the request is valid but the resource is not in a state to take it.
            AppError::Conflict(c @ Conflict::TicketFull) => (
                "FAILED_PRECONDITION",
                c.message().to_owned(),
                vec![json!({"field": conflict_field(c), "message": c.message()})],
            ),
            AppError::Conflict(c) => (
                "ALREADY_EXISTS",
                c.message().to_owned(),
                vec![json!({"field": conflict_field(c), "message": c.message()})],
            ),
            AppError::Idempotency(refusal) => (
                match refusal {
                    KeyRefusal::Reused => "FAILED_PRECONDITION",
                    KeyRefusal::InProgress => "ABORTED",
                },
                refusal.message().to_owned(),
                vec![json!({"field": IDEMPOTENCY_KEY_FIELD, "message": refusal.message()})],
            ),
            AppError::Unavailable => ("UNAVAILABLE", "Service temporarily unavailable.".to_owned(), Vec::new()),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ("INTERNAL", "Internal server error.".to_owned(), Vec::new())
            }
        };
        let body = json!({"error": {"code": status.as_u16(), "status": kind, "message": message, "details": details}});
        (status, Json(body)).into_response()
    }
}

/// 429 in this contract's envelope, with `Retry-After`.
pub fn rate_limited(per_second: u32) -> Response {
    let message = format!("Too many requests: at most {per_second} a second.");
    let body = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": message, "details": []}});
    (StatusCode::TOO_MANY_REQUESTS, [(axum::http::header::RETRY_AFTER, "1")], Json(body)).into_response()
}

/// 405 in this contract's envelope, for a method a route does not have. Google's guide has no
/// canonical status for it; `UNIMPLEMENTED` is the nearest ("not supported by this resource").
pub async fn method_not_allowed() -> Response {
    let message = "This method is not allowed on this path.";
    let body = json!({"error": {"code": 405, "status": "UNIMPLEMENTED", "message": message, "details": []}});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

pub type TicketsResult<T> = Result<T, TicketsError>;
