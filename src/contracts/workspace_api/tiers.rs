//! `/api/v1/tiers`: service levels external users and groups can be put in. The list is a bare array.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::app::TierInput;
use crate::domain::{DisplayName, Refusal, Tier, TierDescription, Timestamp};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, nullable, parsed};
use crate::http::extract::{ApiKey, PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tiers", get(list).post(create))
        .route("/api/v1/tiers/{id}", get(get_one).patch(update).delete(remove))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TierBody {
    created_at: Timestamp,
    id: Uuid,
    updated_at: Timestamp,
    description: Option<String>,
    name: String,
    workspace_id: Uuid,
}

impl From<Tier> for TierBody {
    fn from(t: Tier) -> Self {
        Self {
            created_at: t.created_at,
            id: t.id,
            updated_at: t.updated_at,
            description: t.description,
            name: t.name,
            workspace_id: t.workspace_id,
        }
    }
}

fn description(s: &str) -> Result<String, Refusal> {
    TierDescription::parse(s).map(TierDescription::into_string)
}

async fn list(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<TierBody>>> {
    let mut q = QueryParams::parse(raw.as_deref());
    let ids = q.uuids("ids");
    let search = q.search("search");
    q.finish()?;
    let tiers = s.app.list_tiers(&who, &ids, search.as_deref()).await?;
    Ok(Json(tiers.into_iter().map(Into::into).collect()))
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<TierBody>> {
    let mut f = Fields::parse(&body)?;
    let name = f.required("name", parsed(DisplayName::parse));
    let description =
        if f.has("description") { f.required("description", nullable(parsed(description))) } else { Some(None) };
    let input = f.complete((|| Some(TierInput { name: name?, description: description? }))())?;
    Ok(Json(s.app.create_tier(&who, input).await?.into()))
}

async fn get_one(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<TierBody>> {
    Ok(Json(s.app.get_tier(&who, id).await?.into()))
}

async fn update(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<TierBody>> {
    let mut f = Fields::parse(&body)?;
    let name = f.optional("name", parsed(DisplayName::parse));
    let description = f.optional("description", nullable(parsed(description)));
    f.finish()?;
    Ok(Json(s.app.update_tier(&who, id, name, description).await?.into()))
}

async fn remove(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<Value>> {
    s.app.delete_tier(&who, id).await?;
    Ok(Json(json!({"message": "The tier was removed."})))
}
