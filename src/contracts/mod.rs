//! HTTP: one module per API contract, each translating its own paths, field names, paging, auth
//! header and error envelope onto the shared use cases.

pub mod body;
pub mod extract;
mod ops;
pub mod workspace_api;

use axum::Router;
use axum::http::StatusCode;
use serde_json::json;

use crate::app::App;

/// What every handler gets: the use cases and how the server presents itself.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    /// The server's public address, for links in responses (seed 004's `_links`).
    pub public_base_url: String,
}

/// Every route Frontdesk serves, as (method, path template). The OpenAPI document must describe
/// exactly these; a test holds the two together.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/api/v1/external-users"),
    ("POST", "/api/v1/external-users"),
    ("POST", "/api/v1/external-users/authenticate"),
    ("GET", "/api/v1/external-users/{id}"),
    ("PATCH", "/api/v1/external-users/{id}"),
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/channels"),
    ("POST", "/api/v1/channels"),
    ("GET", "/api/v1/channels/{id}"),
    ("PATCH", "/api/v1/channels/{id}"),
    ("DELETE", "/api/v1/channels/{id}"),
    ("GET", "/api/v1/tiers"),
    ("POST", "/api/v1/tiers"),
    ("GET", "/api/v1/tiers/{id}"),
    ("PATCH", "/api/v1/tiers/{id}"),
    ("DELETE", "/api/v1/tiers/{id}"),
    ("GET", "/api/v1/external-user-groups"),
    ("POST", "/api/v1/external-user-groups"),
    ("GET", "/api/v1/external-user-groups/{id}"),
    ("DELETE", "/api/v1/external-user-groups/{id}"),
    ("GET", "/api/v1/api-keys"),
    ("POST", "/api/v1/api-keys"),
    ("DELETE", "/api/v1/api-keys/{id}"),
];

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(workspace_api::router())
        .fallback(|| async { (StatusCode::NOT_FOUND, axum::Json(json!({"code": 404, "message": "Route not found."}))) })
        .with_state(state)
        .layer(axum::middleware::from_fn(ops::observe))
}
