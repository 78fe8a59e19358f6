//! `/api/v1/channels`: where external users come from.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::app::ChannelInput;
use crate::domain::{Channel, ChannelType, DisplayName, Refusal, Rule, Timestamp};
use crate::http::AppState;
use crate::http::body::{Check, Fields, parsed};
use crate::http::extract::{ApiKey, PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/channels", get(list).post(create))
        .route("/api/v1/channels/{id}", get(get_one).patch(update).delete(remove))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelBody {
    created_at: Timestamp,
    id: Uuid,
    updated_at: Timestamp,
    name: String,
    #[serde(rename = "type")]
    kind: ChannelType,
    /// The workspace's built-in e-mail channel.
    built_in: bool,
    workspace_id: Uuid,
}

impl From<Channel> for ChannelBody {
    fn from(c: Channel) -> Self {
        Self {
            created_at: c.created_at,
            id: c.id,
            updated_at: c.updated_at,
            name: c.name,
            kind: c.kind,
            built_in: c.builtin,
            workspace_id: c.workspace_id,
        }
    }
}

fn channel_type(v: &Value) -> Check<ChannelType> {
    let s = v.as_str().ok_or_else(|| Refusal::new(Rule::Type, "must be a string"))?;
    ChannelType::parse(s).ok_or_else(|| {
        let all: Vec<_> = ChannelType::ALL.iter().map(|t| t.as_str()).collect();
        Refusal::new(Rule::Format, format!("must be one of {}", all.join(", ")))
    })
}

async fn list(State(s): State<AppState>, ApiKey(who, ..): ApiKey<ApiError>) -> ApiResult<Json<Vec<ChannelBody>>> {
    Ok(Json(s.app.list_channels(&who).await?.into_iter().map(Into::into).collect()))
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<ChannelBody>> {
    let mut f = Fields::parse(&body)?;
    let name = f.required("name", parsed(DisplayName::parse));
    let kind = f.required("type", channel_type);
    let input = f.complete((|| Some(ChannelInput { name: name?, kind: kind? }))())?;
    Ok(Json(s.app.create_channel(&who, input).await?.into()))
}

async fn get_one(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<ChannelBody>> {
    Ok(Json(s.app.get_channel(&who, id).await?.into()))
}

async fn update(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<ChannelBody>> {
    let mut f = Fields::parse(&body)?;
    let name = f.optional("name", parsed(DisplayName::parse));
    let kind = f.optional("type", channel_type);
    f.finish()?;
    Ok(Json(s.app.update_channel(&who, id, name, kind).await?.into()))
}

async fn remove(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<Value>> {
    s.app.delete_channel(&who, id).await?;
    Ok(Json(json!({"message": "The channel was removed."})))
}
