//! Organizations: `/rest/servicedeskapi/organization[/{organizationId}[/user]]` and a service desk's
//! `/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization`. An organization is an external user
//! group; its id is the group's number in the workspace (docs/decisions/organizations.md).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::accounts::{accounts, paged_users};
use super::auth::DeskPrincipal;
use super::error::{DeskError, DeskResult, not_allowed};
use super::{base, date_dto, paged, read_paging};
use crate::app::{AppError, Entity, Paging};
use crate::domain::{DisplayName, ExternalUserGroup, Refusal, Rule};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, parsed};
use crate::http::extract::{PathText, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rest/servicedeskapi/organization", get(list).post(create).fallback(not_allowed))
        .route("/rest/servicedeskapi/organization/{organization_id}", get(one).delete(remove).fallback(not_allowed))
        .route(
            "/rest/servicedeskapi/organization/{organization_id}/user",
            get(users).post(add_users).delete(remove_users).fallback(not_allowed),
        )
        .route(
            "/rest/servicedeskapi/servicedesk/{service_desk_id}/organization",
            get(desk_list).post(desk_add).delete(desk_remove).fallback(not_allowed),
        )
}

/// JSM's organization ids are positive integers; anything else names no organization.
fn number(raw: &str) -> Result<i64, AppError> {
    let raw = raw.trim();
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .filter(|n| *n > 0)
        .ok_or(AppError::NotFound(Entity::ExternalUserGroup))
}

fn organization_dto(base: &str, g: &ExternalUserGroup) -> Value {
    json!({
        "id": g.number.to_string(),
        "uuid": g.id.to_string(),
        "name": g.name,
        "scimManaged": false,
        "created": date_dto(g.created_at),
        "_links": {"self": format!("{base}/rest/servicedeskapi/organization/{}", g.number)},
    })
}

fn paging_only(raw: Option<&str>) -> Result<Paging, AppError> {
    let mut q = QueryParams::parse(raw);
    let paging = read_paging(&mut q);
    q.finish()?;
    Ok(paging)
}

async fn create(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    // The permission before the body, as for customers.
    who.require(crate::domain::Role::Admin)?;
    let mut f = Fields::parse(&body)?;
    let name = f.required("name", parsed(DisplayName::parse));
    let name = f.complete(name)?;
    let group = s.app.create_organization(&who, name).await?;
    Ok((StatusCode::CREATED, Json(organization_dto(base(&s), &group))).into_response())
}

async fn organizations_page(
    s: &AppState,
    who: &crate::app::Principal,
    here: &str,
    raw: Option<&str>,
) -> DeskResult<Json<Value>> {
    let paging = paging_only(raw)?;
    let page = s.app.list_organizations(who, paging).await?;
    let base = base(s);
    let values = page.items.iter().map(|g| organization_dto(base, g)).collect();
    Ok(Json(paged(base, here, "", paging, page.more, values)))
}

async fn list(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let here = format!("{}/rest/servicedeskapi/organization", base(&s));
    organizations_page(&s, &who, &here, raw.as_deref()).await
}

async fn one(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
) -> DeskResult<Json<Value>> {
    let group = s.app.get_organization(&who, number(&id)?).await?;
    Ok(Json(organization_dto(base(&s), &group)))
}

async fn remove(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
) -> DeskResult<StatusCode> {
    s.app.delete_organization(&who, number(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn users(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let n = number(&id)?;
    let paging = paging_only(raw.as_deref())?;
    let page = s.app.organization_users(&who, n, paging).await?;
    let base = base(&s);
    let here = format!("{base}/rest/servicedeskapi/organization/{n}/user");
    Ok(Json(paged_users(base, &here, "", paging, &page)))
}

/// 204 once every account is a member.
async fn add_users(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<StatusCode> {
    let n = number(&id)?;
    // An unknown organization is 404 whatever the body says.
    s.app.get_organization(&who, n).await?;
    let accounts = accounts(&who, &body)?;
    s.app.add_organization_users(&who, n, &accounts).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 204 once no account is a member.
async fn remove_users(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<StatusCode> {
    let n = number(&id)?;
    s.app.get_organization(&who, n).await?;
    let accounts = accounts(&who, &body)?;
    s.app.remove_organization_users(&who, n, &accounts).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every organization of the workspace is on its one service desk.
async fn desk_list(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(desk, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    s.app.named_service_desk(&who, Uuid::parse_str(desk.trim()).ok()).await?;
    let here = format!("{}/rest/servicedeskapi/servicedesk/{}/organization", base(&s), desk.trim());
    organizations_page(&s, &who, &here, raw.as_deref()).await
}

/// `{"organizationId": 7}` (a number, or its string as JSM's own examples send).
fn organization_id(body: &bytes::Bytes) -> Result<i64, AppError> {
    let mut f = Fields::parse(body)?;
    let id = f.required("organizationId", |v| {
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => number(s).ok(),
            _ => return Err(Refusal::new(Rule::Type, "must be an organization id")),
        };
        n.filter(|n| *n > 0).ok_or_else(|| Refusal::new(Rule::Format, "must be a positive integer"))
    });
    f.complete(id)
}

async fn desk_change(
    s: &AppState,
    who: &crate::app::Principal,
    desk: &str,
    body: &bytes::Bytes,
) -> DeskResult<StatusCode> {
    let desk = Uuid::parse_str(desk.trim()).ok();
    s.app.named_service_desk(who, desk).await?;
    let n = organization_id(body)?;
    s.app.check_service_desk_organization(who, desk, n).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 204: the organization is on the desk already (every one is).
async fn desk_add(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(desk, ..): PathText<DeskError>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<StatusCode> {
    desk_change(&s, &who, &desk, &body).await
}

/// 204: JSM takes the organization off the desk; here an organization leaves its desk only by being
/// deleted, so this checks it and keeps it, as for customers.
async fn desk_remove(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(desk, ..): PathText<DeskError>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<StatusCode> {
    desk_change(&s, &who, &desk, &body).await
}
