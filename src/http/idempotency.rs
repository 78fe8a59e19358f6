//! `Idempotency-Key` on every POST of every contract, in one place: the first request with a key runs
//! and its answer is kept; a retry with the same key and body is answered from the store and runs
//! nothing. What the key means (scope, expiry, which answers are kept) is decided in
//! `app::idempotency`; this layer only moves bytes between the request, the store and the response.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use http_body_util::BodyExt;

use super::envelope::{ErrorResponse, response_for};
use super::extract::read_limited;
use crate::app::{
    App, AppError, KeyDecision, KeyRefusal, KeyScope, MAX_KEPT_ANSWER_BYTES, StoredAnswer, parse_idempotency_key,
};

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer that was replayed from the store rather than made by running the request.
pub const REPLAYED: &str = "idempotent-replayed";
/// A request that finds its key still in progress is told to come back after this many seconds.
const RETRY_AFTER_SECONDS: &str = "1";

/// What the layer needs: the use cases, how long keys live and how each contract renders a refusal.
#[derive(Clone)]
pub struct Idempotency {
    pub app: App,
    pub ttl: Duration,
    pub responses: &'static [(&'static str, ErrorResponse)],
}

/// A claimed key that is released if the request ends without its answer being kept, also when the
/// client goes away and the handler is dropped half-way.
struct Claim {
    app: App,
    key_hash: Vec<u8>,
    settled: bool,
}

impl Claim {
    async fn keep(mut self, answer: &StoredAnswer) -> Result<(), AppError> {
        self.settled = true;
        self.app.keep_answer(&self.key_hash, answer).await
    }

    async fn release(mut self) {
        self.settled = true;
        if let Err(e) = self.app.release_idempotency_key(&self.key_hash).await {
            // The key stays pending until it counts as abandoned; retries are told to wait meanwhile.
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.settled {
            let (app, key_hash) = (self.app.clone(), std::mem::take(&mut self.key_hash));
            tokio::spawn(async move {
                if let Err(e) = app.release_idempotency_key(&key_hash).await {
                    tracing::warn!(error = %e, "could not release an idempotency key");
                }
            });
        }
    }
}

/// The credential the request carries, as the key's scope: the `authorization` header, else seed
/// 003's `IntegrationKey` query parameter. A key carried only in a body is covered by the body's hash.
fn credential(headers: &HeaderMap, query: Option<&str>) -> Vec<u8> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return value.as_bytes().to_vec();
    }
    query
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(name, _)| name == "IntegrationKey"))
        .map(|(_, value)| value.as_bytes().to_vec())
        .unwrap_or_default()
}

fn replay(answer: StoredAnswer) -> Response {
    let mut response =
        (axum::http::StatusCode::from_u16(answer.status).unwrap_or_default(), answer.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(ct) = answer.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    // The first answer may have carried a secret (a new API key, a webhook secret); its copy is never
    // to be cached either.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Runs a POST that carries an `Idempotency-Key` at most once per key; passes everything else through.
/// Called by the routed middleware, which the key's route must have been found for.
pub async fn run(s: &Idempotency, req: Request, next: Next) -> Response {
    // A wildcard route is a contract's own answer to a path it does not have (a 404 in its envelope):
    // nothing there to make idempotent, and a bad key must not turn that 404 into a 400.
    let wildcard = req.extensions().get::<MatchedPath>().is_some_and(|m| m.as_str().contains("{*"));
    if req.method() != Method::POST || wildcard || !req.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let refuse = |error: AppError| {
        let in_progress = matches!(error, AppError::Idempotency(KeyRefusal::InProgress));
        let mut response = response_for(s.responses, &path, &parts.headers, error);
        if in_progress {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        response
    };
    let raw_key = parts.headers.get(IDEMPOTENCY_KEY).map(HeaderValue::as_bytes).unwrap_or_default();
    let key = match parse_idempotency_key(raw_key) {
        Ok(key) => key.to_owned(),
        Err(e) => return refuse(e),
    };
    // The body must be hashed before anything runs, so a request with a key carries at most the
    // limit every JSON body has.
    let bytes = match read_limited(body).await {
        Ok(bytes) => bytes,
        Err(e) => return refuse(e),
    };
    let credential = credential(&parts.headers, parts.uri.query());
    let scope = KeyScope { credential: &credential, method: parts.method.as_str(), path: &path };
    let key_hash = match s.app.claim_idempotency_key(&scope, &key, &bytes, s.ttl).await {
        Ok(KeyDecision::Run(key_hash)) => key_hash,
        Ok(KeyDecision::Replay(answer)) => return replay(answer),
        Err(e) => return refuse(e),
    };
    let claim = Claim { app: s.app.clone(), key_hash, settled: false };
    let response = next.run(Request::from_parts(parts.clone(), Body::from(bytes))).await;

    let small = response.body().size_hint().upper().is_some_and(|n| n <= MAX_KEPT_ANSWER_BYTES as u64);
    if !App::is_kept(response.status().as_u16()) || !small {
        claim.release().await;
        return response;
    }
    let (mut head, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            claim.release().await;
            return refuse(AppError::Internal(format!("the answer could not be read: {e}")));
        }
    };
    let content_type = head.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let answer = StoredAnswer { status: head.status.as_u16(), content_type, body: body.to_vec() };
    if let Err(e) = claim.keep(&answer).await {
        // The request did happen: answer it, and let a retry find the key pending, then abandoned.
        tracing::warn!(error = %e, "could not keep an idempotent answer");
    }
    head.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(head, Body::from(body))
}
