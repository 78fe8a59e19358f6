//! Customers: create, list per service desk, look one up by account id (the `self` link), avatars.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::{DeskError, DeskResult, not_allowed};
use crate::app::{AppError, Principal, credential};
use crate::app::{Entity, Page, Paging};
use crate::domain::{CustomerName, EmailAddress, ExternalUser, Role};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, parsed};
use crate::http::extract::{RawBody, authorization, basic_credentials};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 100;
/// Customers carry no time zone of their own until one is set; the server speaks UTC.
const DEFAULT_TIME_ZONE: &str = "UTC";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rest/servicedeskapi/customer", post(create).fallback(not_allowed))
        .route(
            "/rest/servicedeskapi/servicedesk/{service_desk_id}/customer",
            super::desk::customer_routes().get(list).fallback(not_allowed),
        )
        .route("/rest/servicedeskapi/customer/{account_id}/avatar", get(avatar).fallback(not_allowed))
        .route("/rest/api/2/user", get(get_user).fallback(not_allowed))
}

/// `start` (0-based, default 0) and `limit` (default 50) from the query string. A `limit` above 100 is
/// capped, as JSM does (the page's `limit` shows the cap); below 1 or no integer is an error.
pub(super) fn read_paging(q: &mut QueryParams) -> Paging {
    let offset = q.integer("start", 0, i64::from(i32::MAX), 0);
    let limit = q.integer("limit", 1, i64::MAX, DEFAULT_LIMIT).min(MAX_LIMIT);
    Paging { offset, limit }
}

/// JSM's `accountId`: `qm:<workspace id>:<external user id as 32 hex digits>`.
pub fn account_id(u: &ExternalUser) -> String {
    format!("qm:{}:{}", u.workspace_id, u.id.simple())
}

/// The external user id inside an account id of `workspace_id`; `None` for anything else.
pub fn parse_account_id(raw: &str, workspace_id: Uuid) -> Option<Uuid> {
    let rest = raw.strip_prefix("qm:")?;
    let (ws, id) = rest.split_once(':')?;
    if Uuid::parse_str(ws).ok()? != workspace_id || id.len() != 32 {
        return None;
    }
    Uuid::try_parse(id).ok()
}

/// `Bearer <key>`, `Basic base64(anything:key)`, or the raw key.
pub(super) async fn principal(s: &AppState, headers: &HeaderMap) -> Result<Principal, AppError> {
    let header = authorization(headers).ok_or(AppError::Unauthorized)?;
    if let Some((_, secret)) = basic_credentials(header) {
        return s.app.api_key_principal(Some(&secret)).await;
    }
    if header.trim_start().get(..6).is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic ")) {
        return Err(AppError::Unauthorized);
    }
    s.app.api_key_principal(Some(credential(header))).await
}

fn user_dto(base: &str, u: &ExternalUser) -> Value {
    let account = account_id(u);
    let rest = format!("{base}/rest/api/2/user?username={account}");
    let avatar = |size: u32| format!("{base}/rest/servicedeskapi/customer/{account}/avatar?s={size}");
    json!({
        "accountId": account,
        "name": account,
        "key": account,
        "emailAddress": u.identifier,
        "displayName": u.name,
        "active": !u.blocked,
        "timeZone": u.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE),
        "_links": {
            "jiraRest": rest,
            "avatarUrls": {"16x16": avatar(16), "24x24": avatar(24), "32x32": avatar(32), "48x48": avatar(48)},
            "self": rest,
        }
    })
}

pub(super) fn base(s: &AppState) -> &str {
    s.public_base_url.trim_end_matches('/')
}

async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    let q = QueryParams::parse(raw.as_deref());
    let strict_conflict = q.string("strictConflictStatusCode").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let strict = |error: AppError| DeskError { error, strict_conflict };
    let who = principal(&s, &headers).await.map_err(strict)?;
    // The permission before the body: a key that may not create learns nothing about its body.
    who.require(Role::Admin).map_err(strict)?;
    let mut f = Fields::parse(&body).map_err(strict)?;
    // JSM Server's older `fullName` (still sent by atlassian-python-api) names the same field.
    let name_key = if !f.has("displayName") && f.has("fullName") { "fullName" } else { "displayName" };
    if name_key == "displayName" && f.has("fullName") {
        f.reject("fullName", "cannot be given together with displayName");
    }
    let display_name = f.required(name_key, parsed(CustomerName::parse));
    let email = f.required("email", parsed(|v| EmailAddress::parse(v.trim()).map_err(str::to_owned)));
    let (display_name, email) = f.complete((|| Some((display_name?, email?)))()).map_err(strict)?;
    let user = s.app.create_customer(&who, display_name, email).await.map_err(strict)?;
    Ok((StatusCode::CREATED, Json(user_dto(base(&s), &user))).into_response())
}

/// JSM's service desk id is the workspace id: each workspace is one service desk.
async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(service_desk_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    if Uuid::parse_str(&service_desk_id).ok() != Some(who.workspace_id()) {
        return Err(AppError::NotFound(Entity::Workspace).into());
    }
    let mut q = QueryParams::parse(raw.as_deref());
    let Paging { offset: start, limit } = read_paging(&mut q);
    let query = q.search("query");
    q.finish()?;
    let page = s.app.list_customers(&who, query.clone(), Paging { offset: start, limit }).await?;
    let base = base(&s);
    let here = format!("{base}/rest/servicedeskapi/servicedesk/{service_desk_id}/customer");
    let query_part: String = query
        .map(|qs| format!("&query={}", form_urlencoded::byte_serialize(qs.as_bytes()).collect::<String>()))
        .unwrap_or_default();
    Ok(Json(paged_users(base, &here, &query_part, Paging { offset: start, limit }, &page)))
}

/// JSM's `PagedDTO` of users: `{_expands, size, start, limit, isLastPage, _links{base, context, next?,
/// prev?}, values}`. `here` is the collection's URL, `query_part` further `&key=value`s for the links.
pub(super) fn paged_users(
    base: &str,
    here: &str,
    query_part: &str,
    paging: Paging,
    page: &Page<ExternalUser>,
) -> Value {
    let Paging { offset: start, limit } = paging;
    let size = page.items.len() as i64;
    let is_last = start + size >= page.total;
    let mut links = json!({"base": format!("{base}/rest/servicedeskapi"), "context": ""});
    if !is_last {
        links["next"] = json!(format!("{here}?start={}&limit={limit}{query_part}", start + limit));
    }
    if start > 0 {
        links["prev"] = json!(format!("{here}?start={}&limit={limit}{query_part}", (start - limit).max(0)));
    }
    let values: Vec<Value> = page.items.iter().map(|u| user_dto(base, u)).collect();
    json!({
        "_expands": [],
        "size": size,
        "start": start,
        "limit": limit,
        "isLastPage": is_last,
        "_links": links,
        "values": values,
    })
}

/// The `self` / `jiraRest` link target: one customer by `username`, `accountId` or `key`.
async fn get_user(State(s): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let q = QueryParams::parse(raw.as_deref());
    let account = q
        .string("accountId")
        .or_else(|| q.string("username"))
        .or_else(|| q.string("key"))
        .ok_or_else(|| AppError::invalid("accountId", "is required"))?;
    let id = parse_account_id(account.trim(), who.workspace_id()).ok_or(AppError::NotFound(Entity::ExternalUser))?;
    let user = s.app.get_customer(&who, id).await?;
    Ok(Json(user_dto(base(&s), &user)))
}

/// Avatars are public, like JSM's avatar CDN: a round SVG in a colour derived from the account id, served
/// here so no e-mail address (nor its hash) goes to a third party and clients never leave the server.
async fn avatar(Path(account_id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = QueryParams::parse(raw.as_deref());
    let size = q.string("s").and_then(|v| v.parse::<u32>().ok()).filter(|n| (1..=512).contains(n)).unwrap_or(48);
    let hash = Sha256::digest(account_id.as_bytes());
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 48 48\">\
         <circle cx=\"24\" cy=\"24\" r=\"24\" fill=\"#{:02x}{:02x}{:02x}\"/></svg>",
        hash[0] / 2 + 64,
        hash[1] / 2 + 64,
        hash[2] / 2 + 64
    );
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], svg).into_response()
}
