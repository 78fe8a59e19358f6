//! `/api/v1/locations`: the places of a workspace that support tickets refer to (seed 002's
//! `locationRef`). Administration in this API's style; the list is a bare array.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::domain::{Location, LocationName, Refusal, Rule, Timestamp};
use crate::http::AppState;
use crate::http::body::{Fields, parsed};
use crate::http::extract::{ApiKey, PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/locations", get(list).post(create))
        .route("/api/v1/locations/{id}", get(get_one).patch(update).delete(remove))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationBody {
    created_at: Timestamp,
    id: Uuid,
    updated_at: Timestamp,
    name: String,
    workspace_id: Uuid,
}

impl From<Location> for LocationBody {
    fn from(l: Location) -> Self {
        Self {
            created_at: l.created_at,
            id: l.id,
            updated_at: l.updated_at,
            name: l.name,
            workspace_id: l.workspace_id,
        }
    }
}

fn name(s: &str) -> Result<LocationName, Refusal> {
    if s.trim().is_empty() {
        return Err(Refusal::new(Rule::NotEmpty, "must not be blank"));
    }
    LocationName::parse(s)
}

async fn list(State(s): State<AppState>, ApiKey(who, ..): ApiKey<ApiError>) -> ApiResult<Json<Vec<LocationBody>>> {
    Ok(Json(s.app.list_locations(&who).await?.into_iter().map(Into::into).collect()))
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<LocationBody>> {
    let mut f = Fields::parse(&body)?;
    let name = f.required("name", parsed(name));
    let name = f.complete(name)?;
    Ok(Json(s.app.create_location(&who, name).await?.into()))
}

async fn get_one(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<LocationBody>> {
    Ok(Json(s.app.get_location(&who, id).await?.into()))
}

async fn update(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<LocationBody>> {
    let mut f = Fields::parse(&body)?;
    let name = f.optional("name", parsed(name));
    f.finish()?;
    Ok(Json(s.app.update_location(&who, id, name).await?.into()))
}

async fn remove(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<Value>> {
    s.app.delete_location(&who, id).await?;
    Ok(Json(json!({"message": "The location was removed."})))
}
