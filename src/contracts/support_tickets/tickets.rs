//! `/support/tickets/v1`: open, list, read, change status, assign, comment.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use super::auth::principal;
use super::error::{TicketsError, TicketsResult};
use super::render;
use crate::app::{AppError, CommentInput, NewTicketInput};
use crate::contracts::AppState;
use crate::contracts::body::{Check, Fields, QueryParams, boolean, nullable, parsed, uuid};
use crate::contracts::extract::{RawBody, path_id};
use crate::domain::{Attachment, FieldError, TicketStatus, TicketText, TicketType};
use crate::store::{TicketFilter, TicketPage};

/// At most this many attachments per comment.
const MAX_ATTACHMENTS: usize = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/support/tickets/v1", get(list).post(create))
        .route("/support/tickets/v1/{id}", get(get_one))
        .route("/support/tickets/v1/{id}/status", put(change_status))
        .route("/support/tickets/v1/{id}/assignee", put(assign).delete(unassign))
        .route("/support/tickets/v1/{id}/comments", post(comment))
}

/// The object under `key` of a body like `{"ticket": {...}}`, read field by field.
fn wrapped(body: &Bytes, key: &str) -> Result<Fields, AppError> {
    let mut outer = Fields::parse(body)?;
    let inner = outer.required(key, |v| v.as_object().cloned().ok_or_else(|| "must be an object".to_owned()));
    outer.finish()?;
    inner.map(Fields::from_object).ok_or_else(|| AppError::invalid(key, "must be an object"))
}

/// Finishes reading a wrapped object, naming each field by its path (`ticket.text`).
fn finish_wrapped<T>(f: Fields, key: &str, value: Option<T>) -> Result<T, AppError> {
    f.complete(value).map_err(|e| match e {
        AppError::Invalid(errors) => AppError::Invalid(
            errors.into_iter().map(|e| FieldError::new(format!("{key}.{}", e.field), e.message)).collect(),
        ),
        other => other,
    })
}

fn text(s: &str) -> Result<TicketText, String> {
    if s.trim().is_empty() {
        return Err("must not be blank".into());
    }
    TicketText::parse(s)
}

fn status(v: &Value) -> Check<TicketStatus> {
    let s = v.as_str().ok_or("must be a string")?;
    TicketStatus::parse(s).ok_or_else(|| {
        let known: Vec<&str> = TicketStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("must be one of {}", known.join(", "))
    })
}

async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Response> {
    let who = principal(&s, &headers).await?;
    let mut f = wrapped(&body, "ticket")?;
    let location_id = f.required("locationRef", uuid);
    let text = f.required("text", parsed(text));
    let kind = f.optional("type", nullable(parsed(TicketType::parse)));
    let requester_id = f.optional("userRefRequester", nullable(uuid));
    let assignee_id = f.optional("membershipRefAssignee", nullable(uuid));
    let input = finish_wrapped(
        f,
        "ticket",
        (|| {
            Some(NewTicketInput {
                location_id: location_id?,
                text: text?,
                kind: kind.flatten(),
                requester_id: requester_id.flatten(),
                assignee_id: assignee_id.flatten(),
            })
        })(),
    )?;
    let created = s.app.create_ticket(&who, input).await?;
    Ok((StatusCode::CREATED, Json(render::detail(&created))).into_response())
}

async fn get_one(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> TicketsResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let detail = s.app.get_ticket(&who, path_id(&id, "id")?).await?;
    Ok(Json(render::detail(&detail)))
}

async fn change_status(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let id = path_id(&id, "id")?;
    let mut f = wrapped(&body, "ticket")?;
    let status = f.required("status", status);
    let status = finish_wrapped(f, "ticket", status)?;
    let done = s.app.change_ticket_status(&who, id, status).await?;
    Ok(Json(render::change(&done)))
}

/// `{"ticket": {"membershipRefAssignee": id}}` assigns; `null` unassigns, as DELETE does.
async fn assign(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let id = path_id(&id, "id")?;
    let mut f = wrapped(&body, "ticket")?;
    let assignee = f.required("membershipRefAssignee", nullable(uuid));
    let assignee = finish_wrapped(f, "ticket", assignee)?;
    let done = s.app.assign_ticket(&who, id, assignee).await?;
    Ok(Json(render::change(&done)))
}

async fn unassign(State(s): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> TicketsResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let done = s.app.assign_ticket(&who, path_id(&id, "id")?, None).await?;
    Ok(Json(render::change(&done)))
}

fn attachments(v: &Value) -> Check<Vec<Attachment>> {
    let items = v.as_array().ok_or("must be an array")?;
    if items.len() > MAX_ATTACHMENTS {
        return Err(format!("must hold at most {MAX_ATTACHMENTS} attachments"));
    }
    items.iter().enumerate().map(|(i, item)| attachment(item).map_err(|e| format!("[{i}].{e}"))).collect()
}

fn attachment(v: &Value) -> Check<Attachment> {
    let o = v.as_object().ok_or("must be an object")?;
    let text = |key: &str| -> Check<Option<String>> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= 2048 => Ok(Some(s.clone())),
            Some(Value::String(_)) => Err(format!("{key} must be at most 2048 characters")),
            Some(_) => Err(format!("{key} must be a string")),
        }
    };
    let count = |key: &str| -> Check<Option<i64>> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(n) => {
                n.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(|| format!("{key} must be a whole number >= 0"))
            }
        }
    };
    let key = text("key")?.filter(|k| !k.is_empty()).ok_or("key is required")?;
    Ok(Attachment {
        key,
        mime: text("mime")?,
        name: text("name")?,
        size: count("size")?,
        url: text("url")?,
        height: count("height")?,
        width: count("width")?,
    })
}

/// `{"comment": {"text", "internal"?, "attachments"?}}` -> 201 `{activity, ticket}`.
async fn comment(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Response> {
    let who = principal(&s, &headers).await?;
    let id = path_id(&id, "id")?;
    let mut f = wrapped(&body, "comment")?;
    let text = f.required("text", parsed(text));
    let internal = f.optional("internal", boolean);
    let files = f.optional("attachments", nullable(attachments));
    let input = finish_wrapped(
        f,
        "comment",
        (|| {
            Some(CommentInput {
                text: text?,
                internal: internal.unwrap_or(false),
                attachments: files.flatten().unwrap_or_default(),
            })
        })(),
    )?;
    let done = s.app.comment_on_ticket(&who, id, input).await?;
    Ok((StatusCode::CREATED, Json(render::change(&done))).into_response())
}

/// The opaque keyset token: the last ticket number of the page, hex-encoded behind a version tag.
fn page_token(number: i64) -> String {
    format!("t1{}", format!("{number:x}").bytes().map(|b| format!("{b:02x}")).collect::<String>())
}

fn read_page_token(token: &str) -> Option<i64> {
    let hex = token.strip_prefix("t1")?;
    if hex.len() % 2 != 0 || hex.is_empty() {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    i64::from_str_radix(std::str::from_utf8(&bytes?).ok()?, 16).ok().filter(|n| *n >= 0)
}

/// Every value given under any of `keys` (a contract name and its aliases).
fn ids(q: &mut QueryParams, keys: &[&str]) -> Vec<uuid::Uuid> {
    let mut found = Vec::new();
    for key in keys {
        found.extend(q.uuids(key));
    }
    found
}

/// `limit` 1..=100 (25), `pageToken` (or `nextPageToken`), filters `status`, `membershipRefAssignee`,
/// `membershipRefRequester` (or `userRefRequester`), `locationRef`; each takes one value, repeated
/// keys or a comma-separated list.
async fn list(State(s): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> TicketsResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let mut q = QueryParams::parse(raw.as_deref());
    let limit = q.integer("limit", 1, 100, 25);
    let mut after = None;
    for key in ["pageToken", "nextPageToken"] {
        if let Some(token) = q.string(key).filter(|t| !t.is_empty()) {
            match read_page_token(&token) {
                Some(n) => after = Some(n),
                None => q.reject(key, "is not a token this server issued"),
            }
        }
    }
    let mut statuses = Vec::new();
    if let Some(raw) = q.string("status") {
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match status(&json!(part)) {
                Ok(s) => statuses.push(s),
                Err(why) => q.reject("status", why),
            }
        }
    }
    let filter = TicketFilter {
        statuses,
        assignee_ids: ids(&mut q, &["membershipRefAssignee", "assignee"]),
        requester_ids: ids(&mut q, &["membershipRefRequester", "userRefRequester", "requester"]),
        location_ids: ids(&mut q, &["locationRef", "location"]),
    };
    q.finish()?;
    let page: TicketPage = s.app.list_tickets(&who, &filter, after, limit).await?;
    let members = render::Members::new(&page.members);
    let tickets: Vec<Value> = page.tickets.iter().map(|t| render::ticket(t, &members)).collect();
    let mut body = json!({"tickets": tickets});
    if let Some(last) = page.tickets.last().filter(|_| page.more) {
        body["nextPageToken"] = json!(page_token(last.number));
    }
    Ok(Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_refuse_forgeries() {
        for n in [0, 1, 25, 1_000_000, i64::MAX] {
            assert_eq!(read_page_token(&page_token(n)), Some(n));
        }
        for bad in ["", "t1", "t1zz", "x13", "t1-1", "t12d31"] {
            assert_eq!(read_page_token(bad), None, "{bad}");
        }
    }
}
