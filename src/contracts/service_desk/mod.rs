//! Seed 004's service desk contract (`/rest/servicedeskapi/...`): customers and request participants
//! as Jira Service Management Cloud shows them, errors as `{errorMessage, i18nErrorMessage}`, paging
//! as `start`/`limit`.
//! Authentication: `Bearer <api key>`, or Basic with any user name and the API key as password (JSM
//! clients send `email:api_token`). See docs/contracts.md.

mod accounts;
mod auth;
mod comments;
mod customers;
mod desk;
pub mod error;
mod organizations;
mod participants;

use axum::Router;
use axum::routing::any;

use serde_json::{Value, json};

use crate::app::{AppError, Entity, Paging, RequestRef};
use crate::domain::{Timestamp, parse_uuid};
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
    ("GET", "/rest/servicedeskapi/request/{issueIdOrKey}/comment"),
    ("POST", "/rest/servicedeskapi/request/{issueIdOrKey}/comment"),
    ("GET", "/rest/servicedeskapi/request/{issueIdOrKey}/comment/{commentId}"),
    ("GET", "/rest/servicedeskapi/organization"),
    ("POST", "/rest/servicedeskapi/organization"),
    ("GET", "/rest/servicedeskapi/organization/{organizationId}"),
    ("DELETE", "/rest/servicedeskapi/organization/{organizationId}"),
    ("GET", "/rest/servicedeskapi/organization/{organizationId}/user"),
    ("POST", "/rest/servicedeskapi/organization/{organizationId}/user"),
    ("DELETE", "/rest/servicedeskapi/organization/{organizationId}/user"),
    ("GET", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization"),
    ("POST", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization"),
    ("DELETE", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization"),
];

pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    customers::router()
        .merge(participants::router())
        .merge(comments::router())
        .merge(desk::router())
        .merge(organizations::router())
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

/// JSM's `PagedDTO`: `{_expands, size, start, limit, isLastPage, _links{base, context, next?, prev?},
/// values}`. `here` is the collection's URL, `query_part` further `&key=value`s for the links; `more`
/// comes from reading one row past the page, so the last page is never claimed early.
pub(super) fn paged(base: &str, here: &str, query_part: &str, paging: Paging, more: bool, values: Vec<Value>) -> Value {
    let Paging { offset: start, limit } = paging;
    let sep = if here.contains('?') { '&' } else { '?' };
    let mut links = json!({"base": format!("{base}/rest/servicedeskapi"), "context": ""});
    if more {
        links["next"] = json!(format!("{here}{sep}start={}&limit={limit}{query_part}", start + limit));
    }
    if start > 0 {
        links["prev"] = json!(format!("{here}{sep}start={}&limit={limit}{query_part}", (start - limit).max(0)));
    }
    json!({
        "_expands": [],
        "size": values.len(),
        "start": start,
        "limit": limit,
        "isLastPage": !more,
        "_links": links,
        "values": values,
    })
}

/// JSM's `DateDTO`: `{iso8601, jira, friendly, epochMillis}`, all in UTC.
pub(super) fn date_dto(at: Timestamp) -> Value {
    // `2023-11-07T05:31:56.123Z`
    let millis = at.to_rfc3339_millis();
    let stem = millis.trim_end_matches('Z');
    let seconds = stem.split('.').next().unwrap_or(stem);
    json!({
        "iso8601": format!("{seconds}+0000"),
        "jira": format!("{stem}+0000"),
        "friendly": format!("{} {} UTC", &seconds[..10.min(seconds.len())], seconds.get(11..16).unwrap_or_default()),
        "epochMillis": at.micros().div_euclid(1_000),
    })
}

/// `issueIdOrKey`: the ticket's id (a UUID), its number (JSM's numeric issue id) or `FD-<number>`
/// (JSM's issue key, any letter case). Anything else names no request.
pub(super) fn request_ref(raw: &str) -> Result<RequestRef, AppError> {
    let raw = raw.trim();
    let number = |digits: &str| {
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse::<i64>().ok()).flatten()
    };
    if let Some(id) = parse_uuid(raw) {
        return Ok(RequestRef::Id(id));
    }
    let key_prefix = raw.get(..PROJECT_KEY.len()).filter(|key| key.eq_ignore_ascii_case(PROJECT_KEY));
    let digits = match key_prefix.and_then(|_| raw[PROJECT_KEY.len()..].strip_prefix('-')) {
        Some(digits) => digits,
        None => raw,
    };
    number(digits).map(RequestRef::Number).ok_or(AppError::NotFound(Entity::Ticket))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn requests_are_named_by_id_number_or_key() {
        let id = Uuid::new_v4();
        assert_eq!(request_ref(&id.to_string()).ok(), Some(RequestRef::Id(id)));
        assert_eq!(request_ref("42").ok(), Some(RequestRef::Number(42)));
        assert_eq!(request_ref("FD-42").ok(), Some(RequestRef::Number(42)));
        assert_eq!(request_ref("fd-7").ok(), Some(RequestRef::Number(7)));
        for bad in ["", "FD-", "XY-1", "-1", "1.5", "99999999999999999999", "FD-1a"] {
            assert!(matches!(request_ref(bad), Err(AppError::NotFound(Entity::Ticket))), "{bad}");
        }
    }
}
