//! Running the server: liveness, readiness, the OpenAPI document and request logging.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;

pub const ROUTES: &[(&str, &str)] =
    &[("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/openapi.json"), ("GET", "/metrics")];

/// The OpenAPI 3.1 document of every route in [`super::routes`]: each contract keeps its own part
/// beside its code, and the parts' `paths` and `components` are merged here.
pub fn openapi_document() -> Value {
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Frontdesk", "version": env!("CARGO_PKG_VERSION"),
                 "description": "A self-hosted support desk speaking several helpdesk API contracts."},
        "paths": {},
        "components": {},
    });
    for part in [
        OPENAPI_OPS,
        super::workspace_api::OPENAPI,
        super::workspace_api::LOCATIONS_OPENAPI,
        super::support_tickets::OPENAPI,
        super::ticket_external_users::OPENAPI,
        super::staff_users::OPENAPI,
        super::service_desk::OPENAPI,
    ] {
        // The parts are compiled in and checked by tests; a broken one is a build defect.
        let part: Value = serde_json::from_str(part).unwrap_or_else(|e| panic!("invalid OpenAPI part: {e}"));
        merge_objects(&mut doc["paths"], &part["paths"]);
        if let Some(components) = part["components"].as_object() {
            for (kind, entries) in components {
                merge_objects(&mut doc["components"][kind], entries);
            }
        }
    }
    doc
}

const OPENAPI_OPS: &str = include_str!("ops_openapi.json");

fn merge_objects(into: &mut Value, from: &Value) {
    if into.is_null() {
        *into = json!({});
    }
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            into.insert(k.clone(), v.clone());
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(ready))
        .route("/openapi.json", get(openapi))
}

async fn openapi(State(s): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], s.openapi.clone()).into_response()
}

async fn ready(State(s): State<AppState>) -> Response {
    if s.app.ready().await {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "database unavailable"}))).into_response()
    }
}

/// Logs every request with its status and duration (at debug level: a log line per request would
/// cost more than the request itself under load).
pub async fn observe(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        // Nothing to log: skip copying the method and path on every request.
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    tracing::debug!(
        %method,
        %path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
