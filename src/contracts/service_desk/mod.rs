//! Seed 004's service desk contract (`/rest/servicedeskapi/...`): customers and request participants
//! as Jira Service Management Cloud shows them, errors as `{errorMessage, i18nErrorMessage}`, paging
//! as `start`/`limit`.
//! Authentication: `Bearer <api key>`, or Basic with any user name and the API key as password (JSM
//! clients send `email:api_token`). See docs/contracts.md.

mod accounts;
mod auth;
mod customers;
mod desk;
pub mod error;
mod participants;

use axum::Router;
use axum::routing::any;

use crate::app::Paging;
use crate::http::AppState;
use crate::http::body::QueryParams;

/// JSM's project key of every request: its issue keys are `FD-<number>`.
const PROJECT_KEY: &str = "FD";
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 100;

pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/rest/servicedeskapi/customer"),
    ("GET", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"),
    ("POST", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"),
    ("DELETE", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer"),
    ("GET", "/rest/api/2/serverInfo"),
    ("GET", "/rest/api/3/serverInfo"),
    ("GET", "/rest/servicedeskapi/info"),
    ("GET", "/rest/servicedeskapi/servicedesk"),
    ("GET", "/rest/servicedeskapi/servicedesk/{serviceDeskId}"),
    ("GET", "/rest/servicedeskapi/customer/{accountId}/avatar"),
    ("GET", "/rest/api/2/user"),
    ("GET", "/rest/servicedeskapi/request/{issueIdOrKey}/participant"),
    ("POST", "/rest/servicedeskapi/request/{issueIdOrKey}/participant"),
    ("DELETE", "/rest/servicedeskapi/request/{issueIdOrKey}/participant"),
];

pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    customers::router()
        .merge(participants::router())
        .merge(desk::router())
        // Everything else under Jira's prefixes is answered in Jira's envelope.
        .route("/rest/servicedeskapi/{*rest}", any(error::not_found))
        .route("/rest/api/{*rest}", any(error::not_found))
}

/// `start` (0-based, default 0) and `limit` (default 50) from the query string. A `limit` above 100 is
/// capped, as JSM does (the page's `limit` shows the cap); below 1 or no integer is an error.
pub(super) fn read_paging(q: &mut QueryParams) -> Paging {
    let offset = q.integer("start", 0, i64::from(i32::MAX), 0);
    let limit = q.integer("limit", 1, i64::MAX, DEFAULT_LIMIT).min(MAX_LIMIT);
    Paging { offset, limit }
}

/// The server's public address without a trailing slash, for `_links`.
pub(super) fn base(s: &AppState) -> &str {
    s.public_base_url.trim_end_matches('/')
}
