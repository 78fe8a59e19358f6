//! The support tickets contract (seed 002): `/support/tickets/v1`, with seed 002's credentials
//! (bearer token plus `spacebring-network-id`, or Basic), bodies and error envelope.

mod auth;
pub mod error;
mod rate_limit;
mod render;
mod tickets;

use axum::Router;

use crate::http::AppState;

/// The routes below, for the OpenAPI check.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/support/tickets/v1"),
    ("POST", "/support/tickets/v1"),
    ("POST", "/support/tickets/v1/comment"),
    ("GET", "/support/tickets/v1/{id}"),
    ("PUT", "/support/tickets/v1/{id}/status"),
    ("PATCH", "/support/tickets/v1/{id}/type"),
    ("PUT", "/support/tickets/v1/{id}/assignee"),
    ("DELETE", "/support/tickets/v1/{id}/assignee"),
    ("POST", "/support/tickets/v1/{id}/comments"),
];

/// This contract's part of the OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");

pub use rate_limit::RateLimiter;

/// The contract's routes behind its own per-caller rate limit (`per_second` = 0: no limit), which the
/// credential extractor applies.
pub fn router(per_second: u32) -> Router<AppState> {
    let limiter = std::sync::Arc::new(RateLimiter::new(per_second));
    tickets::router().layer(axum::Extension(limiter))
}
