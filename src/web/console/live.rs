//! Live updates: `GET /settings/console/events`, a server-sent events stream of the agent feed
//! (ticket and people events) for the signed-in staff user's workspace. A page gives the position it
//! was rendered at (`?after=`, `data-live-after`); a reconnecting browser sends `Last-Event-ID`.
//! Each stream ends after [`STREAM_LIFETIME`] (the browser opens the next one, with the session
//! checked again) and is kept open with a comment every [`KEEP_ALIVE`].

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::app::{AppError, EventCursor};
use crate::domain::Event;
use crate::http::AppState;

/// How long one stream stays open before the browser is asked to open the next.
pub const STREAM_LIFETIME: Duration = Duration::from_secs(300);
/// How often an idle stream sends a comment, so proxies keep it and a gone client is noticed.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long the browser waits before reconnecting, in milliseconds.
const RETRY_MS: u32 = 2000;

#[derive(Deserialize, Default)]
pub struct StreamQuery {
    after: Option<String>,
}

/// What a page needs to know of an event: its kind and which ticket or person it is about. The
/// page then reads itself again; the event's full content stays on the server.
fn summary(e: &Event) -> Value {
    let r = &e.resource;
    let ticket = if e.kind.starts_with("ticket.") {
        r.pointer("/ticket/id").or_else(|| r.get("ticketId")).or_else(|| r.get("id")).cloned()
    } else {
        None
    };
    let person = if e.kind.starts_with("external_user.") { r.get("id").cloned() } else { None };
    json!({"type": e.kind, "ticket": ticket, "person": person})
}

fn frame(e: &Event) -> Bytes {
    let id = EventCursor::at(e.sequence).encode();
    Bytes::from(format!("id: {id}\nevent: change\ndata: {}\n\n", summary(e)))
}

fn refused(status: StatusCode, text: &'static str) -> Response {
    let mut res = (status, [(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert("retry-after", HeaderValue::from_static("5"));
    }
    res
}

pub async fn stream(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<StreamQuery>) -> Response {
    // A stream answers for itself rather than redirecting to the sign-in page, which a script
    // cannot follow.
    let Ok(ctx) = super::super::signed_in(&s, &headers).await else {
        return refused(StatusCode::UNAUTHORIZED, "Sign in again to see live updates.");
    };
    let who = &ctx.who.principal;
    let given = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or(q.after.as_deref())
        .map(|v| EventCursor::parse(v.trim()).ok_or(()))
        .transpose();
    let after = match given {
        Ok(Some(c)) => c,
        Ok(None) => match s.app.latest_event(who).await {
            Ok(c) => c,
            Err(e) => return app_refusal(e),
        },
        Err(()) => return refused(StatusCode::BAD_REQUEST, "The position to stream from is not one this server gave."),
    };
    let mut sub = match s.app.subscribe_agent_events(who, after).await {
        Ok(Some(sub)) => sub,
        Ok(None) => {
            return refused(StatusCode::SERVICE_UNAVAILABLE, "Too many live streams are open; try again shortly.");
        }
        Err(e) => return app_refusal(e),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        if tx.send(Bytes::from(format!("retry: {RETRY_MS}\n\n"))).await.is_err() {
            return;
        }
        if sub.backlog_cut && tx.send(Bytes::from_static(b"event: reset\ndata: {}\n\n")).await.is_err() {
            return;
        }
        let end = tokio::time::sleep(STREAM_LIFETIME);
        tokio::pin!(end);
        let mut beat = tokio::time::interval(KEEP_ALIVE);
        beat.tick().await;
        loop {
            let chunk = tokio::select! {
                e = sub.next() => match e {
                    Some(e) => frame(&e),
                    None => return,
                },
                _ = beat.tick() => Bytes::from_static(b": keep-alive\n\n"),
                () = &mut end => return,
            };
            // The client went away: the subscription (and its slot) ends with this task.
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    let mut res = (StatusCode::OK, Body::new(ChannelBody(rx))).into_response();
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies that buffer answers (nginx) pass this one on as it comes.
    h.insert(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));
    res
}

fn app_refusal(e: AppError) -> Response {
    match e {
        AppError::Forbidden(_) => refused(StatusCode::FORBIDDEN, "Live updates are for the team."),
        AppError::Unauthorized => refused(StatusCode::UNAUTHORIZED, "Sign in again to see live updates."),
        AppError::Unavailable => refused(StatusCode::SERVICE_UNAVAILABLE, "The database cannot be reached right now."),
        other => {
            tracing::error!(error = %other, "live stream failed");
            refused(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
        }
    }
}

/// A response body fed by a channel: each message is one chunk, the end of the channel the end of
/// the body. Dropping the body (the client left) closes the channel for its writer.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|b| Ok(http_body::Frame::data(b))))
    }
}
