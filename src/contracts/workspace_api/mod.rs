//! The `/api/v1` contract of seed 001 (external users) and the workspace administration around it
//! (channels, tiers, external user groups, API keys), which share its auth header, paging and errors.

mod api_keys;
mod channels;
pub mod error;
mod events;
mod external_user_body;
pub mod external_users;
mod groups;
mod identities;
pub mod import_export;
mod locations;
mod paging;
mod staff_collections;
mod tiers;
mod webhooks;

use axum::Router;

use crate::http::AppState;

/// The routes below, for the OpenAPI check.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/external-users"),
    ("POST", "/api/v1/external-users"),
    ("PUT", "/api/v1/external-users"),
    ("POST", "/api/v1/external-users/authenticate"),
    ("POST", "/api/v1/external-users/import"),
    ("GET", "/api/v1/external-users/export"),
    ("GET", "/api/v1/external-users/{id}"),
    ("PATCH", "/api/v1/external-users/{id}"),
    ("DELETE", "/api/v1/external-users/{id}"),
    ("POST", "/api/v1/external-users/{id}/link"),
    ("POST", "/api/v1/external-users/{id}/unlink"),
    ("GET", "/api/v1/super-identities/{id}"),
    ("DELETE", "/api/v1/super-identities/{id}"),
    ("POST", "/api/v1/super-identities/{id}/merge"),
    ("GET", "/api/v1/settings/automatic-matching"),
    ("PUT", "/api/v1/settings/automatic-matching"),
    ("GET", "/api/v1/audit-records"),
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
    ("GET", "/api/v1/locations"),
    ("POST", "/api/v1/locations"),
    ("GET", "/api/v1/locations/{id}"),
    ("PATCH", "/api/v1/locations/{id}"),
    ("DELETE", "/api/v1/locations/{id}"),
    ("GET", "/api/v1/staff-groups"),
    ("POST", "/api/v1/staff-groups"),
    ("GET", "/api/v1/staff-groups/{id}"),
    ("DELETE", "/api/v1/staff-groups/{id}"),
    ("GET", "/api/v1/staff-folders"),
    ("POST", "/api/v1/staff-folders"),
    ("GET", "/api/v1/staff-folders/{id}"),
    ("DELETE", "/api/v1/staff-folders/{id}"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/webhooks"),
    ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks/{id}"),
    ("PATCH", "/api/v1/webhooks/{id}"),
    ("DELETE", "/api/v1/webhooks/{id}"),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret"),
    ("GET", "/api/v1/webhooks/{id}/deliveries"),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver"),
];

/// This contract's part of the OpenAPI document.
pub const OPENAPI: &str = include_str!("openapi.json");
/// The locations' part, kept apart from the rest so each area edits its own file.
pub const LOCATIONS_OPENAPI: &str = include_str!("locations_openapi.json");
/// The identities' part (super identities, merge, link, upsert, erasure, audit records).
pub const IDENTITIES_OPENAPI: &str = include_str!("identities_openapi.json");
/// The import and export's part.
pub const IMPORT_EXPORT_OPENAPI: &str = include_str!("import_export_openapi.json");
/// The events' part.
pub const EVENTS_OPENAPI: &str = include_str!("events_openapi.json");
/// The webhook subscriptions' part.
pub const WEBHOOKS_OPENAPI: &str = include_str!("webhooks_openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(external_users::router())
        .merge(identities::router())
        .merge(import_export::router())
        .merge(channels::router())
        .merge(tiers::router())
        .merge(groups::router())
        .merge(api_keys::router())
        .merge(locations::router())
        .merge(staff_collections::router())
        .merge(events::router())
        .merge(webhooks::router())
}
