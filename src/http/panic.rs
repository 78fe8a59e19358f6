//! A handler that panics answers 500 in its contract's error envelope instead of resetting the
//! connection (see [`super::envelope`] for how the shell finds the envelope).

use std::any::Any;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::envelope::{ErrorResponse, response_for};
use crate::app::AppError;

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

/// The 500 of the contract that claims `route`. The request's headers are gone by then, so a
/// contract with several formats answers in its default one.
pub fn response(responses: &[(&str, ErrorResponse)], route: &str) -> Response {
    response_for(responses, route, &HeaderMap::new(), AppError::Internal("the handler panicked".into()))
}
