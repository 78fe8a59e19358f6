//! The HTTP shell every contract and the settings page share: the state handlers get, extractors and
//! body reading, liveness and readiness, metrics and request logging. Contracts and the web page
//! depend on this module; it depends on none of them (the composition happens in `lib.rs`).

pub mod body;
pub mod extract;
pub mod metrics;
pub mod ops;
pub mod status;
pub mod transport;

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
}

/// How a server presents itself and what it allows.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The address clients reach the server at, for links in responses.
    pub public_base_url: String,
    /// Requests a second each credential may make to the support tickets contract; 0 = no limit.
    pub ticket_rate_limit_per_second: u32,
    /// Connection, time, concurrency and body bounds of the transport.
    pub limits: transport::Limits,
}

impl AppState {
    /// `openapi` is the served document, built by whoever composes the routes.
    pub fn new(app: App, options: &ServerOptions, openapi: &serde_json::Value) -> Self {
        let openapi = serde_json::to_vec(openapi).unwrap_or_default().into();
        Self { app, public_base_url: options.public_base_url.clone(), openapi, metrics: Default::default() }
    }
}

/// Wraps the composed routes in what every request passes through: metrics by route template,
/// `/metrics`, the JSON 404/405 fallbacks and request logging.
pub fn shell(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .merge(ops::router())
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
