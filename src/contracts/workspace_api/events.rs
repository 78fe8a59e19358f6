//! `GET /api/v1/events`: a workspace's events in order, for catching up (docs/webhooks.md).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use crate::app::{EventCursor, MAX_EVENTS_PER_PAGE, parse_event_types};
use crate::domain::{Refusal, Rule};
use crate::http::AppState;
use crate::http::body::QueryParams;
use crate::http::extract::ApiKey;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/events", get(list))
}

async fn list(
    State(s): State<AppState>,
    ApiKey(who, ..): ApiKey<ApiError>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut q = QueryParams::parse(raw.as_deref());
    let after = match q.string("after") {
        None => EventCursor::default(),
        Some(c) => EventCursor::parse(&c).unwrap_or_else(|| {
            q.reject("after", Refusal::new(Rule::Format, "must be a cursor returned by this endpoint"));
            EventCursor::default()
        }),
    };
    let types = match q.string("types").map(|t| parse_event_types(&t)) {
        None => Vec::new(),
        Some(Ok(types)) => types,
        Some(Err(why)) => {
            q.reject("types", Refusal::new(Rule::Format, why));
            Vec::new()
        }
    };
    let limit = q.integer("limit", 1, MAX_EVENTS_PER_PAGE, 100);
    q.finish()?;
    let page = s.app.list_events(&who, after, &types, limit).await?;
    let events: Vec<Value> = page.events.iter().map(|e| e.to_json()).collect();
    Ok(Json(json!({ "events": events, "next": page.next.encode(), "hasMore": page.has_more })))
}
