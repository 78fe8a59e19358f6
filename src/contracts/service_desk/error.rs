//! JSM's error body: `{errorMessage, i18nErrorMessage: {i18nKey, parameters}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::{AppError, Conflict, Entity, IDEMPOTENCY_KEY_FIELD, KeyRefusal, Unique};
use crate::http::status::{conflict_field, status};

pub struct DeskError {
    pub error: AppError,
    /// `?strictConflictStatusCode=true`: a duplicate customer is 409 instead of 400.
    pub strict_conflict: bool,
}

impl From<AppError> for DeskError {
    fn from(error: AppError) -> Self {
        DeskError { error, strict_conflict: false }
    }
}

fn body(status: StatusCode, message: &str, key: &str, parameters: Vec<String>) -> Response {
    (status, Json(json!({"errorMessage": message, "i18nErrorMessage": {"i18nKey": key, "parameters": parameters}})))
        .into_response()
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let status = match &self.error {
            // JSM answers a taken e-mail with 400 unless the client asks for the stricter 409.
            AppError::Conflict(Conflict::Taken(_)) if !self.strict_conflict => StatusCode::BAD_REQUEST,
            // Jira's answer when an issue already holds as many comments as it may.
            AppError::Conflict(Conflict::TicketFull) => StatusCode::PAYLOAD_TOO_LARGE,
            other => status(other),
        };
        let (message, key, parameters) = match self.error {
            AppError::Invalid(errors) => {
                let message =
                    errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
                (message, "sd.api.error.invalid.request", errors.into_iter().map(|e| e.field).collect())
            }
            AppError::Unauthorized => (
                "Client must be authenticated to access this resource.".to_owned(),
                "sd.api.error.unauthorized",
                vec![],
            ),
            AppError::Forbidden(why) => (
                format!("You do not have permission to perform this operation. {why}"),
                "sd.api.error.forbidden",
                vec![],
            ),
            AppError::NotFound(Entity::Workspace) => {
                ("Service desk not found.".to_owned(), "sd.api.error.servicedesk.not.found", vec![])
            }
            AppError::NotFound(Entity::Ticket) => {
                ("The request was not found.".to_owned(), "sd.api.error.request.not.found", vec![])
            }
            AppError::NotFound(Entity::Comment) => {
                ("The comment was not found.".to_owned(), "sd.api.error.comment.not.found", vec![])
            }
            AppError::NotFound(Entity::ExternalUserGroup) => {
                ("Organization not found.".to_owned(), "sd.api.error.organization.not.found", vec![])
            }
            AppError::NotFound(_) => ("Customer not found.".to_owned(), "sd.api.error.customer.not.found", vec![]),
            AppError::Conflict(Conflict::TicketFull) => (
                format!(
                    "The request holds as many comments as a request may ({}).",
                    crate::domain::Ticket::MAX_COMMENTS
                ),
                "sd.api.error.request.comment.limit",
                vec!["body".to_owned()],
            ),
            AppError::Conflict(Conflict::Contended) => {
                (Conflict::Contended.message().to_owned(), "sd.api.error.request.contended", vec![])
            }
            AppError::Conflict(c) => {
                // A customer's e-mail address is its external user's identifier.
                let field = match c {
                    Conflict::Taken(Unique::ExternalUserIdentifier) => "email",
                    other => conflict_field(other),
                };
                (
                    "An account already exists for this email.".to_owned(),
                    "sd.customer.create.error.email.exists",
                    vec![field.to_owned()],
                )
            }
            AppError::Idempotency(refusal) => {
                let key = match refusal {
                    KeyRefusal::Reused => "sd.api.error.idempotency.key.reused",
                    KeyRefusal::InProgress => "sd.api.error.idempotency.key.in.progress",
                };
                (refusal.message().to_owned(), key, vec![IDEMPOTENCY_KEY_FIELD.to_owned()])
            }
            AppError::Unavailable => {
                ("Service temporarily unavailable.".to_owned(), "sd.api.error.unavailable", vec![])
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ("Internal server error.".to_owned(), "sd.api.error.internal", vec![])
            }
        };
        body(status, &message, key, parameters)
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

/// Any method a JSM route does not answer: 405 in the JSM envelope.
pub async fn not_allowed() -> Response {
    body(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.", "sd.api.error.method.not.allowed", vec![])
}

/// A path under `/rest/servicedeskapi/` or `/rest/api/` that this server does not serve: 404 in Jira's
/// envelope, so a Jira client reads the error it expects (not the router's generic one).
pub async fn not_found() -> Response {
    body(StatusCode::NOT_FOUND, "The requested resource does not exist.", "sd.api.error.not.found", vec![])
}
