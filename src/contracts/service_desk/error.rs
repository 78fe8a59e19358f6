//! JSM's error body: `{errorMessage, i18nErrorMessage: {i18nKey, parameters}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppError;
use crate::app::Entity;

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
        match self.error {
            AppError::Invalid(errors) => {
                let message =
                    errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
                let fields = errors.into_iter().map(|e| e.field).collect();
                body(StatusCode::BAD_REQUEST, &message, "sd.api.error.invalid.request", fields)
            }
            AppError::Unauthorized => body(
                StatusCode::UNAUTHORIZED,
                "Client must be authenticated to access this resource.",
                "sd.api.error.unauthorized",
                vec![],
            ),
            AppError::Forbidden(_) => body(
                StatusCode::FORBIDDEN,
                "You do not have permission to perform this operation. It needs an admin API key.",
                "sd.api.error.forbidden",
                vec![],
            ),
            AppError::NotFound(Entity::Workspace) => {
                body(StatusCode::NOT_FOUND, "Service desk not found.", "sd.api.error.servicedesk.not.found", vec![])
            }
            AppError::NotFound(Entity::Ticket) => {
                body(StatusCode::NOT_FOUND, "The request was not found.", "sd.api.error.request.not.found", vec![])
            }
            AppError::NotFound(_) => {
                body(StatusCode::NOT_FOUND, "Customer not found.", "sd.api.error.customer.not.found", vec![])
            }
            AppError::Conflict { field, .. } => {
                let status = if self.strict_conflict { StatusCode::CONFLICT } else { StatusCode::BAD_REQUEST };
                let field = if field == "identifier" { "email" } else { field };
                body(
                    status,
                    "An account already exists for this email.",
                    "sd.customer.create.error.email.exists",
                    vec![field.to_owned()],
                )
            }
            AppError::Unavailable => body(
                StatusCode::SERVICE_UNAVAILABLE,
                "Service temporarily unavailable.",
                "sd.api.error.unavailable",
                vec![],
            ),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                body(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.", "sd.api.error.internal", vec![])
            }
        }
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

/// Any method a JSM route does not answer: 405 in the JSM envelope.
pub async fn not_allowed() -> Response {
    body(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.", "sd.api.error.method.not.allowed", vec![])
}
