//! Signing in and out, and accepting an invitation (which sets the password and signs the new member in).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{self, Field, csrf_input};
use super::session::{self, CSRF_FIELD, PRESESSION_COOKIE, SESSION_COOKIE};
use super::{Draft, Form, error_page, forbidden_form, html, see_other};
use crate::app::{AppError, MAX_FAILED_SIGN_INS, SIGN_IN_WINDOW_SECONDS, SignIn};
use crate::domain::{FieldError, Password, Refusal, Rule};
use crate::http::AppState;

/// The pre-session secret of a page shown before sign-in: the browser's, or a new one to set.
fn presession(headers: &HeaderMap) -> (String, Option<String>) {
    match session::cookie(headers, PRESESSION_COOKIE) {
        Some(existing) => (existing.to_owned(), None),
        None => {
            let fresh = crate::app::Secret::generate("fdp").plain;
            (fresh.clone(), Some(fresh))
        }
    }
}

/// Adds `Set-Cookie` headers to a response.
fn with_cookies(mut res: Response, cookies: impl IntoIterator<Item = String>) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// A form shown before sign-in: from a page of this server, with the pre-session's CSRF token.
fn anonymous_form_ok(headers: &HeaderMap, form: &Form) -> bool {
    session::same_origin(headers)
        && session::cookie(headers, PRESESSION_COOKIE)
            .is_some_and(|secret| session::csrf_matches(secret, form.get(CSRF_FIELD)))
}

#[derive(Deserialize)]
pub struct SignInQuery {
    done: Option<String>,
}

pub async fn page(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<SignInQuery>) -> Response {
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = s.app.web_session(token).await
    {
        return see_other("/settings");
    }
    let notice = match q.done.as_deref() {
        Some("signed-out") => Some("You are signed out."),
        _ => None,
    };
    render_sign_in(&s, &headers, StatusCode::OK, &Draft::default(), notice, None)
}

fn render_sign_in(
    s: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    draft: &Draft,
    notice: Option<&str>,
    problem: Option<&str>,
) -> Response {
    let (secret, new_cookie) = presession(headers);
    let body = html! {
        h1 { "Sign in" }
        p.lead { "Workspace settings for your team's admins and agents." }
        (layout::notice(notice))
        @if let Some(problem) = problem { div.alert.error role="alert" #sign-in-error { (problem) } }
        form.stack method="post" action="/settings/sign-in" {
            (csrf_input(&session::csrf_token(&secret)))
            (Field::text("email", "E-mail").kind("email", "username").render("sign-in", draft))
            (Field::text("password", "Password").kind("password", "current-password").render("sign-in", draft))
            button.button type="submit" { "Sign in" }
        }
        p.hint { "New to the team? Open the invitation link an admin sent you to choose your password." }
    };
    let secure = session::is_https(&s.public_base_url);
    let cookies = new_cookie.map(|c| session::set_cookie(PRESESSION_COOKIE, &c, None, secure));
    with_cookies(html(status, layout::bare("Sign in", body)), cookies)
}

pub async fn submit(
    State(s): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if !anonymous_form_ok(&headers, &form) {
        return forbidden_form();
    }
    let email = form.get("email").trim().to_owned();
    let mut draft = Draft::refused(form.clone(), Vec::new());
    let client = peer.map(|axum::Extension(axum::extract::ConnectInfo(addr))| addr.ip());
    match s.app.sign_in_web(&email, form.get("password"), client).await {
        Ok(SignIn::SignedIn(session)) => {
            let secure = session::is_https(&s.public_base_url);
            with_cookies(see_other("/settings"), [session::session_cookie(&session.token, secure)])
        }
        Ok(SignIn::WrongCredentials) => {
            draft.errors.push(FieldError::new("password", Refusal::new(Rule::NotFound, "or e-mail is not right")));
            let problem = "The e-mail or password is not right. Check both and try again.";
            render_sign_in(&s, &headers, StatusCode::UNAUTHORIZED, &draft, None, Some(problem))
        }
        Ok(SignIn::Throttled) => {
            let problem = format!(
                "Too many failed attempts for this address ({MAX_FAILED_SIGN_INS} in {} minutes). \
                 Wait a few minutes and try again.",
                SIGN_IN_WINDOW_SECONDS / 60
            );
            let mut res = render_sign_in(&s, &headers, StatusCode::TOO_MANY_REQUESTS, &draft, None, Some(&problem));
            res.headers_mut().insert("retry-after", HeaderValue::from(SIGN_IN_WINDOW_SECONDS));
            res
        }
        Err(AppError::Unavailable) => {
            let problem = "The server is busy or cannot reach its database right now. Try again in a moment.";
            let mut res = render_sign_in(&s, &headers, StatusCode::SERVICE_UNAVAILABLE, &draft, None, Some(problem));
            res.headers_mut().insert("retry-after", HeaderValue::from(1));
            res
        }
        Err(e) => error_page(None, e),
    }
}

pub async fn sign_out(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let secure = session::is_https(&s.public_base_url);
    let Some(token) = session::cookie(&headers, SESSION_COOKIE) else {
        return see_other("/settings/sign-in");
    };
    if !session::same_origin(&headers) || !session::csrf_matches(token, form.get(CSRF_FIELD)) {
        return forbidden_form();
    }
    if let Err(e) = s.app.end_web_session(token).await {
        return error_page(None, e);
    }
    with_cookies(see_other("/settings/sign-in?done=signed-out"), [session::clear_cookie(SESSION_COOKIE, secure)])
}

fn invalid_invitation() -> Response {
    let body = html! {
        h1 { "This invitation can't be used" }
        p.lead { "The link is wrong, has expired, or was already used. Ask a workspace admin to invite you again." }
        a.button.secondary href="/settings/sign-in" { "Go to sign in" }
    };
    html(StatusCode::NOT_FOUND, layout::bare("Invitation", body))
}

pub async fn invitation(State(s): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    match s.app.pending_invitation(&token).await {
        Ok(user) => render_invitation(&s, &headers, &token, &user.email, StatusCode::OK, &Draft::default()),
        Err(AppError::NotFound(_)) => invalid_invitation(),
        Err(e) => error_page(None, e),
    }
}

fn render_invitation(
    s: &AppState,
    headers: &HeaderMap,
    token: &str,
    email: &str,
    status: StatusCode,
    draft: &Draft,
) -> Response {
    let (secret, new_cookie) = presession(headers);
    let hint = format!("At least {} characters", Password::MIN);
    let body: Markup = html! {
        h1 { "Join your team" }
        p.lead { "Choose a password for " strong { (email) } ". You will use it with this e-mail address to sign in." }
        (layout::refused(draft, &["password", "confirm"]))
        form.stack method="post" action=(format!("/settings/invitation/{token}")) {
            (csrf_input(&session::csrf_token(&secret)))
            input type="hidden" name="username" value=(email) autocomplete="username";
            (Field::text("password", "Password").kind("password", "new-password").hint(&hint).render("invite", draft))
            (Field::text("confirm", "Repeat the password").kind("password", "new-password").render("invite", draft))
            button.button type="submit" { "Set password and sign in" }
        }
    };
    let secure = session::is_https(&s.public_base_url);
    let cookies = new_cookie.map(|c| session::set_cookie(PRESESSION_COOKIE, &c, None, secure));
    with_cookies(html(status, layout::bare("Join your team", body)), cookies)
}

pub async fn accept_invitation(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if !anonymous_form_ok(&headers, &form) {
        return forbidden_form();
    }
    let user = match s.app.pending_invitation(&token).await {
        Ok(user) => user,
        Err(AppError::NotFound(_)) => return invalid_invitation(),
        Err(e) => return error_page(None, e),
    };
    let mut errors = Vec::new();
    let password = Password::parse(form.get("password")).map_err(|m| errors.push(FieldError::new("password", m))).ok();
    if form.get("password") != form.get("confirm") {
        errors.push(FieldError::new("confirm", Refusal::new(Rule::Combination, "does not match the password")));
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        let draft = Draft::refused(form, errors);
        return render_invitation(&s, &headers, &token, &user.email, StatusCode::UNPROCESSABLE_ENTITY, &draft);
    };
    match s.app.accept_invitation_on_web(&token, password).await {
        Ok(session) => {
            let secure = session::is_https(&s.public_base_url);
            with_cookies(see_other("/settings"), [session::session_cookie(&session.token, secure)]).into_response()
        }
        Err(AppError::NotFound(_)) => invalid_invitation(),
        Err(e) => error_page(None, e),
    }
}
