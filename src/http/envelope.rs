//! The shell answers some requests itself (a handler that panicked, an idempotency key it refuses)
//! but does not know the contracts' envelopes: whoever composes the routes hands it one renderer per
//! path prefix, and the shell picks the longest prefix the request's path starts with.

use axum::Json;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppError;
use crate::http::status::status;

/// A contract's rendering of an error, given the request's headers (a contract that speaks several
/// formats picks one from them).
pub type ErrorResponse = fn(&HeaderMap, AppError) -> Response;

/// The response of the contract whose prefix is the longest that `route` starts with; the shell's
/// own JSON shape (that of its 404 and 405) for routes no contract claims.
pub fn response_for(
    responses: &[(&str, ErrorResponse)],
    route: &str,
    headers: &HeaderMap,
    error: AppError,
) -> Response {
    let chosen = responses
        .iter()
        .filter(|(prefix, _)| route.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, respond)| *respond);
    match chosen {
        Some(respond) => respond(headers, error),
        None => {
            let status = status(&error);
            let message = match &error {
                AppError::Internal(_) => "Internal server error.".to_owned(),
                other => other.to_string(),
            };
            (status, Json(json!({"code": status.as_u16(), "message": message}))).into_response()
        }
    }
}
