//! Request comments: `GET` and `POST /rest/servicedeskapi/request/{issueIdOrKey}/comment` and `GET
//! .../comment/{commentId}`. A comment is a ticket's comment activity, so comments made here are the
//! support tickets API's and the console's, and theirs are listed here: a public comment is a public
//! reply, an internal comment an internal note.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use uuid::Uuid;

use super::accounts::{avatar_urls, user_dto};
use super::auth::DeskPrincipal;
use super::error::{DeskError, DeskResult, not_allowed};
use super::{base, date_dto, paged, read_paging, request_ref};
use crate::app::{AppError, CommentKinds, RequestComments};
use crate::domain::{MemberRef, Membership, Refusal, Rule, StaffStatus, Ticket, TicketActivity, TicketText};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams, parsed};
use crate::http::extract::{PathText, PathTexts, RawBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rest/servicedeskapi/request/{issue_id_or_key}/comment", get(list).post(create).fallback(not_allowed))
        .route("/rest/servicedeskapi/request/{issue_id_or_key}/comment/{comment_id}", get(one).fallback(not_allowed))
}

/// A comment's JSM id is its request's number times this plus its own number among the request's
/// comments (request 12's third comment is `120003`): numeric as JSM's, unique in the workspace, and
/// read back without a lookup table.
const PER_REQUEST: i64 = 10_000;
const _: () = assert!(Ticket::MAX_COMMENTS < PER_REQUEST);

/// Who wrote a comment through an API key or the server console: no person, so the desk itself.
const INTEGRATION_NAME: &str = "Frontdesk";
const DEFAULT_TIME_ZONE: &str = "UTC";

fn comment_id(ticket: &Ticket, c: &TicketActivity) -> String {
    let number = c.comment_number.unwrap_or_default();
    ticket.number.saturating_mul(PER_REQUEST).saturating_add(number).to_string()
}

/// The comment number a JSM comment id names on `ticket`; `None` when it names none of its comments.
fn comment_number(raw: &str, ticket: &Ticket) -> Option<i64> {
    let raw = raw.trim();
    let id = raw.bytes().all(|b| b.is_ascii_digit()).then(|| raw.parse::<i64>().ok()).flatten()?;
    let number = id % PER_REQUEST;
    (id / PER_REQUEST == ticket.number && number > 0).then_some(number)
}

/// `true` or `false` in any letter case (Python's clients send `True`); absent: `default`.
fn flag(q: &mut QueryParams, key: &str, default: bool) -> bool {
    match q.string(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => default,
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(_) => {
            q.reject(key, Refusal::new(Rule::Type, "must be true or false"));
            default
        }
    }
}

/// Whether `expand` asks for `renderedBody` (JSM's other expansion, `attachment`, adds nothing here;
/// unknown ones are ignored, as JSM ignores them).
fn expands_rendered_body(q: &QueryParams) -> bool {
    q.values("expand").any(|v| v.eq_ignore_ascii_case("renderedBody"))
}

/// The body as HTML, as JSM's `renderedBody.html`: escaped, paragraphs at blank lines, line breaks kept.
fn rendered(body: &str) -> String {
    let escaped = body
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace("\r\n", "\n");
    escaped
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.is_empty())
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br/>\n")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A staff member writing in the console, as a JSM user. Its account id is not a customer's, so no
/// `self` link (it would lead nowhere); the avatar is served for any account id.
fn staff_author(base: &str, workspace: Uuid, u: &crate::domain::StaffUser) -> Value {
    let account = format!("qm:{workspace}:{}", u.id.simple());
    let name = [u.first_name.as_deref(), u.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|n| !n.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "accountId": account,
        "name": account,
        "key": account,
        "emailAddress": u.email,
        "displayName": if name.is_empty() { u.email.clone() } else { name },
        "active": u.status != StaffStatus::Disabled,
        "timeZone": DEFAULT_TIME_ZONE,
        "_links": {"avatarUrls": avatar_urls(base, &account)},
    })
}

/// An API key or the server console: no person, shown as the desk itself under the key's id.
fn integration_author(base: &str, workspace: Uuid, by: Uuid) -> Value {
    let account = format!("qm:{workspace}:{}", by.simple());
    json!({
        "accountId": account,
        "name": account,
        "key": account,
        "emailAddress": "",
        "displayName": INTEGRATION_NAME,
        "active": true,
        "timeZone": DEFAULT_TIME_ZONE,
        "_links": {"avatarUrls": avatar_urls(base, &account)},
    })
}

fn author(base: &str, c: &TicketActivity, people: &HashMap<Uuid, &Membership>) -> Value {
    let person = c.actor.map(MemberRef::id).and_then(|id| people.get(&id)).or_else(|| people.get(&c.created_by));
    match person {
        Some(Membership::External(u)) => user_dto(base, u),
        Some(Membership::Staff(u)) => staff_author(base, c.workspace_id, u),
        None => integration_author(base, c.workspace_id, c.created_by),
    }
}

/// JSM's `CommentDTO`, in the order JSM sends it.
fn comment_dto(
    base: &str,
    ticket: &Ticket,
    c: &TicketActivity,
    people: &HashMap<Uuid, &Membership>,
    html: bool,
) -> Value {
    let id = comment_id(ticket, c);
    let body = c.text.as_deref().unwrap_or_default();
    let mut dto = serde_json::Map::new();
    dto.insert("_expands".into(), json!(["attachment", "renderedBody"]));
    dto.insert("id".into(), json!(id));
    dto.insert("body".into(), json!(body));
    if html {
        dto.insert("renderedBody".into(), json!({"html": rendered(body)}));
    }
    dto.insert("public".into(), json!(!c.internal));
    dto.insert("author".into(), author(base, c, people));
    dto.insert("created".into(), date_dto(c.created_at));
    dto.insert(
        "_links".into(),
        json!({"self": format!("{base}/rest/servicedeskapi/request/{}/comment/{id}", ticket.number)}),
    );
    Value::Object(dto)
}

fn people(found: &RequestComments) -> HashMap<Uuid, &Membership> {
    found.authors.iter().map(|m| (m.id(), m)).collect()
}

/// `{"body": "...", "public": true|false}` -> 201 with the comment. Both are required, as in JSM; the
/// body is 1..10,000 characters (the comments of every contract share it) and not blank.
async fn create(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Response> {
    let request = request_ref(&issue)?;
    let mut f = Fields::parse(&body)?;
    let text = f.required(
        "body",
        parsed(|v| {
            if v.trim().is_empty() {
                return Err(Refusal::new(Rule::NotEmpty, "must not be empty"));
            }
            TicketText::parse(v)
        }),
    );
    let public = f.required("public", |v| v.as_bool().ok_or_else(|| Refusal::new(Rule::Type, "must be a boolean")));
    let (text, public) = f.complete((|| Some((text?, public?)))())?;
    let done = s.app.add_request_comment(&who, request, text, public).await?;
    let people = people(&done);
    let comment = done.comments.first().ok_or_else(|| AppError::Internal("a comment without its activity".into()))?;
    let dto = comment_dto(base(&s), &done.ticket, comment, &people, false);
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

/// `public` and `internal` (both default true) pick the kinds; `start`/`limit` page; oldest first.
async fn list(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let request = request_ref(&issue)?;
    let mut q = QueryParams::parse(raw.as_deref());
    let paging = read_paging(&mut q);
    let kinds = CommentKinds { public: flag(&mut q, "public", true), internal: flag(&mut q, "internal", true) };
    let html = expands_rendered_body(&q);
    q.finish()?;
    let found = s.app.request_comments(&who, request, kinds, paging).await?;
    let base = base(&s);
    let people = people(&found);
    let values = found.comments.iter().map(|c| comment_dto(base, &found.ticket, c, &people, html)).collect();
    let here = format!("{base}/rest/servicedeskapi/request/{}/comment", issue.trim());
    let mut query_part = String::new();
    for (key, asked) in [("public", kinds.public), ("internal", kinds.internal)] {
        if !asked {
            query_part.push_str(&format!("&{key}=false"));
        }
    }
    if html {
        query_part.push_str("&expand=renderedBody");
    }
    Ok(Json(paged(base, &here, &query_part, paging, found.more, values)))
}

/// One comment; an unknown id, or an internal comment asked for by a customer, is 404.
async fn one(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathTexts(texts, ..): PathTexts<DeskError>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let [issue, comment] = texts.as_slice() else {
        return Err(AppError::Internal("the comment route has two path parameters".into()).into());
    };
    let request = request_ref(issue)?;
    let q = QueryParams::parse(raw.as_deref());
    let html = expands_rendered_body(&q);
    let found = s.app.request_comment(&who, request, |ticket| comment_number(comment, ticket)).await?;
    let people = people(&found);
    let c = found.comments.first().ok_or_else(|| AppError::Internal("a comment without its activity".into()))?;
    Ok(Json(comment_dto(base(&s), &found.ticket, c, &people, html)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_id_is_its_request_number_and_its_place_and_reads_back() {
        let ticket = Ticket {
            id: Uuid::nil(),
            workspace_id: Uuid::nil(),
            number: 12,
            location_id: Uuid::nil(),
            text: String::new(),
            kind: None,
            status: crate::domain::TicketStatus::New,
            requester: MemberRef::External(Uuid::nil()),
            assignee_id: None,
            version: 1,
            created_by: Uuid::nil(),
            created_at: crate::domain::Timestamp::from_micros(0),
            updated_at: crate::domain::Timestamp::from_micros(0),
            status_updated_at: crate::domain::Timestamp::from_micros(0),
        };
        assert_eq!(comment_number("120003", &ticket), Some(3));
        assert_eq!(comment_number(" 121000 ", &ticket), Some(1000));
        for other in ["120000", "130003", "3", "", "-120003", "12e4", "99999999999999999999"] {
            assert_eq!(comment_number(other, &ticket), None, "{other}");
        }
    }

    #[test]
    fn the_rendered_body_is_escaped_html_in_paragraphs() {
        assert_eq!(rendered("a <b> & c"), "<p>a &lt;b&gt; &amp; c</p>");
        assert_eq!(rendered("one\ntwo\n\nthree"), "<p>one<br/>\ntwo</p>\n<p>three</p>");
    }
}
