//! The error envelope of seed 001's API family: `{code, message, ...}`.
//!
//! `code` repeats the HTTP status as a number and `message` is the product's sentence ("Invalid data
//! provided.", "Unauthorized.", "Channel not found."); validation errors add `errors[{field, message}]`
//! and conflicts add the `field` that clashed. See docs/decisions/error-envelopes.md.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::Entity;
use crate::app::{AppError, IDEMPOTENCY_KEY_FIELD};
use crate::http::status::{conflict_field, status};

pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

pub fn not_found_message(entity: Entity) -> &'static str {
    match entity {
        Entity::Workspace => "Workspace not found.",
        Entity::ApiKey => "API key not found.",
        Entity::Channel => "Channel not found.",
        Entity::Tier => "Tier not found.",
        Entity::ExternalUserGroup => "External user group not found.",
        Entity::ExternalUser => "External user not found.",
        Entity::SuperIdentity => "Super identity not found.",
        Entity::StaffUser => "Staff user not found.",
        Entity::Location => "Location not found.",
        Entity::Ticket => "Ticket not found.",
        Entity::TicketParticipant => "Ticket participant not found.",
        Entity::Membership => "Membership not found.",
        Entity::StaffGroup => "Staff group not found.",
        Entity::StaffFolder => "Staff folder not found.",
        Entity::StaffInvitation => "Invitation not found or expired.",
        Entity::Webhook => "Webhook not found.",
        Entity::WebhookDelivery => "Webhook delivery not found.",
        Entity::Comment => "Comment not found.",
        Entity::Other => "Record not found.",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status(&self.0);
        let body = match self.0 {
            AppError::Invalid(errors) => {
                let errors: Vec<_> = errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect();
                json!({"message": "Invalid data provided.", "errors": errors})
            }
            AppError::Unauthorized => json!({"message": "Unauthorized."}),
            AppError::Forbidden(why) => json!({"message": why}),
            AppError::NotFound(entity) => json!({"message": not_found_message(entity)}),
            AppError::Conflict(c) => json!({"message": c.message(), "field": conflict_field(c)}),
            AppError::Idempotency(refusal) => json!({"message": refusal.message(), "field": IDEMPOTENCY_KEY_FIELD}),
            AppError::Unavailable => json!({"message": "Service temporarily unavailable."}),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                json!({"message": "Internal server error."})
            }
        };
        let mut body = body;
        body["code"] = json!(status.as_u16());
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
