//! `/api/v1/suser`: create (invite), get one, delete, search, and accept an invitation.

use std::marker::PhantomData;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::{Failure, Format, UsersError, UsersResult};
use super::xml::{self, Out};
use crate::app::{AppError, Principal, StaffInvite, StaffMember};
use crate::app::{Paging, StaffFilter, StaffKey};
use crate::domain::{
    EmailAddress, FieldError, Password, Refusal, Role, Rule, StaffStatus, StaffUser, WebsiteRole, parse_person_name,
    parse_staff_external_id, parse_uuid, parse_website_role, website_role,
};
use crate::http::AppState;
use crate::http::body::{Fields, holds_nul_refusal};
use crate::http::extract::{authorization, read_limited_to};

const USER_RESPONSE: &str = "UserResponse";
const SEARCH_RESPONSE: &str = "UserSearchResponse";
/// Seed 003's element names for a user; the forms platform also writes it `SUser`.
const USER_ROOTS: &[&str] = &["User", "SUser"];
/// Every key a user body may carry, as the seed spells it; keys are matched without regard to case.
const USER_KEYS: &[&str] = &[
    "Id",
    "CompanyId",
    "ProviderId",
    "Email",
    "ExternalId",
    "FirstName",
    "LastName",
    "Password",
    "Status",
    "WebsiteRole",
    "Groups",
    "Folders",
    "IntegrationKey",
    "Token",
];
const MAX_PAGE_SIZE: i64 = 250;
/// A user body is a few hundred bytes; this leaves room for long group and folder lists while keeping
/// a body that is read before its credential is known (the key may sit inside it) small.
pub const MAX_USER_BODY_BYTES: usize = 64 * 1024;
const DEFAULT_PAGE_SIZE: i64 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/suser",
            get(get_one)
                .post(create)
                .delete(remove)
                .fallback(|h: HeaderMap, q: RawQuery| not_allowed(h, q, USER_RESPONSE)),
        )
        .route(
            "/api/v1/suser/search",
            get(search).fallback(|h: HeaderMap, q: RawQuery| not_allowed(h, q, SEARCH_RESPONSE)),
        )
        .route(
            "/api/v1/suser/invitation",
            post(accept).fallback(|h: HeaderMap, q: RawQuery| not_allowed(h, q, USER_RESPONSE)),
        )
}

/// Query parameters, looked up without regard to case as ServiceStack does.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        Query(form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).into_owned().collect())
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }
}

/// One request's format and response root, so every failure renders the same way.
struct Ctx {
    format: Format,
    /// Whether the request named the response format (else the body's sniffed format is used).
    asked: bool,
    root: &'static str,
}

impl Ctx {
    fn new(headers: &HeaderMap, q: &Query, root: &'static str) -> Self {
        let asked = Format::asked_for(headers, q.get("format"));
        Ctx { format: asked.unwrap_or(Format::Xml), asked: asked.is_some(), root }
    }

    /// Answers in the body's format when the request named none (a sniffed `curl -d` body).
    fn answer_like(&mut self, body: Format) {
        if !self.asked {
            self.format = body;
        }
    }

    fn fail(&self, e: impl Into<FailureOf>) -> UsersError {
        UsersError { format: self.format, root: self.root, failure: e.into().0 }
    }

    fn ok(&self, body: Out) -> Response {
        self.format.respond(StatusCode::OK, self.root, &body)
    }
}

struct FailureOf(Failure);
impl From<AppError> for FailureOf {
    fn from(e: AppError) -> Self {
        FailureOf(Failure::App(e))
    }
}
impl From<Failure> for FailureOf {
    fn from(f: Failure) -> Self {
        FailureOf(f)
    }
}

/// Names the response DTO an operation answers with, failures included.
trait Root {
    const NAME: &'static str;
}
struct UserRoot;
impl Root for UserRoot {
    const NAME: &'static str = USER_RESPONSE;
}
struct SearchRoot;
impl Root for SearchRoot {
    const NAME: &'static str = SEARCH_RESPONSE;
}

/// A call made with an API key in `authorization` or the `IntegrationKey` query parameter, with its
/// query and the format and response DTO (`R`) its failures render in.
struct Keyed<R> {
    who: Principal,
    q: Query,
    ctx: Ctx,
    root: PhantomData<R>,
}

impl<R: Root> FromRequestParts<AppState> for Keyed<R> {
    type Rejection = UsersError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, UsersError> {
        let q = Query::parse(parts.uri.query());
        let ctx = Ctx::new(&parts.headers, &q, R::NAME);
        let who = principal(s, &parts.headers, &q, None).await.map_err(|e| ctx.fail(e))?;
        if let Some((key, _)) = q.0.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(ctx.fail(AppError::invalid(key.replace('\0', "\\u0000"), holds_nul_refusal())));
        }
        Ok(Keyed { who, q, ctx, root: PhantomData })
    }
}

async fn not_allowed(headers: HeaderMap, RawQuery(raw): RawQuery, root: &'static str) -> UsersError {
    Ctx::new(&headers, &Query::parse(raw.as_deref()), root).fail(Failure::MethodNotAllowed)
}

/// The API key from the `authorization` header, else the seed's `IntegrationKey` (query, then body).
/// `ProviderId` and `CompanyId` are not needed: the key names the workspace.
async fn principal(
    s: &AppState,
    headers: &HeaderMap,
    q: &Query,
    body_key: Option<&str>,
) -> Result<Principal, AppError> {
    let header = authorization(headers).filter(|h| !h.trim().is_empty());
    s.app.api_key_principal(header.or(q.get("IntegrationKey")).or(body_key)).await
}

/// Reads a JSON or XML user body into an object keyed by the seed's names; also says which format it
/// was in.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<(Format, Map<String, Value>), FailureOf> {
    let bytes = read_limited_to(body, MAX_USER_BODY_BYTES).await?;
    let format = Format::of_request(headers, &bytes).ok_or(Failure::UnsupportedMediaType)?;
    let object = match format {
        Format::Xml => xml::parse(&bytes, USER_ROOTS)?.1,
        Format::Json => match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(o)) => unwrap_user(o),
            Ok(_) => return Err(AppError::invalid("body", Refusal::new(Rule::Type, "must be a JSON object")).into()),
            Err(e) => {
                let refusal = Refusal::new(Rule::Format, format!("is not valid JSON: {e}"));
                return Err(AppError::invalid("body", refusal).into());
            }
        },
    };
    let mut canonical = Map::new();
    for (k, v) in object {
        if let Some(name) = USER_KEYS.iter().find(|n| n.eq_ignore_ascii_case(&k)) {
            canonical.insert((*name).to_owned(), v);
        }
    }
    Ok((format, canonical))
}

/// `{"User": {...}}` as well as the bare user, also beside other keys (the request DTO's
/// `{"ProviderId": 0, "IntegrationKey": "…", "User": {...}}`): the user's own keys win, the others
/// (`IntegrationKey`) are taken from the top level.
fn unwrap_user(mut o: Map<String, Value>) -> Map<String, Value> {
    let key = o.iter().find(|(k, v)| USER_ROOTS.iter().any(|r| r.eq_ignore_ascii_case(k)) && v.is_object());
    let Some(key) = key.map(|(k, _)| k.clone()) else { return o };
    let Some(Value::Object(mut inner)) = o.remove(&key) else { return o };
    for (k, v) in o {
        if !inner.keys().any(|i| i.eq_ignore_ascii_case(&k)) {
            inner.insert(k, v);
        }
    }
    inner
}

/// A GUID query parameter: any GUID, with or without dashes (ServiceStack reads them so), not only
/// seed 000's version 1-8 pattern.
fn guid(raw: &str) -> Option<Uuid> {
    Uuid::try_parse(raw.trim()).ok()
}

/// A text value; `null` and empty text (an empty XML element) count as absent.
fn text(o: &Map<String, Value>, key: &str, f: &mut Fields) -> Option<String> {
    match o.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.contains('\0') => {
            f.reject(key, holds_nul_refusal());
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            f.reject(key, Refusal::new(Rule::Type, "must be a string"));
            None
        }
    }
}

/// `Groups`/`Folders`: a list of `{Id}` objects or of GUID strings. The nil GUID is ServiceStack's
/// default value, not a reference, and is skipped (the seed's own example sends it).
fn id_list(o: &Map<String, Value>, key: &str, f: &mut Fields) -> Vec<Uuid> {
    let items = match o.get(key) {
        None | Some(Value::Null) => return vec![],
        Some(Value::String(s)) if s.trim().is_empty() => return vec![],
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    };
    let mut ids = Vec::new();
    for item in items {
        let raw = match &item {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Id"))
                .and_then(|(_, v)| v.as_str().map(|s| s.trim().to_owned())),
            _ => None,
        };
        match raw.as_deref().and_then(parse_uuid) {
            Some(id) if id.is_nil() => {}
            Some(id) => ids.push(id),
            None => {
                let message = "must be a list of GUIDs (each as {\"Id\": GUID} or <Id>GUID</Id>)";
                f.reject(key, Refusal::new(Rule::Format, message));
                return vec![];
            }
        }
    }
    ids
}

fn read_invite(o: &Map<String, Value>) -> Result<StaffInvite, AppError> {
    let mut f = Fields::from_object(Map::new());
    let email = match text(o, "Email", &mut f) {
        None => {
            f.reject("Email", Refusal::required());
            None
        }
        Some(e) => EmailAddress::parse(e.trim()).map_err(|m| f.reject("Email", m)).ok(),
    };
    let checked = |key: &str, f: &mut Fields, parse: fn(&str) -> Result<String, Refusal>| {
        text(o, key, f).and_then(|v| parse(&v).map_err(|m| f.reject(key, m)).ok())
    };
    let first_name = checked("FirstName", &mut f, parse_person_name);
    let last_name = checked("LastName", &mut f, parse_person_name);
    let external_id = checked("ExternalId", &mut f, parse_staff_external_id);
    let role = match text(o, "WebsiteRole", &mut f) {
        None => Some(WebsiteRole { role: Role::Agent, named_user: false }),
        Some(r) => parse_website_role(&r).map_err(|m| f.reject("WebsiteRole", m)).ok(),
    };
    let password = match text(o, "Password", &mut f) {
        None => Some(None),
        Some(p) => Password::parse(&p).map(Some).map_err(|m| f.reject("Password", m)).ok(),
    };
    let group_ids = id_list(o, "Groups", &mut f);
    let folder_ids = id_list(o, "Folders", &mut f);
    let invite = (|| {
        Some(StaffInvite {
            email: email?,
            first_name,
            last_name,
            external_id,
            role: role?.role,
            role_named_user: role?.named_user,
            password: password?,
            group_ids,
            folder_ids,
        })
    })();
    f.complete(invite)
}

/// A success carries no `ResponseStatus`: ServiceStack leaves it null and omits nulls, and its clients
/// take a present `ResponseStatus` for an error.
fn response_ok() -> Out {
    Out::Text(None)
}

fn id_objects(ids: &[Uuid]) -> Out {
    Out::List(None, ids.iter().map(|id| Out::Object(vec![("Id", Out::text(id.to_string()))])).collect())
}

fn user_out(u: &StaffUser, memberships: Option<(&[Uuid], &[Uuid])>) -> Out {
    let mut fields = vec![
        ("Id", Out::text(u.id.to_string())),
        ("Email", Out::text(u.email.clone())),
        ("ExternalId", Out::Text(u.external_id.clone())),
        ("FirstName", Out::Text(u.first_name.clone())),
        ("LastName", Out::Text(u.last_name.clone())),
        ("Status", Out::text(u.status.title())),
        ("WebsiteRole", Out::text(website_role(u.role, u.role_named_user))),
        ("CreatedDate", Out::text(u.created_at.to_rfc3339_seconds())),
        ("UpdatedDate", Out::text(u.updated_at.to_rfc3339_seconds())),
    ];
    if let Some((groups, folders)) = memberships {
        fields.push(("Groups", id_objects(groups)));
        fields.push(("Folders", id_objects(folders)));
    }
    Out::Object(fields)
}

fn user_response(user: Out) -> Out {
    Out::Object(vec![("User", user), ("ResponseStatus", response_ok())])
}

async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> UsersResult<Response> {
    let q = Query::parse(raw.as_deref());
    let mut ctx = Ctx::new(&headers, &q, USER_RESPONSE);
    let read = read_body(&headers, body).await;
    if let Ok((format, _)) = &read {
        ctx.answer_like(*format);
    }
    // Who asks, and whether they may, before what the body says: an agent key gets 403 for any body.
    let body_key = read.as_ref().ok().and_then(|(_, o)| o.get("IntegrationKey")).and_then(Value::as_str);
    let who = principal(&s, &headers, &q, body_key).await.map_err(|e| ctx.fail(e))?;
    who.require(Role::Admin).map_err(|e| ctx.fail(e))?;
    let (_, o) = read.map_err(|e| ctx.fail(e))?;
    let invite = read_invite(&o).map_err(|e| ctx.fail(e))?;
    let created = s.app.invite_staff_user(&who, invite).await.map_err(|e| ctx.fail(e))?;
    let user = Out::Object(vec![
        ("Id", Out::text(created.user.id.to_string())),
        ("Status", Out::text(created.user.status.title())),
    ]);
    Ok(ctx.ok(user_response(user)))
}

/// Which of `Id`, `Email`, `ExternalId` names the user (the first given, in that order).
fn user_key(q: &Query) -> Result<StaffKey<'_>, AppError> {
    if let Some(id) = q.get("Id") {
        return guid(id)
            .map(StaffKey::Id)
            .ok_or_else(|| AppError::invalid("Id", Refusal::new(Rule::Format, "must be a valid GUID")));
    }
    if let Some(email) = q.get("Email") {
        return Ok(StaffKey::Email(email));
    }
    if let Some(external_id) = q.get("ExternalId") {
        return Ok(StaffKey::ExternalId(external_id));
    }
    Err(AppError::Invalid(vec![FieldError::new(
        "Id",
        Refusal::new(Rule::Required, "is required (or give Email or ExternalId)"),
    )]))
}

async fn get_one(State(s): State<AppState>, Keyed { who, q, ctx, .. }: Keyed<UserRoot>) -> UsersResult<Response> {
    let key = user_key(&q).map_err(|e| ctx.fail(e))?;
    let StaffMember { user, group_ids, folder_ids } =
        s.app.find_staff_member(&who, key).await.map_err(|e| ctx.fail(e))?;
    Ok(ctx.ok(user_response(user_out(&user, Some((&group_ids, &folder_ids))))))
}

async fn remove(State(s): State<AppState>, Keyed { who, q, ctx, .. }: Keyed<UserRoot>) -> UsersResult<Response> {
    let id = match q.get("Id") {
        Some(id) => guid(id).ok_or_else(|| AppError::invalid("Id", Refusal::new(Rule::Format, "must be a valid GUID"))),
        None => Err(AppError::invalid("Id", Refusal::required())),
    }
    .map_err(|e| ctx.fail(e))?;
    s.app.delete_staff_user(&who, id).await.map_err(|e| ctx.fail(e))?;
    Ok(ctx.ok(user_response(Out::Object(vec![("Id", Out::text(id.to_string()))]))))
}

fn read_page_param(q: &Query, key: &str, min: i64, max: i64, default: i64, errors: &mut Vec<FieldError>) -> i64 {
    match q.get(key).map(str::parse::<i64>) {
        None => default,
        Some(Ok(n)) if (min..=max).contains(&n) => n,
        Some(_) => {
            let message = format!("must be an integer from {min} to {max}");
            errors.push(FieldError::new(key, Refusal::new(Rule::Range, message)));
            default
        }
    }
}

async fn search(State(s): State<AppState>, Keyed { who, q, ctx, .. }: Keyed<SearchRoot>) -> UsersResult<Response> {
    let mut errors = Vec::new();
    // `PageNo` is 0-based and `PageSize` at most 250, as the forms platform documents.
    let page_no = read_page_param(&q, "PageNo", 0, 1_000_000_000, 0, &mut errors);
    let page_size = read_page_param(&q, "PageSize", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE, &mut errors);
    let status = match q.get("Status") {
        None => None,
        Some(raw) => match StaffStatus::parse(raw) {
            Some(st) => Some(st),
            None => {
                let message = "must be one of Invited, Active, Disabled";
                errors.push(FieldError::new("Status", Refusal::new(Rule::Format, message)));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ctx.fail(AppError::Invalid(errors)));
    }
    let filter = StaffFilter {
        name: q.get("Name").map(str::to_owned),
        email: q.get("Email").map(str::to_owned),
        external_id: q.get("ExternalId").map(str::to_owned),
        status,
    };
    let paging = Paging { offset: page_no * page_size, limit: page_size };
    let page = s.app.search_staff_users(&who, &filter, paging).await.map_err(|e| ctx.fail(e))?;
    let users = page.items.iter().map(|u| user_out(u, None)).collect();
    Ok(ctx.ok(Out::Object(vec![
        ("Users", Out::List(Some("User"), users)),
        ("TotalRows", Out::Number(page.total)),
        ("PageNo", Out::Number(page_no)),
        ("PageSize", Out::Number(page_size)),
        ("ResponseStatus", response_ok()),
    ])))
}

/// Accepting an invitation: `{Token, Password}`. The token is the credential; no API key is needed.
async fn accept(
    State(s): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Body,
) -> UsersResult<Response> {
    let q = Query::parse(raw.as_deref());
    let mut ctx = Ctx::new(&headers, &q, USER_RESPONSE);
    let (format, o) = read_body(&headers, body).await.map_err(|e| ctx.fail(e))?;
    ctx.answer_like(format);
    let mut f = Fields::from_object(Map::new());
    let token = text(&o, "Token", &mut f);
    if token.is_none() {
        f.reject("Token", Refusal::required());
    }
    let password = match text(&o, "Password", &mut f) {
        None => None,
        Some(p) => Password::parse(&p).map_err(|m| f.reject("Password", m)).ok(),
    };
    let token = f.complete(token).map_err(|e| ctx.fail(e))?;
    let user = s.app.accept_invitation(&token, password).await.map_err(|e| ctx.fail(e))?;
    let user = Out::Object(vec![("Id", Out::text(user.id.to_string())), ("Status", Out::text(user.status.title()))]);
    Ok(ctx.ok(user_response(user)))
}
