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
        workspace_api::IMPORT_EXPORT_OPENAPI,
        workspace_api::EVENTS_OPENAPI,
        workspace_api::WEBHOOKS_OPENAPI,
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
    document_idempotency_keys(&mut doc);
    doc
}

/// Every POST of every contract takes an `Idempotency-Key`: the shell applies it to all of them
/// (`http::idempotency`), so the document says it once, here, in each operation's own error envelope
/// (that of its 400, which every POST documents).
fn document_idempotency_keys(doc: &mut Value) {
    doc["components"]["parameters"]["IdempotencyKey"] = json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes the POST safe to retry (docs/contracts.md, \"Idempotency keys\"): 1 to 255 printable \
            ASCII characters. The first successful (2xx) answer to a request with this key, credential, method \
            and path is kept for 24 hours; a retry with the same body gets that answer again, marked \
            `Idempotent-Replayed: true`, and nothing runs twice. A malformed key is a 400.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    });
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for operation in paths.values_mut().filter_map(|item| item.get_mut("post")) {
        let parameters = &mut operation["parameters"];
        if !parameters.is_array() {
            *parameters = json!([]);
        }
        if let Some(list) = parameters.as_array_mut() {
            list.push(json!({"$ref": "#/components/parameters/IdempotencyKey"}));
        }
        let envelope = operation["responses"]["400"]["content"].clone();
        let responses = &mut operation["responses"];
        responses["422"] = json!({
            "description": "The Idempotency-Key was already used with a different body (the field names the header).",
            "content": envelope.clone(),
        });
        let in_progress =
            "A request with the same Idempotency-Key is still running; retry after `Retry-After` seconds.";
        let retry_after = json!({"Retry-After": {"description": "Seconds to wait before retrying.",
                                                  "schema": {"type": "integer"}}});
        match responses.get_mut("409") {
            Some(conflict) => {
                let description = conflict["description"].as_str().unwrap_or_default();
                conflict["description"] = json!(format!("{description} Or: {in_progress}"));
                conflict["headers"] = retry_after;
            }
            None => responses["409"] = json!({"description": in_progress, "headers": retry_after, "content": envelope}),
        }
    }
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
