//! Customers as JSM shows them: account ids, the user DTO, paged lists of users and the account lists
//! request bodies carry. Shared by the customer and request participant routes.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{AccountList, AppError, Page, Paging, Principal};
use crate::domain::{EmailAddress, ExternalUser, Refusal, Rule};
use crate::http::body::Fields;

/// Customers carry no time zone of their own until one is set; the server speaks UTC.
const DEFAULT_TIME_ZONE: &str = "UTC";

/// JSM's `accountId`: `qm:<workspace id>:<external user id as 32 hex digits>`.
pub fn account_id(u: &ExternalUser) -> String {
    format!("qm:{}:{}", u.workspace_id, u.id.simple())
}

/// The external user id inside an account id of `workspace_id`; `None` for anything else.
pub fn parse_account_id(raw: &str, workspace_id: Uuid) -> Option<Uuid> {
    let rest = raw.strip_prefix("qm:")?;
    let (ws, id) = rest.split_once(':')?;
    if Uuid::parse_str(ws).ok()? != workspace_id || id.len() != 32 {
        return None;
    }
    Uuid::try_parse(id).ok()
}

/// JSM's `avatarUrls` of an account, served by this server.
pub(super) fn avatar_urls(base: &str, account: &str) -> Value {
    let avatar = |size: u32| format!("{base}/rest/servicedeskapi/customer/{account}/avatar?s={size}");
    json!({"16x16": avatar(16), "24x24": avatar(24), "32x32": avatar(32), "48x48": avatar(48)})
}

/// The identifier when it is an address: always on the e-mail channel (`check_identifier`); a person
/// of another channel (a phone number, a username) who comments on a request has none to show.
fn email_of(u: &ExternalUser) -> &str {
    u.identifier.as_deref().filter(|i| EmailAddress::parse(i).is_ok()).unwrap_or_default()
}

pub(super) fn user_dto(base: &str, u: &ExternalUser) -> Value {
    let account = account_id(u);
    let rest = format!("{base}/rest/api/2/user?username={account}");
    json!({
        "accountId": account,
        "name": account,
        "key": account,
        "emailAddress": email_of(u),
        "displayName": u.display_name(),
        "active": !u.blocked,
        "timeZone": u.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE),
        "_links": {
            "jiraRest": rest,
            "avatarUrls": avatar_urls(base, &account),
            "self": rest,
        }
    })
}

/// Jira's own user resource (`GET /rest/api/2/user`), where a JSM user's `self` and `jiraRest` links
/// lead: Jira Cloud's `User` with Server's `key` and `name`, the customer's account type and no groups
/// or application roles (customers hold neither).
pub(super) fn jira_user(base: &str, u: &ExternalUser) -> Value {
    let account = account_id(u);
    let avatar = |size: u32| format!("{base}/rest/servicedeskapi/customer/{account}/avatar?s={size}");
    json!({
        "self": format!("{base}/rest/api/2/user?username={account}"),
        "key": account,
        "accountId": account,
        "accountType": "customer",
        "name": account,
        "emailAddress": email_of(u),
        "avatarUrls": {"48x48": avatar(48), "24x24": avatar(24), "16x16": avatar(16), "32x32": avatar(32)},
        "displayName": u.display_name(),
        "active": !u.blocked,
        "timeZone": u.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE),
        "locale": "en_US",
        "groups": {"size": 0, "items": []},
        "applicationRoles": {"size": 0, "items": []},
        "expand": "groups,applicationRoles",
    })
}

/// A JSM page of users (see [`super::paged`]).
pub(super) fn paged_users(
    base: &str,
    here: &str,
    query_part: &str,
    paging: Paging,
    page: &Page<ExternalUser>,
) -> Value {
    let values: Vec<Value> = page.items.iter().map(|u| user_dto(base, u)).collect();
    super::paged(base, here, query_part, paging, page.more, values)
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
        f.reject("usernames", Refusal::new(Rule::Combination, "cannot be given together with accountIds"));
    }
    let workspace = who.workspace_id();
    let mut entries_wrong = Vec::new();
    let users = f.required(field, |v| {
        let items = v.as_array().ok_or_else(|| Refusal::new(Rule::Type, "must be an array of account ids"))?;
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
        f.reject(&format!("{field}[{i}]"), Refusal::new(Rule::Type, "must be a string"));
    }
    let users = f.complete(users)?;
    Ok(AccountList { field, users })
}
