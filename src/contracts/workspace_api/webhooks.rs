//! `/api/v1/webhooks`: push subscriptions to the workspace's events and their delivery log
//! (docs/webhooks.md). The secret is shown at creation and at rotation only.

use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use crate::app::{WebhookChanges, WebhookWithSecret};
use crate::domain::Timestamp;
use crate::domain::webhook::{WebhookDelivery, WebhookUrl, parse_types, webhook_json};
use crate::http::body::{Fields, QueryParams, boolean, parsed};
use crate::http::extract::{ApiKey, PathId, PathParam, RawBody};
use crate::http::{AppState, NoStore};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{id}", get(get_one).patch(update).delete(remove))
        .route("/api/v1/webhooks/{id}/rotate-secret", post(rotate))
        .route("/api/v1/webhooks/{id}/deliveries", get(deliveries))
        .route("/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver", post(redeliver))
}

/// The `{deliveryId}` of a route.
struct DeliveryId;
impl PathParam for DeliveryId {
    const NAME: &'static str = "deliveryId";
}

fn with_secret(w: WebhookWithSecret) -> Value {
    let mut body = webhook_json(&w.webhook);
    body["secret"] = json!(w.secret);
    body
}

fn delivery_json(d: &WebhookDelivery) -> Value {
    let attempts: Vec<Value> = d
        .attempts
        .iter()
        .map(|a| {
            json!({
                "attemptedAt": a.attempted_at,
                "statusCode": a.status_code,
                "latencyMs": a.latency_ms,
                "responseExcerpt": a.response_excerpt,
                "error": a.error,
            })
        })
        .collect();
    json!({
        "id": d.id,
        "webhookId": d.webhook_id,
        "eventId": d.event_id,
        "eventType": d.event_type,
        "sequence": d.sequence,
        "status": d.status.as_str(),
        "tries": d.tries,
        "nextAttemptAt": d.next_attempt_at.map(Timestamp::to_rfc3339_millis),
        "attempts": attempts,
        "createdAt": d.created_at,
        "updatedAt": d.updated_at,
    })
}

async fn create(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<NoStore<Json<Value>>> {
    let mut f = Fields::parse(&body)?;
    let url = f.required("url", parsed(WebhookUrl::parse));
    let types = f.optional("types", parse_types);
    let enabled = f.optional("enabled", boolean);
    let url = f.complete(url)?;
    let created = s.app.create_webhook(&who, url, types.unwrap_or_default(), enabled.unwrap_or(true), None).await?;
    Ok(NoStore(Json(with_secret(created))))
}

async fn list(State(s): State<AppState>, ApiKey(who, ..): ApiKey<ApiError>) -> ApiResult<Json<Vec<Value>>> {
    Ok(Json(s.app.list_webhooks(&who).await?.iter().map(webhook_json).collect()))
}

async fn get_one(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<Value>> {
    Ok(Json(webhook_json(&s.app.get_webhook(&who, id).await?)))
}

async fn update(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    RawBody(body, ..): RawBody<ApiError>,
) -> ApiResult<Json<Value>> {
    let mut f = Fields::parse(&body)?;
    let changes = WebhookChanges {
        url: f.optional("url", parsed(WebhookUrl::parse)),
        types: f.optional("types", parse_types),
        enabled: f.optional("enabled", boolean),
    };
    f.finish()?;
    Ok(Json(webhook_json(&s.app.update_webhook(&who, id, changes).await?)))
}

async fn remove(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<Json<Value>> {
    s.app.delete_webhook(&who, id).await?;
    Ok(Json(json!({"message": "The webhook was removed."})))
}

async fn rotate(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
) -> ApiResult<NoStore<Json<Value>>> {
    Ok(NoStore(Json(with_secret(s.app.rotate_webhook_secret(&who, id).await?))))
}

async fn deliveries(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut q = QueryParams::parse(raw.as_deref());
    let limit = q.integer("limit", 1, 100, 50);
    q.finish()?;
    let list = s.app.list_webhook_deliveries(&who, id, limit).await?;
    Ok(Json(json!({ "deliveries": list.iter().map(delivery_json).collect::<Vec<_>>() })))
}

async fn redeliver(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    PathId(id, ..): PathId<ApiError>,
    PathId(delivery_id, ..): PathId<ApiError, DeliveryId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(delivery_json(&s.app.redeliver_webhook(&who, id, delivery_id).await?)))
}
