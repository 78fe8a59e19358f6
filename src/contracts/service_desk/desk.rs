//! The server and its service desk: Jira's `serverInfo` (which client libraries read before anything
//! else), JSM's `info`, the service desks (one per workspace: its id is the workspace id) and adding or
//! removing a desk's customers.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::customers::{base, principal, read_paging};
use super::error::{DeskError, DeskResult, not_allowed};
use super::participants::accounts;
use crate::app::Paging;
use crate::domain::{Timestamp, Workspace};
use crate::http::AppState;
use crate::http::body::QueryParams;
use crate::http::extract::RawBody;

/// The Jira Cloud version this contract mirrors: Cloud reports `1001.0.0`, and clients such as Python's
/// `jira` choose their code paths by it.
const JIRA_VERSION: [u32; 3] = [1001, 0, 0];
/// Jira Cloud's build number and date as Cloud reports them (fixed: Cloud is one rolling build).
const JIRA_BUILD_NUMBER: i64 = 100_000;
const JIRA_BUILD_DATE: &str = "2024-01-01T00:00:00.000Z";
/// JSM Cloud's version as `/rest/servicedeskapi/info` reports it.
const JSM_VERSION: &str = "10.0.0";
/// JSM's project key of every request (`FD-<number>`), without the dash.
const PROJECT_KEY: &str = "FD";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rest/api/2/serverInfo", get(server_info).fallback(not_allowed))
        .route("/rest/api/3/serverInfo", get(server_info).fallback(not_allowed))
        .route("/rest/servicedeskapi/info", get(info).fallback(not_allowed))
        .route("/rest/servicedeskapi/servicedesk", get(list).fallback(not_allowed))
        .route("/rest/servicedeskapi/servicedesk/{service_desk_id}", get(one).fallback(not_allowed))
}

/// The routes of `/rest/servicedeskapi/servicedesk/{serviceDeskId}/customer` this module answers.
pub(super) fn customer_routes() -> axum::routing::MethodRouter<AppState> {
    post(add_customers).delete(remove_customers)
}

/// Public, as on Jira Cloud: clients call it before they authenticate.
async fn server_info(State(s): State<AppState>) -> Json<Value> {
    let [major, minor, patch] = JIRA_VERSION;
    Json(json!({
        "baseUrl": base(&s),
        "version": format!("{major}.{minor}.{patch}"),
        "versionNumbers": JIRA_VERSION,
        "deploymentType": "Cloud",
        "buildNumber": JIRA_BUILD_NUMBER,
        "buildDate": JIRA_BUILD_DATE,
        "serverTime": Timestamp::now().to_rfc3339_millis(),
        "scmInfo": "",
        "serverTitle": "Frontdesk",
    }))
}

async fn info(State(s): State<AppState>, headers: HeaderMap) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    // Checks the key's role like every other JSM route.
    s.app.service_desk(&who).await?;
    let [major, minor, patch] = JIRA_VERSION;
    Ok(Json(json!({
        "version": JSM_VERSION,
        "platformVersion": format!("{major}.{minor}.{patch}"),
        "isLicensedForUse": true,
        "_links": {"self": format!("{}/rest/servicedeskapi/info", base(&s))},
    })))
}

fn desk_dto(base: &str, w: &Workspace) -> Value {
    json!({
        "id": w.id.to_string(),
        "projectId": w.id.to_string(),
        "projectName": w.name,
        "projectKey": PROJECT_KEY,
        "_links": {"self": format!("{base}/rest/servicedeskapi/servicedesk/{}", w.id)},
    })
}

/// The JSM paged list of the caller's one service desk.
async fn list(State(s): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let mut q = QueryParams::parse(raw.as_deref());
    let Paging { offset: start, limit } = read_paging(&mut q);
    q.finish()?;
    let desk = s.app.service_desk(&who).await?;
    let base = base(&s);
    let values: Vec<Value> = if start == 0 { vec![desk_dto(base, &desk)] } else { vec![] };
    let mut links = json!({"base": format!("{base}/rest/servicedeskapi"), "context": ""});
    if start > 0 {
        links["prev"] = json!(format!("{base}/rest/servicedeskapi/servicedesk?start=0&limit={limit}"));
    }
    Ok(Json(json!({
        "_expands": [],
        "size": values.len(),
        "start": start,
        "limit": limit,
        "isLastPage": true,
        "_links": links,
        "values": values,
    })))
}

async fn one(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let desk = s.app.named_service_desk(&who, Uuid::parse_str(id.trim()).ok()).await?;
    Ok(Json(desk_dto(base(&s), &desk)))
}

/// 204 once every account is known to be a customer of the desk (they all already are its customers).
async fn add_customers(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    change_customers(&s, &headers, &id, &body).await
}

/// 204: JSM takes the customers off the desk; here a customer leaves only by being deleted or blocked
/// over seed 001, so this checks the accounts and keeps them.
async fn remove_customers(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    change_customers(&s, &headers, &id, &body).await
}

async fn change_customers(s: &AppState, headers: &HeaderMap, id: &str, body: &bytes::Bytes) -> DeskResult<Response> {
    let who = principal(s, headers).await?;
    let desk = Uuid::parse_str(id.trim()).ok();
    // An unknown desk is 404 whatever the body says, as in JSM.
    s.app.named_service_desk(&who, desk).await?;
    let accounts = accounts(&who, body)?;
    s.app.check_service_desk_customers(&who, desk, &accounts).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
