//! HTTP: one module per API contract, each translating its own paths, field names, paging, auth
//! header and error envelope onto the shared use cases.

pub mod body;
pub mod extract;
mod ops;
pub mod service_desk;
pub mod staff_users;
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
    /// The OpenAPI document, serialized once at start-up.
    pub openapi: bytes::Bytes,
}

impl AppState {
    pub fn new(app: App, public_base_url: String) -> Self {
        let openapi = serde_json::to_vec(&ops::openapi_document()).unwrap_or_default().into();
        Self { app, public_base_url, openapi }
    }
}

/// Every route Frontdesk serves, as (method, path template), contract by contract. The OpenAPI
/// document must describe exactly these; a test holds the two together.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    [ops::ROUTES, workspace_api::ROUTES, staff_users::ROUTES, service_desk::ROUTES].concat()
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(workspace_api::router())
        .merge(staff_users::router())
        .merge(service_desk::router())
        // The settings page: HTML for people, not an API contract, so not in `routes()`.
        .merge(crate::web::router())
        .fallback(|| async { (StatusCode::NOT_FOUND, axum::Json(json!({"code": 404, "message": "Route not found."}))) })
        .with_state(state)
        .layer(axum::middleware::from_fn(ops::observe))
}
