//! A handler that panics answers 500 in its contract's error envelope instead of resetting the
//! connection. The shell does not know the contracts' envelopes: whoever composes the routes hands
//! it one 500 response per path prefix.

use std::any::Any;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A contract's own 500 response.
pub type PanicResponse = fn() -> Response;

/// Marks the response `CatchPanicLayer` makes, so the routed middleware, which knows the route,
/// can replace it with the contract's envelope.
#[derive(Clone, Copy)]
pub struct Panicked;

/// What `CatchPanicLayer` answers: logged inside the request span, marked for replacement.
pub fn caught(err: Box<dyn Any + Send + 'static>) -> Response {
    let message = err
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| err.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "handler panicked");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(Panicked);
    response
}

/// The 500 of the contract whose prefix is the longest that `route` starts with; the shell's own
/// JSON shape (that of its 404 and 405) for routes no contract claims.
pub fn response_for(responses: &[(&str, PanicResponse)], route: &str) -> Response {
    let chosen = responses
        .iter()
        .filter(|(prefix, _)| route.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, respond)| *respond);
    match chosen {
        Some(respond) => respond(),
        None => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"code": 500, "message": "Internal server error."})))
            .into_response(),
    }
}
