//! One person across channels over `/api/v1`: super identities and their merges, linking and
//! unlinking external users, upsert by (channel, external id), automatic matching, erasure and the
//! audit records of them (docs/contracts.md, "Identities").

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::external_user_body::ExternalUserBody;
use crate::app::{AppError, ExternalUserUpsert, Upserted};
use crate::domain::{
    AuditRecord, DisplayName, ExternalId, Identifier, Refusal, Rule, SuperIdentity, Timestamp, parse_uuid,
};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, boolean, nullable, parsed, uuid};
use crate::http::extract::{ApiKey, PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/super-identities/{id}", get(get_identity).delete(erase_person))
        .route("/api/v1/super-identities/{id}/merge", post(merge))
        .route("/api/v1/external-users/{id}/link", post(link))
        .route("/api/v1/external-users/{id}/unlink", post(unlink))
        .route("/api/v1/settings/automatic-matching", get(get_matching).put(set_matching))
        .route("/api/v1/audit-records", get(audit_records))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SuperIdentityBody {
    id: Uuid,
    workspace_id: Uuid,
    created_at: Timestamp,
    /// Where a merged super identity's external users went; `null` while it is in use.
    merged_into: Option<Uuid>,
    merged_at: Option<Timestamp>,
}

impl From<SuperIdentity> for SuperIdentityBody {
    fn from(s: SuperIdentity) -> Self {
        Self {
            id: s.id,
            workspace_id: s.workspace_id,
            created_at: s.created_at,
            merged_into: s.merged_into,
            merged_at: s.merged_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditBody {
    id: Uuid,
    action: &'static str,
    actor_id: Uuid,
    subject_id: Uuid,
    target_id: Option<Uuid>,
    created_at: Timestamp,
}

impl From<AuditRecord> for AuditBody {
    fn from(a: AuditRecord) -> Self {
        Self {
            id: a.id,
            action: a.action.as_str(),
            actor_id: a.actor_id,
            subject_id: a.subject_id,
            target_id: a.target_id,
            created_at: a.at,
        }
    }
}

async fn get_identity(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<SuperIdentityBody>> {
    Ok(Json(s.app.get_super_identity(&who, id).await?.into()))
}

async fn merge(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(survivor, ..): PathId<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<Value>> {
    let mut f = Fields::parse(&body)?;
    let absorbed = f.required("absorbedId", uuid);
    let absorbed = f.complete(absorbed)?;
    let done = s.app.merge_super_identities(&who, survivor, absorbed).await?;
    Ok(Json(json!({
        "survivor": SuperIdentityBody::from(done.survivor),
        "movedExternalUsers": done.moved_external_users,
        "tickets": done.tickets,
    })))
}

async fn erase_person(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<Value>> {
    let erased = s.app.erase_person(&who, id).await?;
    Ok(Json(json!({"message": "The person was erased.", "erasedExternalUsers": erased})))
}

async fn link(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<ExternalUserBody>> {
    let mut f = Fields::parse(&body)?;
    let target = f.required("superIdentityId", uuid);
    let target = f.complete(target)?;
    Ok(Json(s.app.link_external_user(&who, id, target).await?.into()))
}

async fn unlink(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<ExternalUserBody>> {
    Ok(Json(s.app.unlink_external_user(&who, id).await?.into()))
}

async fn get_matching(State(s): State<AppState>, ApiKey(who, ..): ApiKey<ApiError>) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"enabled": s.app.automatic_matching(&who).await?})))
}

async fn set_matching(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<Value>> {
    let mut f = Fields::parse(&body)?;
    let enabled = f.required("enabled", boolean);
    let enabled = f.complete(enabled)?;
    Ok(Json(json!({"enabled": s.app.set_automatic_matching(&who, enabled).await?})))
}

async fn audit_records(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Vec<AuditBody>>> {
    let mut q = QueryParams::parse(raw.as_deref());
    let subject = required_uuid(&mut q, "subjectId");
    q.finish()?;
    let subject = subject.ok_or_else(|| AppError::invalid("subjectId", Refusal::required()))?;
    let records = s.app.audit_records(&who, subject).await?;
    Ok(Json(records.into_iter().map(Into::into).collect()))
}

/// `PUT /api/v1/external-users?channelId=&externalId=`: the user with this external id on the
/// channel, created (201) or updated (200) from the body; 200 without a write when nothing differs.
pub async fn upsert(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<(StatusCode, Json<ExternalUserBody>)> {
    let mut q = QueryParams::parse(raw.as_deref());
    let channel_id = required_uuid(&mut q, "channelId");
    let external_id = match q.string("externalId") {
        None => {
            q.reject("externalId", Refusal::required());
            None
        }
        Some(raw) => match ExternalId::parse(&raw) {
            Ok(id) => Some(id),
            Err(why) => {
                q.reject("externalId", why);
                None
            }
        },
    };
    let mut f = Fields::parse(&body)?;
    let fields = upsert_fields(&mut f);
    // Query and body errors are reported together.
    let mut errors = match q.finish() {
        Err(AppError::Invalid(errors)) => errors,
        _ => Vec::new(),
    };
    if let Err(AppError::Invalid(more)) = f.finish() {
        errors.extend(more);
    }
    let (Some(channel_id), Some(external_id), true) = (channel_id, external_id, errors.is_empty()) else {
        return Err(AppError::Invalid(errors).into());
    };
    let (user, outcome) = s.app.upsert_external_user(&who, channel_id, external_id, fields).await?;
    let status = if outcome == Upserted::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(user.into())))
}

/// An upsert's fields besides its key, read from a JSON object: the body of `PUT
/// /api/v1/external-users` and each row of an import.
pub(super) fn upsert_fields(f: &mut Fields) -> ExternalUserUpsert {
    ExternalUserUpsert {
        identifier: f.optional("identifier", nullable(parsed(Identifier::parse))),
        name: f.optional("name", nullable(parsed(DisplayName::parse))),
        tier_id: f.optional("tierId", nullable(uuid)),
        external_user_group_id: f.optional("externalUserGroupId", nullable(uuid)),
        blocked: f.optional("blocked", boolean),
    }
}

fn required_uuid(q: &mut QueryParams, key: &str) -> Option<Uuid> {
    match q.string(key) {
        None => {
            q.reject(key, Refusal::required());
            None
        }
        Some(raw) => {
            let id = parse_uuid(raw.trim());
            if id.is_none() {
                q.reject(key, Refusal::new(Rule::Format, "must be a valid UUID"));
            }
            id
        }
    }
}
