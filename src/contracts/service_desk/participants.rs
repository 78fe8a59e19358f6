//! Request participants: `GET`, `POST` and `DELETE /rest/servicedeskapi/request/{issueIdOrKey}/participant`.
//! A request is a ticket; its participants are seed 000's ticket external users, shown as customers.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::accounts::{accounts, paged_users};
use super::auth::DeskPrincipal;
use super::error::{DeskError, DeskResult, not_allowed};
use super::{PROJECT_KEY, base, read_paging};
use crate::app::{AppError, Entity, Page, Paging, RequestRef};
use crate::domain::{ExternalUser, parse_uuid};
use crate::http::AppState;
use crate::http::body::QueryParams;
use crate::http::extract::{PathText, RawBody};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/rest/servicedeskapi/request/{issue_id_or_key}/participant",
        get(list).post(add).delete(remove).fallback(not_allowed),
    )
}

/// `issueIdOrKey`: the ticket's id (a UUID), its number (JSM's numeric issue id) or `FD-<number>`
/// (JSM's issue key, any letter case). Anything else names no request.
fn request_ref(raw: &str) -> Result<RequestRef, AppError> {
    let raw = raw.trim();
    let number = |digits: &str| {
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse::<i64>().ok()).flatten()
    };
    if let Some(id) = parse_uuid(raw) {
        return Ok(RequestRef::Id(id));
    }
    let key_prefix = raw.get(..PROJECT_KEY.len()).filter(|key| key.eq_ignore_ascii_case(PROJECT_KEY));
    let digits = match key_prefix.and_then(|_| raw[PROJECT_KEY.len()..].strip_prefix('-')) {
        Some(digits) => digits,
        None => raw,
    };
    number(digits).map(RequestRef::Number).ok_or(AppError::NotFound(Entity::Ticket))
}

fn paging(raw: Option<&str>) -> Result<Paging, AppError> {
    let mut q = QueryParams::parse(raw);
    let paging = read_paging(&mut q);
    q.finish()?;
    Ok(paging)
}

fn answer(s: &AppState, issue: &str, paging: Paging, page: &Page<ExternalUser>) -> Json<Value> {
    let base = base(s);
    let here = format!("{base}/rest/servicedeskapi/request/{issue}/participant");
    Json(paged_users(base, &here, "", paging, page))
}

async fn list(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let page = s.app.list_request_participants(&who, request, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

/// 200 with the request's participants afterwards (JSM answers with the page, not 204).
async fn add(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Json<Value>> {
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let accounts = accounts(&who, &body)?;
    let page = s.app.add_request_participants(&who, request, &accounts, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

/// 200 with the participants that remain.
async fn remove(
    State(s): State<AppState>,
    DeskPrincipal(who): DeskPrincipal,
    PathText(issue, ..): PathText<DeskError>,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Json<Value>> {
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let accounts = accounts(&who, &body)?;
    let page = s.app.remove_request_participants(&who, request, &accounts, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn requests_are_named_by_id_number_or_key() {
        let id = Uuid::new_v4();
        assert_eq!(request_ref(&id.to_string()).ok(), Some(RequestRef::Id(id)));
        assert_eq!(request_ref("42").ok(), Some(RequestRef::Number(42)));
        assert_eq!(request_ref("FD-42").ok(), Some(RequestRef::Number(42)));
        assert_eq!(request_ref("fd-7").ok(), Some(RequestRef::Number(7)));
        for bad in ["", "FD-", "XY-1", "-1", "1.5", "99999999999999999999", "FD-1a"] {
            assert!(matches!(request_ref(bad), Err(AppError::NotFound(Entity::Ticket))), "{bad}");
        }
    }
}
