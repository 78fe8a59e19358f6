//! `/api/v1/api-keys`: workspace API keys. The secret is returned once, at creation.

use axum::extract::State;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::domain::{self, Refusal, Role, Rule, Timestamp};
use crate::http::body::{Check, Fields, string};
use crate::http::extract::{ApiKey, PathId, RawBody};
use crate::http::{AppState, NoStore};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/api-keys", get(list).post(create)).route("/api/v1/api-keys/{id}", delete(revoke))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyBody {
    id: Uuid,
    name: String,
    role: Role,
    prefix: String,
    created_at: Timestamp,
    created_by: Option<Uuid>,
    last_used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl From<domain::ApiKey> for ApiKeyBody {
    fn from(k: domain::ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            role: k.role,
            prefix: k.prefix,
            created_at: k.created_at,
            created_by: k.created_by,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key and, in `key`, its secret: it is not stored and cannot be shown again.
#[derive(Serialize)]
struct CreatedBody {
    #[serde(flatten)]
    key: ApiKeyBody,
    #[serde(rename = "key")]
    secret: String,
}

fn role(v: &Value) -> Check<Role> {
    v.as_str().and_then(Role::parse).ok_or_else(|| Refusal::new(Rule::Format, "must be \"admin\" or \"agent\""))
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<NoStore<Json<CreatedBody>>> {
    let mut f = Fields::parse(&body)?;
    let name = f.required("name", string);
    let role = f.required("role", role);
    let (name, role) = f.complete((|| Some((name?, role?)))())?;
    let created = s.app.create_api_key(&who, &name, role).await?;
    Ok(NoStore(Json(CreatedBody { key: created.key.into(), secret: created.secret })))
}

async fn list(State(s): State<AppState>, ApiKey(who, ..): ApiKey<ApiError>) -> ApiResult<Json<Vec<ApiKeyBody>>> {
    Ok(Json(s.app.list_api_keys(&who).await?.into_iter().map(Into::into).collect()))
}

async fn revoke(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<ApiKeyBody>> {
    Ok(Json(s.app.revoke_api_key(&who, id).await?.into()))
}
