//! HTTP: one module per API contract, each translating its own paths, field names, paging, auth
//! header and error envelope onto the shared use cases. Each depends on `http` (the shell) and `app`,
//! never on another contract or on the settings page.

pub mod service_desk;
pub mod staff_users;
pub mod support_tickets;
pub mod ticket_external_users;
pub mod workspace_api;

use axum::Router;
use serde_json::{Value, json};

use crate::http::{AppState, ServerOptions, ops};

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

/// Every contract's routes, each with its own middleware.
pub fn router(options: &ServerOptions) -> Router<AppState> {
    Router::new()
        .merge(workspace_api::router())
        .merge(support_tickets::router(options.ticket_rate_limit_per_second))
        .merge(ticket_external_users::router())
        .merge(staff_users::router())
        .merge(service_desk::router())
}

/// The OpenAPI 3.1 document of every route in [`routes`]: each contract keeps its own part
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
        crate::http::ops::OPENAPI,
        workspace_api::OPENAPI,
        workspace_api::LOCATIONS_OPENAPI,
        workspace_api::IDENTITIES_OPENAPI,
        workspace_api::EVENTS_OPENAPI,
        support_tickets::OPENAPI,
        ticket_external_users::OPENAPI,
        staff_users::OPENAPI,
        service_desk::OPENAPI,
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
