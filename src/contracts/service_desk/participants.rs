//! Request participants: `GET`, `POST` and `DELETE /rest/servicedeskapi/request/{issueIdOrKey}/participant`.
//! A request is a ticket; its participants are seed 000's ticket external users, shown as customers.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::accounts::{accounts, paged_users};
use super::auth::DeskPrincipal;
use super::error::{DeskError, DeskResult, not_allowed};
use super::{base, read_paging, request_ref};
use crate::app::{AppError, Page, Paging};
use crate::domain::ExternalUser;
use crate::http::AppState;
use crate::http::body::QueryParams;
use crate::http::extract::{PathText, RawBody};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/rest/servicedeskapi/request/{issue_id_or_key}/participant",
        get(list).post(add).delete(remove).fallback(not_allowed),
    )
}

fn paging(raw: Option<&str>) -> Result<Paging, AppError> {
    let mut q = QueryParams::parse(raw);
    let paging = read_paging(&mut q);
    q.finish()?;
    Ok(paging)
}

fn answer(s: &AppState, issue: &str, paging: Paging, page: &Page<ExternalUser>) -> Json<Value> {
    let base = base(s);
    let here = format!("{base}/rest/servicedeskapi/request/{issue}/participant");
    Json(paged_users(base, &here, "", paging, page))
}

async fn list(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let page = s.app.list_request_participants(&who, request, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

/// 200 with the request's participants afterwards (JSM answers with the page, not 204).
async fn add(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Json<Value>> {
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let accounts = accounts(&who, &body)?;
    let page = s.app.add_request_participants(&who, request, &accounts, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

/// 200 with the participants that remain.
async fn remove(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Json<Value>> {
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let accounts = accounts(&who, &body)?;
    let page = s.app.remove_request_participants(&who, request, &accounts, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}
