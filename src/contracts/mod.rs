//! HTTP: one module per API contract, each translating its own paths, field names, paging, auth
//! header and error envelope onto the shared use cases.

pub mod body;
pub mod extract;
mod metrics;
mod ops;
pub mod service_desk;
pub mod staff_users;
pub mod support_tickets;
pub mod ticket_external_users;
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
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// Seed 002's per-credential request limit (per node).
    pub ticket_rate_limit: std::sync::Arc<support_tickets::RateLimiter>,
}

/// How a server presents itself and what it allows.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The address clients reach the server at, for links in responses.
    pub public_base_url: String,
    /// Requests a second each credential may make to the support tickets contract; 0 = no limit.
    pub ticket_rate_limit_per_second: u32,
}

impl AppState {
    pub fn new(app: App, options: ServerOptions) -> Self {
        let openapi = serde_json::to_vec(&ops::openapi_document()).unwrap_or_default().into();
        Self {
            app,
            public_base_url: options.public_base_url,
            openapi,
            metrics: Default::default(),
            ticket_rate_limit: std::sync::Arc::new(support_tickets::RateLimiter::new(
                options.ticket_rate_limit_per_second,
            )),
        }
    }
}

/// Every route Frontdesk serves, as (method, path template), contract by contract. The OpenAPI
/// document must describe exactly these; a test holds the two together.
pub fn routes() -> Vec<(&'static str, &'static str)> {
    [
        ops::ROUTES,
        workspace_api::ROUTES,
        support_tickets::ROUTES,
        ticket_external_users::ROUTES,
        staff_users::ROUTES,
        service_desk::ROUTES,
    ]
    .concat()
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(workspace_api::router())
        .merge(support_tickets::router(&state))
        .merge(ticket_external_users::router())
        .merge(staff_users::router())
        .merge(service_desk::router())
        // The settings page: HTML for people, not an API contract, so not in `routes()`.
        .merge(crate::web::router())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::measure))
        .route("/metrics", axum::routing::get(metrics::expose))
        .fallback(|| async { (StatusCode::NOT_FOUND, axum::Json(json!({"code": 404, "message": "Route not found."}))) })
        // Contracts with an envelope of their own for 405 set it on their routes (seed 003 does).
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, axum::Json(json!({"code": 405, "message": "Method not allowed."})))
        })
        .with_state(state)
        .layer(axum::middleware::from_fn(ops::observe))
}
