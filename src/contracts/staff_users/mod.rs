//! Seed 003's Users contract (`/api/v1/suser`): staff users in JSON or XML, chosen by `Content-Type`
//! (XML when none is given), answered in the same format (or per `Accept` / `?format=`), errors in
//! `ResponseStatus`. Authentication: the workspace API key, as `authorization` (raw or `Bearer`) or as
//! the seed's `IntegrationKey` (query parameter or body element). See docs/contracts.md.

pub mod error;
mod users;
pub mod xml;

use axum::Router;

use crate::http::AppState;

pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/suser"),
    ("POST", "/api/v1/suser"),
    ("DELETE", "/api/v1/suser"),
    ("GET", "/api/v1/suser/search"),
    ("POST", "/api/v1/suser/invitation"),
];

pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    users::router()
}
