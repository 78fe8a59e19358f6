//! Extractors whose failures are rendered by the contract that uses them, never as axum's plain text.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use bytes::Bytes;
use uuid::Uuid;

use crate::app::{AppError, Principal};
use crate::domain::{ExternalUser, Refusal, Rule, parse_uuid};
use crate::http::AppState;

/// Request bodies above this size are refused before they are read in full.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The request body as bytes; a body that is too large or breaks off is an error of contract `E`.
pub struct RawBody<E>(pub Bytes, pub PhantomData<E>);

impl<S, E> FromRequest<S> for RawBody<E>
where
    S: Send + Sync,
    E: From<AppError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request(req: Request, _state: &S) -> Result<Self, E> {
        Ok(RawBody(read_limited(req.into_body()).await?, PhantomData))
    }
}

/// Past the limit a body is still read, up to this much more, and thrown away: answering before a
/// client has finished sending makes many clients see a reset connection instead of the answer.
/// Nothing of it is kept, so it costs time (bounded by the transport's request timeout), not memory;
/// the transport refuses larger bodies itself (`transport::Limits::max_body_bytes`).
const DRAIN_BYTES: usize = 16 * MAX_BODY_BYTES;

/// The whole body if it is at most [`MAX_BODY_BYTES`]; otherwise an error naming the limit.
pub async fn read_limited(body: axum::body::Body) -> Result<Bytes, AppError> {
    read_limited_to(body, MAX_BODY_BYTES).await
}

/// The whole body if it is at most `limit` bytes; otherwise an error naming the limit. Nothing past
/// the limit is kept, so memory per request is bounded by `limit` whatever the client sends.
pub async fn read_limited_to(body: axum::body::Body, limit: usize) -> Result<Bytes, AppError> {
    use http_body_util::BodyExt;
    let too_large = || {
        AppError::invalid("body", Refusal::new(Rule::TooLong { max: limit }, format!("must be at most {limit} bytes")))
    };
    let mut body = body;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            // The transport's own body limit ends a body that declared too much or sent too much.
            return Err(if seen > limit {
                too_large()
            } else {
                AppError::invalid("body", Refusal::new(Rule::Format, "could not be read in full"))
            });
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen > limit.saturating_add(DRAIN_BYTES) {
                return Err(too_large());
            }
            if seen <= limit {
                kept.extend_from_slice(&data);
            }
        }
    }
    if seen > limit { Err(too_large()) } else { Ok(kept.into()) }
}

/// The `authorization` header's value, if it is present and readable.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// `(user, password)` from a `Basic` authorization value; `None` for any other scheme or a malformed
/// value.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (user, password) =
        String::from_utf8(decoded).ok()?.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned()))?;
    Some((user, password))
}

/// A path segment that must be an id.
pub fn path_id(raw: &str, field: &str) -> Result<Uuid, AppError> {
    parse_uuid(raw).ok_or_else(|| AppError::invalid(field, Refusal::new(Rule::Format, "must be a valid UUID")))
}

/// The principal of a workspace API key in `authorization` (`Bearer <key>` or the bare key); a missing,
/// unknown or revoked key is an error of contract `E`.
pub struct ApiKey<E>(pub Principal, pub PhantomData<E>);

impl<E> FromRequestParts<AppState> for ApiKey<E>
where
    E: From<AppError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, E> {
        Ok(ApiKey(s.app.api_key_principal(authorization(&parts.headers)).await?, PhantomData))
    }
}

/// The external user whose access token is in `authorization`; anything else is an error of contract `E`.
pub struct AccessToken<E>(pub ExternalUser, pub PhantomData<E>);

impl<E> FromRequestParts<AppState> for AccessToken<E>
where
    E: From<AppError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, E> {
        Ok(AccessToken(s.app.access_token_user(authorization(&parts.headers)).await?, PhantomData))
    }
}

/// Names a path parameter: the route template's `{NAME}` is also the field a malformed value is
/// reported under, so the two cannot drift apart.
pub trait PathParam {
    const NAME: &'static str;
}

/// The `{id}` of a route.
pub struct Id;
impl PathParam for Id {
    const NAME: &'static str = "id";
}

/// A path parameter that must be a UUID; otherwise an `Invalid` error of contract `E` naming the
/// parameter, "must be a valid UUID".
pub struct PathId<E, P: PathParam = Id>(pub Uuid, pub PhantomData<(E, P)>);

impl<S, E, P> FromRequestParts<S> for PathId<E, P>
where
    S: Send + Sync,
    E: From<AppError> + IntoResponse,
    P: PathParam,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, E> {
        let raw = path_param(parts, state, P::NAME).await?;
        Ok(PathId(path_id(&raw, P::NAME)?, PhantomData))
    }
}

/// A route's only path parameter as text (a key, an account id, a number...), for routes whose
/// parameter is not always a UUID. A value that is not UTF-8 once percent-decoded is an `Invalid`
/// error of contract `E`, never axum's plain-text rejection.
pub struct PathText<E>(pub String, pub PhantomData<E>);

impl<S, E> FromRequestParts<S> for PathText<E>
where
    S: Send + Sync,
    E: From<AppError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, E> {
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(path_rejection)?;
        let (name, value) =
            params.iter().next().ok_or_else(|| AppError::Internal("the route has no path parameter".into()))?;
        if value.contains('\0') {
            return Err(
                AppError::invalid(name, Refusal::new(Rule::Format, "must not contain the NUL character")).into()
            );
        }
        Ok(PathText(value.to_owned(), PhantomData))
    }
}

/// Every path parameter of a route as text, in the order of the template (`{issue}/comment/{id}`),
/// refused as [`PathText`] refuses one.
pub struct PathTexts<E>(pub Vec<String>, pub PhantomData<E>);

impl<S, E> FromRequestParts<S> for PathTexts<E>
where
    S: Send + Sync,
    E: From<AppError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, E> {
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(path_rejection)?;
        let mut texts = Vec::new();
        for (name, value) in params.iter() {
            if value.contains('\0') {
                let refusal = Refusal::new(Rule::Format, "must not contain the NUL character");
                return Err(AppError::invalid(name, refusal).into());
            }
            texts.push(value.to_owned());
        }
        Ok(PathTexts(texts, PhantomData))
    }
}

/// The value of path parameter `name`.
async fn path_param<S: Send + Sync>(parts: &mut Parts, state: &S, name: &str) -> Result<String, AppError> {
    let params = RawPathParams::from_request_parts(parts, state).await.map_err(path_rejection)?;
    params
        .iter()
        .find_map(|(n, value)| (n == name).then(|| value.to_owned()))
        // A handler on a route without this parameter is a wiring defect, not bad input.
        .ok_or_else(|| AppError::Internal(format!("the route has no path parameter {name}")))
}

fn path_rejection(e: axum::extract::rejection::RawPathParamsRejection) -> AppError {
    use axum::extract::rejection::RawPathParamsRejection as R;
    match e {
        // The client's bytes: a percent-encoded segment that does not decode to UTF-8.
        R::InvalidUtf8InPathParam(e) => {
            AppError::invalid("path", Refusal::new(Rule::Format, format!("is not valid UTF-8 text: {e}")))
        }
        other => AppError::Internal(format!("path parameters: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_decoded_and_other_schemes_refused() {
        // base64("client:se:cret"): the password may itself contain colons.
        assert_eq!(basic_credentials("Basic Y2xpZW50OnNlOmNyZXQ="), Some(("client".into(), "se:cret".into())));
        assert_eq!(basic_credentials("basic  Y2xpZW50OnNlOmNyZXQ= "), Some(("client".into(), "se:cret".into())));
        assert_eq!(basic_credentials("Bearer Y2xpZW50OnNlOmNyZXQ="), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials("Basic bm9jb2xvbg=="), None, "no colon");
    }
}
