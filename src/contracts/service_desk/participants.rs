//! Request participants: `GET`, `POST` and `DELETE /rest/servicedeskapi/request/{issueIdOrKey}/participant`.
//! A request is a ticket; its participants are seed 000's ticket external users, shown as customers.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use uuid::Uuid;

use super::customers::{base, paged_users, parse_account_id, principal, read_paging};
use super::error::{DeskError, DeskResult, not_allowed};
use crate::app::{AccountList, AppError, Principal};
use crate::app::{Entity, Page, Paging, RequestRef};
use crate::domain::{ExternalUser, parse_uuid};
use crate::http::AppState;
use crate::http::body::{Fields, QueryParams};
use crate::http::extract::RawBody;

/// The project key of `FD-<number>` request keys (JSM's `issueKey`).
pub const KEY_PREFIX: &str = "FD-";

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
    let digits = match raw.get(..KEY_PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(KEY_PREFIX) => &raw[KEY_PREFIX.len()..],
        _ => raw,
    };
    number(digits).map(RequestRef::Number).ok_or(AppError::NotFound(Entity::Ticket))
}

fn paging(raw: Option<&str>) -> Result<Paging, AppError> {
    let mut q = QueryParams::parse(raw);
    let paging = read_paging(&mut q);
    q.finish()?;
    Ok(paging)
}

/// `{"accountIds": [...]}`, or the legacy `{"usernames": [...]}` (JSM Cloud's usernames are account ids
/// too). Every entry that is no string or no account id of `who`'s workspace is reported by its index.
pub(super) fn accounts(who: &Principal, body: &bytes::Bytes) -> Result<AccountList<'static>, AppError> {
    let mut f = Fields::parse(body)?;
    // Clients such as atlassian-python-api send both keys, the unused one as an empty list: that one
    // names nobody and is left out. Two non-empty lists are refused rather than guessed between.
    let mut listed = |key: &str| f.optional(key, |v| Ok(v.as_array().is_none_or(|a| !a.is_empty()))).unwrap_or(false);
    let (by_account, by_username) = (listed("accountIds"), listed("usernames"));
    let field = if (by_username && !by_account) || (!f.has("accountIds") && f.has("usernames")) {
        "usernames"
    } else {
        "accountIds"
    };
    if by_account && by_username {
        f.reject("usernames", "cannot be given together with accountIds");
    }
    let workspace = who.workspace_id();
    let mut entries_wrong = Vec::new();
    let users = f.required(field, |v| {
        let items = v.as_array().ok_or("must be an array of account ids")?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, item)| match item.as_str() {
                Some(s) => parse_account_id(s.trim(), workspace),
                None => {
                    entries_wrong.push(i);
                    None
                }
            })
            .collect::<Vec<Option<Uuid>>>())
    });
    for i in entries_wrong {
        f.reject(&format!("{field}[{i}]"), "must be a string");
    }
    let users = f.complete(users)?;
    Ok(AccountList { field, users })
}

fn answer(s: &AppState, issue: &str, paging: Paging, page: &Page<ExternalUser>) -> Json<Value> {
    let base = base(s);
    let here = format!("{base}/rest/servicedeskapi/request/{issue}/participant");
    Json(paged_users(base, &here, "", paging, page))
}

async fn list(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(issue): Path<String>,
    RawQuery(raw): RawQuery,
) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let page = s.app.list_request_participants(&who, request, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

/// 200 with the request's participants afterwards (JSM answers with the page, not 204).
async fn add(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(issue): Path<String>,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let accounts = accounts(&who, &body)?;
    let page = s.app.add_request_participants(&who, request, &accounts, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

/// 200 with the participants that remain.
async fn remove(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(issue): Path<String>,
    RawQuery(raw): RawQuery,
    RawBody(body, ..): RawBody<DeskError>,
) -> DeskResult<Json<Value>> {
    let who = principal(&s, &headers).await?;
    let request = request_ref(&issue)?;
    let paging = paging(raw.as_deref())?;
    let accounts = accounts(&who, &body)?;
    let page = s.app.remove_request_participants(&who, request, &accounts, paging).await?;
    Ok(answer(&s, issue.trim(), paging, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

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
