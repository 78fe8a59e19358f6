//! `/api/v1/external-user-groups`: `externalId` unique per workspace, `name` 3..50, optional tier.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::paging;
use crate::app::GroupFilter;
use crate::app::GroupInput;
use crate::domain::{DisplayName, ExternalId, ExternalUserGroup, Timestamp};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, nullable, parsed, uuid};
use crate::http::extract::{ApiKey, PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/external-user-groups", get(list).post(create))
        .route("/api/v1/external-user-groups/{id}", get(get_one).delete(remove))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupBody {
    created_at: Timestamp,
    id: Uuid,
    updated_at: Timestamp,
    external_id: String,
    name: String,
    tier_id: Option<Uuid>,
    workspace_id: Uuid,
}

impl From<ExternalUserGroup> for GroupBody {
    fn from(g: ExternalUserGroup) -> Self {
        Self {
            created_at: g.created_at,
            id: g.id,
            updated_at: g.updated_at,
            external_id: g.external_id,
            name: g.name,
            tier_id: g.tier_id,
            workspace_id: g.workspace_id,
        }
    }
}

async fn list(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut q = QueryParams::parse(raw.as_deref());
    let filter = GroupFilter {
        external_id: q.string("externalId"),
        ids: q.uuids("ids"),
        tier_ids: q.uuids("tierIds"),
        search: q.search("search"),
    };
    let page = paging::read(&mut q);
    q.finish()?;
    let found = s.app.list_groups(&who, &filter, page.paging()).await?;
    let items: Vec<GroupBody> = found.items.into_iter().map(Into::into).collect();
    Ok(page.respond(found.total, found.total_is_exact, Json(items)))
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<GroupBody>> {
    let mut f = Fields::parse(&body)?;
    let external_id = f.required("externalId", parsed(ExternalId::parse));
    let name = f.required("name", parsed(DisplayName::parse));
    let tier_id = if f.has("tierId") { f.required("tierId", nullable(uuid)) } else { Some(None) };
    let input = f.complete((|| Some(GroupInput { external_id: external_id?, name: name?, tier_id: tier_id? }))())?;
    Ok(Json(s.app.create_group(&who, input).await?.into()))
}

async fn get_one(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<GroupBody>> {
    Ok(Json(s.app.get_group(&who, id).await?.into()))
}

async fn remove(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<Value>> {
    s.app.delete_group(&who, id).await?;
    Ok(Json(json!({"message": "The external user group was removed."})))
}
