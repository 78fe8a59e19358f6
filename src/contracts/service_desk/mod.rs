//! Seed 004's service desk contract (`/rest/servicedeskapi/...`): customers and request participants
//! as Jira Service Management Cloud shows them, errors as `{errorMessage, i18nErrorMessage}`, paging
//! as `start`/`limit`.
//! Authentication: `Bearer <api key>`, or Basic with any user name and the API key as password (JSM
//! clients send `email:api_token`). See docs/contracts.md.

mod customers;
mod desk;
pub mod error;
mod participants;

use axum::Router;

use crate::http::AppState;

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
    customers::router().merge(participants::router()).merge(desk::router())
}
