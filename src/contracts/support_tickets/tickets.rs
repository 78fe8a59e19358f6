//! `/support/tickets/v1`: open, list, read, change status or type, assign, comment.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use serde_json::{Value, json};

use super::auth::TicketsPrincipal;
use super::error::{TicketsError, TicketsResult, method_not_allowed};
use super::render;
use crate::app::{ActivityCursor, TicketCursor, TicketFilter, TicketOrder, TicketPage, TicketSortKey};
use crate::app::{AppError, CommentInput, NewTicketInput, Principal};
use crate::domain::{Attachment, FieldError, Refusal, Rule, Ticket, TicketStatus, TicketText, TicketType};
use crate::http::AppState;
use crate::http::body::{Check, Fields, QueryParams, boolean, nullable, parsed, uuid};
use crate::http::extract::{PathId, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/support/tickets/v1", get(list).post(create).fallback(method_not_allowed))
        .route("/support/tickets/v1/comment", post(comment).fallback(method_not_allowed))
        .route("/support/tickets/v1/{id}", get(get_one).fallback(method_not_allowed))
        .route("/support/tickets/v1/{id}/status", put(change_status).fallback(method_not_allowed))
        .route("/support/tickets/v1/{id}/type", patch(change_type).fallback(method_not_allowed))
        .route("/support/tickets/v1/{id}/assignee", put(assign).delete(unassign).fallback(method_not_allowed))
        .route("/support/tickets/v1/{id}/comments", post(comment_on).fallback(method_not_allowed))
}

/// The object under `key` of a body like `{"ticket": {...}}`, read field by field.
fn wrapped(body: &Bytes, key: &str) -> Result<Fields, AppError> {
    let mut outer = Fields::parse(body)?;
    let inner =
        outer.required(key, |v| v.as_object().cloned().ok_or_else(|| Refusal::new(Rule::Type, "must be an object")));
    outer.finish()?;
    inner.map(Fields::from_object).ok_or_else(|| AppError::invalid(key, Refusal::new(Rule::Type, "must be an object")))
}

/// Finishes reading a wrapped object, naming each field by its path (`ticket.text`).
fn finish_wrapped<T>(f: Fields, key: &str, value: Option<T>) -> Result<T, AppError> {
    f.complete(value).map_err(|e| match e {
        AppError::Invalid(errors) => AppError::Invalid(
            errors.into_iter().map(|e| FieldError { field: format!("{key}.{}", e.field), ..e }).collect(),
        ),
        other => other,
    })
}

fn text(s: &str) -> Result<TicketText, Refusal> {
    if s.trim().is_empty() {
        return Err(Refusal::new(Rule::NotEmpty, "must not be blank"));
    }
    TicketText::parse(s)
}

fn status(v: &Value) -> Check<TicketStatus> {
    let s = v.as_str().ok_or_else(|| Refusal::new(Rule::Type, "must be a string"))?;
    TicketStatus::parse(s).ok_or_else(|| {
        let known: Vec<&str> = TicketStatus::ALL.iter().map(|s| s.as_str()).collect();
        Refusal::new(Rule::Format, format!("must be one of {}", known.join(", ")))
    })
}

async fn create(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Response> {
    let mut f = wrapped(&body, "ticket")?;
    let location_id = f.required("locationRef", uuid);
    let text = f.required("text", parsed(text));
    let kind = f.optional("type", nullable(parsed(TicketType::parse)));
    // The team must name the requester; an external user is its own by default.
    let requester_id = match who {
        Principal::ExternalUser { .. } => f.optional("userRefRequester", nullable(uuid)),
        _ => f.required("userRefRequester", uuid).map(Some),
    };
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
    let created =
        s.app.create_ticket(&who, input).await.map_err(|e| e.rename_field("requester", "ticket.userRefRequester"))?;
    Ok((StatusCode::CREATED, Json(render::detail(&created))).into_response())
}

/// The ticket with its newest `activitiesLimit` (1..=100, 50) activities, oldest first; when older
/// ones remain, `olderActivitiesPageToken` reads the page before them (`activitiesPageToken`).
async fn get_one(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    PathId(id, ..): PathId<TicketsError>,
    RawQuery(raw): RawQuery,
) -> TicketsResult<Response> {
    let mut q = QueryParams::parse(raw.as_deref());
    let limit = q.integer("activitiesLimit", 1, Ticket::MAX_ACTIVITIES_PER_READ, Ticket::ACTIVITIES_PER_READ);
    let before = match q.string("activitiesPageToken").filter(|t| !t.is_empty()) {
        Some(token) => ActivityCursor::from_token(&token).or_else(|| {
            q.reject("activitiesPageToken", Refusal::new(Rule::Format, "is not a token this server issued"));
            None
        }),
        None => None,
    };
    q.finish()?;
    let detail = s.app.get_ticket(&who, id, before, limit).await?;
    Ok(Json(render::detail(&detail)).into_response())
}

async fn change_status(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    PathId(id, ..): PathId<TicketsError>,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Response> {
    let mut f = wrapped(&body, "ticket")?;
    let status = f.required("status", status);
    let status = finish_wrapped(f, "ticket", status)?;
    let done = s.app.change_ticket_status(&who, id, status).await?;
    Ok(Json(render::change(&done)).into_response())
}

/// `{"ticket": {"type": "access"}}` (or `null` to clear) -> 204.
async fn change_type(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    PathId(id, ..): PathId<TicketsError>,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<StatusCode> {
    let mut f = wrapped(&body, "ticket")?;
    let kind = f.required("type", nullable(parsed(TicketType::parse)));
    let kind = finish_wrapped(f, "ticket", kind)?;
    s.app.change_ticket_type(&who, id, kind).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{"ticket": {"membershipRefAssignee": id}}` assigns; `null` unassigns, as DELETE does.
async fn assign(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    PathId(id, ..): PathId<TicketsError>,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Response> {
    let mut f = wrapped(&body, "ticket")?;
    let assignee = f.required("membershipRefAssignee", nullable(uuid));
    let assignee = finish_wrapped(f, "ticket", assignee)?;
    let done = s.app.assign_ticket(&who, id, assignee).await?;
    Ok(Json(render::change(&done)).into_response())
}

async fn unassign(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    PathId(id, ..): PathId<TicketsError>,
) -> TicketsResult<Response> {
    let done = s.app.assign_ticket(&who, id, None).await?;
    Ok(Json(render::change(&done)).into_response())
}

fn attachments(v: &Value) -> Check<Vec<Attachment>> {
    let items = v.as_array().ok_or_else(|| Refusal::new(Rule::Type, "must be an array"))?;
    Attachment::check_count(items.len())?;
    let at = |i: usize| move |e: Refusal| Refusal { message: format!("[{i}].{}", e.message), ..e };
    items.iter().enumerate().map(|(i, item)| attachment(item).map_err(at(i))).collect()
}

fn attachment(v: &Value) -> Check<Attachment> {
    let o = v.as_object().ok_or_else(|| Refusal::new(Rule::Type, "must be an object"))?;
    let text = |key: &str| -> Check<Option<String>> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let named = |e: Refusal| Refusal { message: format!("{key} {}", e.message), ..e };
                Attachment::check_text(s).map(|()| Some(s.clone())).map_err(named)
            }
            Some(_) => Err(Refusal::new(Rule::Type, format!("{key} must be a string"))),
        }
    };
    let count = |key: &str| -> Check<Option<i64>> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(n) => {
                let refused = || Refusal::new(Rule::Range, format!("{key} must be a whole number >= 0"));
                n.as_i64().filter(|n| *n >= 0).map(Some).ok_or_else(refused)
            }
        }
    };
    let key = text("key")?.filter(|k| !k.is_empty()).ok_or_else(|| Refusal::new(Rule::Required, "key is required"))?;
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

/// Reads `text`, `internal`? and `attachments`? of a comment whose other fields `f` has read.
fn comment_input(mut f: Fields, key: &str, other: Option<()>) -> Result<CommentInput, AppError> {
    let text = f.required("text", parsed(text));
    let internal = f.optional("internal", boolean);
    let files = f.optional("attachments", nullable(attachments));
    finish_wrapped(
        f,
        key,
        (|| {
            other?;
            Some(CommentInput {
                text: text?,
                internal: internal.unwrap_or(false),
                attachments: files.flatten().unwrap_or_default(),
            })
        })(),
    )
}

/// The product's way: `{"activity": {"ticketRef", "text", "attachments"?, "internal"?}}` -> 201
/// `{activity}`.
async fn comment(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Response> {
    let mut f = wrapped(&body, "activity")?;
    let ticket_id = f.required("ticketRef", uuid);
    let input = comment_input(f, "activity", ticket_id.map(|_| ()))?;
    let ticket_id = ticket_id.ok_or_else(|| AppError::invalid("activity.ticketRef", Refusal::required()))?;
    let done = s.app.comment_on_ticket(&who, ticket_id, input).await?;
    Ok((StatusCode::CREATED, Json(render::activity_only(&done))).into_response())
}

/// The earlier route, kept for its clients: `POST /{id}/comments` with `{"comment": {"text",
/// "internal"?, "attachments"?}}` -> 201 `{activity, ticket}`.
async fn comment_on(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    PathId(id, ..): PathId<TicketsError>,
    RawBody(body, ..): RawBody<TicketsError>,
) -> TicketsResult<Response> {
    let input = comment_input(wrapped(&body, "comment")?, "comment", Some(()))?;
    let done = s.app.comment_on_ticket(&who, id, input).await?;
    Ok((StatusCode::CREATED, Json(render::change(&done))).into_response())
}

/// The list orders, by their names in `order`.
const ORDERS: [(&str, TicketOrder); 4] = [
    ("createDate:asc", TicketOrder { key: TicketSortKey::Created, descending: false }),
    ("createDate:desc", TicketOrder { key: TicketSortKey::Created, descending: true }),
    ("updateDate:asc", TicketOrder { key: TicketSortKey::Updated, descending: false }),
    ("updateDate:desc", TicketOrder { key: TicketSortKey::Updated, descending: true }),
];

/// The product's default: newest first.
const DEFAULT_ORDER: &str = "createDate:desc";

fn order_named(name: &str) -> Option<TicketOrder> {
    ORDERS.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}

/// The opaque keyset token: the order it was issued for and the last ticket's sort value and number,
/// hex-encoded behind a version tag.
fn page_token(order: &str, cursor: TicketCursor) -> String {
    let plain = format!("{order},{},{}", cursor.value, cursor.number);
    format!("t2{}", crate::domain::hex(plain.as_bytes()))
}

/// The order name and position a token holds, if this server issued it.
fn read_page_token(token: &str) -> Option<(String, TicketCursor)> {
    let hex = token.strip_prefix("t2")?;
    if hex.len() % 2 != 0 || hex.is_empty() {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect();
    let plain = String::from_utf8(bytes?).ok()?;
    let mut parts = plain.split(',');
    let (order, value, number) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || order_named(order).is_none() {
        return None;
    }
    let cursor = TicketCursor { value: value.parse().ok()?, number: number.parse().ok().filter(|n: &i64| *n >= 0)? };
    Some((order.to_owned(), cursor))
}

/// Every value given under any of `keys` (a contract name and its aliases).
fn ids(q: &mut QueryParams, keys: &[&str]) -> Vec<uuid::Uuid> {
    let mut found = Vec::new();
    for key in keys {
        found.extend(q.uuids(key));
    }
    found
}

/// `limit` 1..=100 (25), `order` (`createDate:desc` by default), `pageToken` (or `nextPageToken`),
/// filters `status`, `membershipRefAssignee` (or `userRefAssignee`), `membershipRefRequester` (or
/// `userRefRequester`), `locationRef`; each takes one value, repeated keys or a comma-separated list.
async fn list(
    State(s): State<AppState>,
    TicketsPrincipal(who): TicketsPrincipal,
    RawQuery(raw): RawQuery,
) -> TicketsResult<Response> {
    let mut q = QueryParams::parse(raw.as_deref());
    let limit = q.integer("limit", 1, 100, 25);
    let order_name = q.string("order").filter(|o| !o.trim().is_empty()).unwrap_or_else(|| DEFAULT_ORDER.to_owned());
    let order_name = order_name.trim().to_owned();
    let order = order_named(&order_name).unwrap_or_else(|| {
        let known: Vec<&str> = ORDERS.iter().map(|(n, _)| *n).collect();
        q.reject("order", Refusal::new(Rule::Format, format!("must be one of {}", known.join(", "))));
        ORDERS[1].1
    });
    let mut after = None;
    for key in ["pageToken", "nextPageToken"] {
        if let Some(token) = q.string(key).filter(|t| !t.is_empty()) {
            match read_page_token(&token) {
                Some((issued_for, cursor)) if issued_for == order_name => after = Some(cursor),
                Some((issued_for, _)) => {
                    let message = format!("was issued for order {issued_for}, not {order_name}");
                    q.reject(key, Refusal::new(Rule::Combination, message));
                }
                None => q.reject(key, Refusal::new(Rule::Format, "is not a token this server issued")),
            }
        }
    }
    let (mut statuses, mut wrong) = (Vec::new(), Vec::new());
    for part in q.values("status") {
        match status(&json!(part)) {
            Ok(s) => statuses.push(s),
            Err(why) => wrong.push(why),
        }
    }
    for why in wrong {
        q.reject("status", why);
    }
    let filter = TicketFilter {
        statuses,
        assignee_ids: ids(&mut q, &["membershipRefAssignee", "userRefAssignee", "assignee"]),
        requester_ids: ids(&mut q, &["membershipRefRequester", "userRefRequester", "requester"]),
        location_ids: ids(&mut q, &["locationRef", "location"]),
        ..TicketFilter::default()
    };
    q.finish()?;
    let page: TicketPage = s.app.list_tickets(&who, &filter, order, after, limit).await?;
    let next = page.tickets.last().filter(|_| page.more).map(|last| {
        let value = match order.key {
            TicketSortKey::Created => 0,
            TicketSortKey::Updated => last.updated_at.micros(),
        };
        page_token(&order_name, TicketCursor { value, number: last.number })
    });
    Ok(Json(render::page(&page, next)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_refuse_forgeries() {
        for (order, _) in ORDERS {
            for (value, number) in [(0, 0), (1_700_000_000_000_000, 1), (-5, 25), (i64::MAX, i64::MAX)] {
                let cursor = TicketCursor { value, number };
                assert_eq!(read_page_token(&page_token(order, cursor)), Some((order.to_owned(), cursor)));
            }
        }
        let forged = |plain: &str| format!("t2{}", plain.bytes().map(|b| format!("{b:02x}")).collect::<String>());
        for bad in ["", "t2", "t2zz", "x13", "t1-1", "t12d31"] {
            assert_eq!(read_page_token(bad), None, "{bad}");
        }
        for bad in
            ["number:asc,1,2", "createDate:asc,1", "createDate:asc,1,-2", "createDate:asc,1,2,3", "createDate:asc,x,2"]
        {
            assert_eq!(read_page_token(&forged(bad)), None, "{bad}");
        }
    }
}
