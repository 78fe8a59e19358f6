//! The workspace settings page at `/settings`: server-rendered HTML (maud), a stylesheet and a few
//! lines of progressive JavaScript, all compiled into the binary. Staff users sign in with e-mail and
//! password; admins manage API keys, channels, tiers, external user groups, staff and webhooks, agents see the
//! page read-only. Every rule is the use cases' (`App`), checked with the signed-in user's
//! `Principal::Staff`; this module only renders and reads forms. Not an API contract: its routes are not
//! in the OpenAPI document. See docs/web.md.

mod console;
mod layout;
mod session;
mod sign_in;
mod staff;
mod webhooks;
mod workspace;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use maud::Markup;

use crate::app::{AppError, Conflict, SignedIn};
use crate::domain::{FieldError, Refusal, Rule};
use crate::http::AppState;
use crate::http::status::conflict_field;

pub fn router() -> Router<AppState> {
    let router = Router::new()
        .route("/settings", get(home))
        .route("/settings/", get(home))
        .route("/settings/assets/app.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/settings/assets/app.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/settings/sign-in", get(sign_in::page).post(sign_in::submit))
        .route("/settings/sign-out", post(sign_in::sign_out))
        .route("/settings/invitation/{token}", get(sign_in::invitation).post(sign_in::accept_invitation))
        .route("/settings/api-keys", get(workspace::api_keys).post(workspace::create_api_key))
        .route("/settings/api-keys/{id}/revoke", get(workspace::confirm_revoke).post(workspace::revoke_api_key))
        .route("/settings/channels", get(workspace::channels).post(workspace::create_channel))
        .route("/settings/channels/{id}/rename", post(workspace::rename_channel))
        .route("/settings/tiers", get(workspace::tiers).post(workspace::create_tier))
        .route("/settings/groups", get(workspace::groups).post(workspace::create_group))
        .route("/settings/staff", get(staff::list).post(staff::invite))
        .route("/settings/staff/{id}/disable", get(staff::confirm_disable).post(staff::disable))
        .route("/settings/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/settings/webhooks/{id}", get(webhooks::deliveries))
        .route("/settings/webhooks/{id}/enable", post(webhooks::enable))
        .route("/settings/webhooks/{id}/disable", post(webhooks::disable))
        .route("/settings/webhooks/{id}/delete", get(webhooks::confirm_delete).post(webhooks::delete))
        .route("/settings/webhooks/{id}/deliveries/{delivery}/redeliver", post(webhooks::redeliver));
    console::routes(router).layer(axum::middleware::from_fn(security_headers))
}

/// Where signing in lands: admins set the workspace up, agents work in the console.
async fn home(ctx: Ctx) -> Response {
    see_other(if ctx.is_admin() { "/settings/api-keys" } else { console::PEOPLE })
}

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// Pages hold secrets shown once and CSRF tokens: never cached, never framed, never leaking their URL
/// (an invitation link carries its token) to another site through `Referer`; scripts and styles only from this server.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    res
}

fn html(status: StatusCode, markup: Markup) -> Response {
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

/// After a form is handled: the browser loads `to` with GET, so reloading does not post it again.
fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/settings"));
    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
}

/// A signed-in request: the staff user and the CSRF token its forms carry.
pub(crate) struct Ctx {
    pub who: SignedIn,
    pub csrf: String,
}

impl Ctx {
    fn is_admin(&self) -> bool {
        self.who.user.role == crate::domain::Role::Admin
    }
}

/// A page request's signed-in staff user; without a live session the answer is a redirect to the
/// sign-in page.
impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        signed_in(s, &parts.headers).await
    }
}

/// A form submission of a signed-in staff user (same origin, the session's CSRF token) and the form.
pub(crate) struct SignedInForm(pub Ctx, pub Form);

impl FromRequest<AppState> for SignedInForm {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, s).await.map_err(IntoResponse::into_response)?;
        let form = Form::parse(&body);
        let ctx = signed_in_form(s, &headers, &form).await?;
        Ok(SignedInForm(ctx, form))
    }
}

/// The signed-in staff user of a page request, or a redirect to the sign-in page.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Ctx, Response> {
    let Some(token) = session::cookie(headers, session::SESSION_COOKIE) else {
        return Err(see_other("/settings/sign-in"));
    };
    match state.app.web_session(token).await {
        Ok(Some(who)) => Ok(Ctx { who, csrf: session::csrf_token(token) }),
        Ok(None) => Err(see_other("/settings/sign-in")),
        Err(e) => Err(error_page(None, e)),
    }
}

/// A signed-in form submission: from a page of this server, with the CSRF token of the session.
async fn signed_in_form(state: &AppState, headers: &HeaderMap, form: &Form) -> Result<Ctx, Response> {
    if !session::same_origin(headers) {
        return Err(forbidden_form());
    }
    let ctx = signed_in(state, headers).await?;
    let token = session::cookie(headers, session::SESSION_COOKIE).unwrap_or_default();
    if !session::csrf_matches(token, form.get(session::CSRF_FIELD)) {
        return Err(forbidden_form());
    }
    Ok(ctx)
}

fn forbidden_form() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        None,
        "This form could not be accepted",
        "It was not sent from this settings page, or the page has expired. Go back, reload the page and try again.",
    )
}

/// A submitted `application/x-www-form-urlencoded` body.
#[derive(Debug, Default, Clone)]
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The field's value, or "" when it was not sent.
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// The field's value without surrounding spaces, or `None` when blank.
    fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty()).map(str::to_owned)
    }
}

/// A form shown again after a refused submission: what was typed and what was wrong with it.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    values: Form,
    errors: Vec<FieldError>,
}

impl Draft {
    fn refused(values: Form, errors: Vec<FieldError>) -> Self {
        Self { values, errors }
    }

    fn value(&self, name: &str) -> &str {
        self.values.get(name)
    }

    fn error(&self, name: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == name).map(|e| e.message.as_str())
    }

    fn is_refused(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// The field errors a use case's refusal shows on its form, or `None` when it is not about the input.
fn field_errors(e: &AppError) -> Option<Vec<FieldError>> {
    match e {
        AppError::Invalid(errors) => Some(errors.clone()),
        AppError::Conflict(c) => {
            let rule = if matches!(c, Conflict::Taken(_)) { Rule::Taken } else { Rule::Combination };
            Some(vec![FieldError::new(conflict_field(*c), Refusal::new(rule, c.message()))])
        }
        _ => None,
    }
}

/// A full page telling what went wrong, inside the signed-in layout when there is a session.
fn error_page(ctx: Option<&Ctx>, e: AppError) -> Response {
    let (status, title, text) = match &e {
        AppError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", (*why).to_owned()),
        AppError::NotFound(_) => {
            (StatusCode::NOT_FOUND, "Not found", "It may have been removed, or the link is wrong.".to_owned())
        }
        AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "Please sign in", "Your session has ended.".to_owned()),
        AppError::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The database cannot be reached right now. Try again in a moment.".to_owned(),
        ),
        AppError::Invalid(_) | AppError::Conflict(_) | AppError::Idempotency(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "Could not save", e.to_string())
        }
        AppError::Internal(detail) => {
            tracing::error!(%detail, "settings page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The error was logged on the server.".to_owned(),
            )
        }
    };
    message_page(status, ctx, title, &text)
}

fn message_page(status: StatusCode, ctx: Option<&Ctx>, title: &str, text: &str) -> Response {
    let body = maud::html! {
        div.card role="alert" {
            h1 { (title) }
            p.lead { (text) }
            a.button.secondary href="/settings" { "Back to settings" }
        }
    };
    html(
        status,
        match ctx {
            Some(ctx) => layout::page(title, ctx, None, body),
            None => layout::bare(title, body),
        },
    )
}
