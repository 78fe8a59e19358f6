//! `/api/v1/staff-groups` and `/api/v1/staff-folders`: the named collections seed 003's `Groups` and
//! `Folders` refer to. Names are 3..50 characters and unique per workspace and kind.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::domain::{CollectionKind, DisplayName, StaffCollection, Timestamp};
use crate::http::AppState;
use crate::http::body::{Fields, parsed};
use crate::http::extract::{ApiKey, PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/staff-groups",
            get(|s, h| list(s, h, CollectionKind::Group)).post(|s, h, b| create(s, h, b, CollectionKind::Group)),
        )
        .route(
            "/api/v1/staff-groups/{id}",
            get(|s, h, p| get_one(s, h, p, CollectionKind::Group))
                .delete(|s, h, p| remove(s, h, p, CollectionKind::Group)),
        )
        .route(
            "/api/v1/staff-folders",
            get(|s, h| list(s, h, CollectionKind::Folder)).post(|s, h, b| create(s, h, b, CollectionKind::Folder)),
        )
        .route(
            "/api/v1/staff-folders/{id}",
            get(|s, h, p| get_one(s, h, p, CollectionKind::Folder))
                .delete(|s, h, p| remove(s, h, p, CollectionKind::Folder)),
        )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionBody {
    created_at: Timestamp,
    id: Uuid,
    updated_at: Timestamp,
    name: String,
    workspace_id: Uuid,
}

impl From<StaffCollection> for CollectionBody {
    fn from(c: StaffCollection) -> Self {
        Self {
            created_at: c.created_at,
            id: c.id,
            updated_at: c.updated_at,
            name: c.name,
            workspace_id: c.workspace_id,
        }
    }
}

async fn list(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    kind: CollectionKind,
) -> ApiResult<Json<Vec<CollectionBody>>> {
    Ok(Json(s.app.list_staff_collections(&who, kind).await?.into_iter().map(Into::into).collect()))
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
    kind: CollectionKind,
) -> ApiResult<Json<CollectionBody>> {
    let mut f = Fields::parse(&body)?;
    let name = f.required("name", parsed(|v| DisplayName::parse(v.trim())));
    let name = f.complete(name)?;
    Ok(Json(s.app.create_staff_collection(&who, kind, name).await?.into()))
}

async fn get_one(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    kind: CollectionKind,
) -> ApiResult<Json<CollectionBody>> {
    Ok(Json(s.app.get_staff_collection(&who, kind, id).await?.into()))
}

async fn remove(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    kind: CollectionKind,
) -> ApiResult<Json<Value>> {
    s.app.delete_staff_collection(&who, kind, id).await?;
    Ok(Json(json!({"message": format!("The staff {} was removed.", kind.as_str())})))
}
