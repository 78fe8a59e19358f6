//! The CRM API's error envelope (seed 000).
//!
//! The seed documents no error body. Its reference is generated from a NestJS-style OpenAPI
//! description ("Enter token in following format: Bearer"), so errors take that framework's shape:
//! `{"statusCode", "message", "error"}`, where `message` lists every broken rule for a 400 (each
//! naming its field, as `errors[{field, message}]` also does). See docs/decisions/crm-error-envelope.md.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::Entity;
use crate::app::{AppError, IDEMPOTENCY_KEY_FIELD};
use crate::http::status::{conflict_field, status};

pub struct CrmError(pub AppError);

impl From<AppError> for CrmError {
    fn from(e: AppError) -> Self {
        CrmError(e)
    }
}

fn not_found_message(entity: Entity) -> &'static str {
    match entity {
        Entity::Ticket => "Ticket not found.",
        Entity::TicketParticipant => "Ticket external user not found.",
        Entity::ExternalUser => "External user not found.",
        Entity::Channel => "E-mail channel not found.",
        _ => "Not found.",
    }
}

impl IntoResponse for CrmError {
    fn into_response(self) -> Response {
        let status = status(&self.0);
        let body = match self.0 {
            AppError::Invalid(errors) => {
                let messages: Vec<String> = errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect();
                let fields: Vec<_> = errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
                json!({"message": messages, "errors": fields})
            }
            AppError::Unauthorized => json!({"message": "Unauthorized"}),
            AppError::Forbidden(why) => json!({"message": why}),
            AppError::NotFound(entity) => json!({"message": not_found_message(entity)}),
            AppError::Conflict(c) => json!({"message": c.message(), "field": conflict_field(c)}),
            AppError::Idempotency(refusal) => json!({"message": refusal.message(), "field": IDEMPOTENCY_KEY_FIELD}),
            AppError::Unavailable => json!({"message": "Service temporarily unavailable."}),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                json!({"message": "Internal server error"})
            }
        };
        let mut body = body;
        body["statusCode"] = json!(status.as_u16());
        body["error"] = json!(status.canonical_reason().unwrap_or("Error"));
        (status, Json(body)).into_response()
    }
}

/// 405 in NestJS's shape, for a method a route does not have.
pub async fn method_not_allowed() -> Response {
    let body = json!({"statusCode": 405, "message": "Method not allowed", "error": "Method Not Allowed"});
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

pub type CrmResult<T> = Result<T, CrmError>;
