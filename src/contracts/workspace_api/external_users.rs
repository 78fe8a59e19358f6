//! Seed 001: `/api/v1/external-users` and `/api/v1/me`.

use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use super::external_user_body::ExternalUserBody;
use super::paging;
use crate::app::ExternalUserFilter;
use crate::app::{ExternalUserPatch, NewExternalUser};
use crate::domain::{DisplayName, ExternalId, Identifier, Refusal};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, boolean, nullable, parsed, uuid};
use crate::http::extract::{AccessToken, ApiKey, PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/external-users", get(list).post(create).put(super::identities::upsert))
        .route("/api/v1/external-users/authenticate", post(authenticate))
        .route("/api/v1/external-users/{id}", get(get_one).patch(update).delete(erase))
        .route("/api/v1/me", get(me))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticatedBody {
    #[serde(flatten)]
    user: ExternalUserBody,
    access_token: String,
}

fn external_id(s: &str) -> Result<ExternalId, Refusal> {
    ExternalId::parse(s)
}
fn identifier(s: &str) -> Result<Identifier, Refusal> {
    Identifier::parse(s)
}
fn name(s: &str) -> Result<DisplayName, Refusal> {
    DisplayName::parse(s)
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<ExternalUserBody>> {
    let mut f = Fields::parse(&body)?;
    let channel_id = f.required("channelId", uuid);
    let external_id = f.required("externalId", nullable(parsed(external_id)));
    let identifier = f.required("identifier", nullable(parsed(identifier)));
    let name = f.required("name", nullable(parsed(name)));
    let tier_id = f.required("tierId", nullable(uuid));
    let group_id = f.required("externalUserGroupId", nullable(uuid));
    let new = f.complete((|| {
        Some(NewExternalUser {
            channel_id: channel_id?,
            external_id: external_id?,
            identifier: identifier?,
            name: name?,
            tier_id: tier_id?,
            external_user_group_id: group_id?,
            time_zone: None,
        })
    })())?;
    Ok(Json(s.app.create_external_user(&who, new).await?.into()))
}

async fn list(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut q = QueryParams::parse(raw.as_deref());
    let filter = list_filter(&mut q);
    let page = paging::read(&mut q);
    q.finish()?;
    let found = s.app.list_external_users(&who, &filter, page.paging()).await?;
    let items: Vec<ExternalUserBody> = found.items.into_iter().map(Into::into).collect();
    Ok(page.respond(found.total, found.total_is_exact, Json(items)))
}

/// The list's filters, read from its query: the list's and the export's.
pub(super) fn list_filter(q: &mut QueryParams) -> ExternalUserFilter {
    ExternalUserFilter {
        channel_ids: q.uuids("channelIds"),
        external_user_group_ids: q.uuids("externalUserGroupIds"),
        super_identity_ids: q.uuids("superIdentityIds"),
        tier_ids: q.uuids("tierIds"),
        search: q.search("search"),
    }
}

async fn get_one(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<ExternalUserBody>> {
    Ok(Json(s.app.get_external_user(&who, id).await?.into()))
}

async fn update(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<ExternalUserBody>> {
    let mut f = Fields::parse(&body)?;
    let patch = ExternalUserPatch {
        blocked: f.optional("blocked", boolean),
        external_id: f.optional("externalId", nullable(parsed(external_id))),
        identifier: f.optional("identifier", nullable(parsed(identifier))),
        name: f.optional("name", nullable(parsed(name))),
        tier_id: f.optional("tierId", nullable(uuid)),
        external_user_group_id: f.optional("externalUserGroupId", nullable(uuid)),
    };
    f.finish()?;
    Ok(Json(s.app.update_external_user(&who, id, patch).await?.into()))
}

/// Erases the external user (docs/privacy.md): its tickets stay, naming it as a deleted person.
async fn erase(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<serde_json::Value>> {
    s.app.erase_external_user(&who, id).await?;
    Ok(Json(serde_json::json!({"message": "The external user was erased."})))
}

async fn authenticate(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Response> {
    let mut f = Fields::parse(&body)?;
    let channel_id = f.required("channelId", uuid);
    let id = f.required("id", nullable(uuid));
    let external_id = f.required("externalId", nullable(parsed(external_id)));
    let identifier = f.required("identifier", nullable(parsed(identifier)));
    let (channel_id, id, external_id, identifier) =
        f.complete((|| Some((channel_id?, id?, external_id?, identifier?)))())?;
    let done = s.app.authenticate_external_user(&who, channel_id, id, external_id, identifier).await?;
    let mut response =
        Json(AuthenticatedBody { user: done.user.into(), access_token: done.access_token }).into_response();
    response.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The external user an access token belongs to.
async fn me(AccessToken(user, ..): AccessToken<ApiError>) -> ApiResult<Json<ExternalUserBody>> {
    Ok(Json(user.into()))
}
