//! The server and its service desk: Jira's `serverInfo` (which client libraries read before anything
//! else), JSM's `info`, the service desks (one per workspace: its id is the workspace id) and adding or
//! removing a desk's customers is in `customers.rs`, beside the list of them).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::auth::DeskPrincipal;
use super::error::{DeskError, DeskResult, not_allowed};
use super::{PROJECT_KEY, base, read_paging};
use crate::app::Paging;
use crate::domain::{Timestamp, Workspace};
use crate::http::AppState;
use crate::http::body::QueryParams;
use crate::http::extract::PathText;

/// The Jira Cloud version this contract mirrors: Cloud reports `1001.0.0`, and clients such as Python's
/// `jira` choose their code paths by it.
const JIRA_VERSION: [u32; 3] = [1001, 0, 0];
/// Jira Cloud's build number and date as Cloud reports them (fixed: Cloud is one rolling build).
const JIRA_BUILD_NUMBER: i64 = 100_000;
const JIRA_BUILD_DATE: &str = "2024-01-01T00:00:00.000Z";
/// JSM Cloud's version as `/rest/servicedeskapi/info` reports it.
const JSM_VERSION: &str = "10.0.0";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rest/api/2/serverInfo", get(server_info).fallback(not_allowed))
        .route("/rest/api/3/serverInfo", get(server_info).fallback(not_allowed))
        .route("/rest/servicedeskapi/info", get(info).fallback(not_allowed))
        .route("/rest/servicedeskapi/servicedesk", get(list).fallback(not_allowed))
        .route("/rest/servicedeskapi/servicedesk/{service_desk_id}", get(one).fallback(not_allowed))
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

async fn info(State(s): State<AppState>, DeskPrincipal(who): DeskPrincipal) -> DeskResult<Json<Value>> {
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
async fn list(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
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

async fn one(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(id, ..): PathText<DeskError>,
) -> DeskResult<Json<Value>> {
    let desk = s.app.named_service_desk(&who, Uuid::parse_str(id.trim()).ok()).await?;
    Ok(Json(desk_dto(base(&s), &desk)))
}
