//! Customers: create, list per service desk, look one up by account id (the `self` link), avatars.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::accounts::{accounts, jira_user, paged_users, parse_account_id, user_dto};
use super::auth::DeskPrincipal;
use super::error::{DeskError, DeskResult, not_allowed};
use super::{base, read_paging};
use crate::app::{AppError, Entity, Paging, Principal};
use crate::domain::{CustomerName, EmailAddress, Refusal, Role, Rule};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, parsed};
use crate::http::extract::{PathText, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rest/servicedeskapi/customer", post(create).fallback(not_allowed))
        .route(
            "/rest/servicedeskapi/servicedesk/{service_desk_id}/customer",
            get(list).post(add_customers).delete(remove_customers).fallback(not_allowed),
        )
        .route("/rest/servicedeskapi/customer/{account_id}/avatar", get(avatar).fallback(not_allowed))
        .route("/rest/api/2/user", get(get_user).fallback(not_allowed))
}

async fn create(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    let q = QueryParams::parse(raw.as_deref());
    let strict_conflict = q.string("strictConflictStatusCode").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let strict = |error: AppError| DeskError { error, strict_conflict };
    // The permission before the body: a key that may not create learns nothing about its body.
    who.require(Role::Admin).map_err(strict)?;
    let mut f = Fields::parse(&body).map_err(strict)?;
    // JSM Server's older `fullName` (still sent by atlassian-python-api) names the same field.
    let name_key = if !f.has("displayName") && f.has("fullName") { "fullName" } else { "displayName" };
    if name_key == "displayName" && f.has("fullName") {
        f.reject("fullName", Refusal::new(Rule::Combination, "cannot be given together with displayName"));
    }
    let display_name = f.required(name_key, parsed(CustomerName::parse));
    let email = f.required("email", parsed(|v| EmailAddress::parse(v.trim())));
    let (display_name, email) = f.complete((|| Some((display_name?, email?)))()).map_err(strict)?;
    let user = s.app.create_customer(&who, display_name, email).await.map_err(strict)?;
    Ok((StatusCode::CREATED, Json(user_dto(base(&s), &user))).into_response())
}

/// JSM's service desk id is the workspace id: each workspace is one service desk.
async fn list(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(service_desk_id, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
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

/// 204 once every account is known to be a customer of the desk (they all already are its customers).
async fn add_customers(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    change_customers(&s, &who, &id, &body).await
}

/// 204: JSM takes the customers off the desk; here a customer leaves only by being deleted or blocked
/// over seed 001, so this checks the accounts and keeps them.
async fn remove_customers(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    change_customers(&s, &who, &id, &body).await
}

async fn change_customers(s: &AppState, who: &Principal, id: &str, body: &bytes::Bytes) -> DeskResult<Response> {
    let desk = Uuid::parse_str(id.trim()).ok();
    // An unknown desk is 404 whatever the body says, as in JSM.
    s.app.named_service_desk(who, desk).await?;
    let accounts = accounts(who, body)?;
    s.app.check_service_desk_customers(who, desk, &accounts).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `self` / `jiraRest` link target: one customer by `username`, `accountId` or `key`, as Jira's user.
async fn get_user(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref());
    let account = q
        .string("accountId")
        .or_else(|| q.string("username"))
        .or_else(|| q.string("key"))
        .ok_or_else(|| AppError::invalid("accountId", Refusal::required()))?;
    let id = parse_account_id(account.trim(), who.workspace_id()).ok_or(AppError::NotFound(Entity::ExternalUser))?;
    let user = s.app.get_customer(&who, id).await?;
    Ok(Json(jira_user(base(&s), &user)))
}

/// Avatars are public, like JSM's avatar CDN: a round SVG in a colour derived from the account id, served
/// here so no e-mail address (nor its hash) goes to a third party and clients never leave the server.
async fn avatar(PathText(account_id, ..): PathText<DeskError>, RawQuery(raw): RawQuery) -> Response {
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
