//! The accept loop: how many connections, how long a client may take to send its headers and to get
//! its whole answer, how many requests run at once and how large a body may be. Every bound holds
//! before any contract code runs, so no client can hold the server's sockets, tasks or memory by
//! being slow or large. See docs/security.md for the defaults and why.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Layer;

/// The transport's bounds; [`Limits::default`] is what the server runs with unless configured.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and to start its next one on a kept-alive
    /// connection.
    pub header_read_timeout: Duration,
    /// Time from a request's headers to its whole answer, the body's upload included (408 past it).
    pub request_timeout: Duration,
    /// Requests handled at once; past it a request is answered 503 at once instead of queueing.
    pub max_in_flight: usize,
    /// The largest request body the transport passes on (413 past it, at once when the body declares
    /// its length). Each contract has a lower limit of its own, answered in its own envelope after the
    /// body is drained; this one stops what no contract would take from being uploaded at all.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_in_flight: 256,
            max_body_bytes: 8 * crate::http::extract::MAX_BODY_BYTES,
        }
    }
}

impl Limits {
    /// The defaults with what `number` (a setting's whole-number value, if set) overrides:
    /// `max_connections`, `header_read_timeout_ms`, `request_timeout_ms`, `max_in_flight`,
    /// `max_body_bytes`.
    pub fn from_settings(number: impl Fn(&str) -> Result<Option<u64>, String>) -> Result<Self, String> {
        let mut limits = Self::default();
        let count = |key: &str, n: u64| match usize::try_from(n) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{key} must be a whole number above 0")),
        };
        if let Some(n) = number("max_connections")? {
            limits.max_connections = count("max_connections", n)?;
        }
        if let Some(ms) = number("header_read_timeout_ms")? {
            limits.header_read_timeout = Duration::from_millis(count("header_read_timeout_ms", ms)? as u64);
        }
        if let Some(ms) = number("request_timeout_ms")? {
            limits.request_timeout = Duration::from_millis(count("request_timeout_ms", ms)? as u64);
        }
        if let Some(n) = number("max_in_flight")? {
            limits.max_in_flight = count("max_in_flight", n)?;
        }
        if let Some(n) = number("max_body_bytes")? {
            limits.max_body_bytes = count("max_body_bytes", n)?;
        }
        Ok(limits)
    }
}

/// Answers `503` with `Retry-After` when `max_in_flight` requests are already running: shedding is
/// quick, where waiting would let a flood pile up memory and latency for everyone.
async fn shed_load(State(slots): State<Arc<Semaphore>>, req: Request, next: Next) -> Response {
    let Ok(_slot) = slots.try_acquire() else {
        let body = axum::Json(serde_json::json!({"code": 503, "message": "The server is busy; try again shortly."}));
        let mut res = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        res.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        return res;
    };
    next.run(req).await
}

/// Wraps the composed routes in the per-request bounds of `limits`.
pub fn bounded(router: Router, limits: &Limits) -> Router {
    let slots = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    router
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(axum::middleware::from_fn_with_state(slots, shed_load))
}

/// Serves `router` (already [`bounded`]) on `listener` until `shutdown` completes, then lets the
/// requests in flight finish for up to `request_timeout`. Handlers see the peer's address as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // The permit is taken before accepting, so over the cap new clients wait in the backlog
        // rather than costing a task and buffers each.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning on the error.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(axum::Extension(ConnectInfo(peer)).layer(router.clone()));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that breaks off or times out is routine, not an error of the server.
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, peer = %peer, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running at shutdown were cut off");
    }
    Ok(())
}

/// The peer address of a request served by [`serve`]; `None` elsewhere (a router called directly).
pub fn peer(req: &axum::http::Extensions) -> Option<SocketAddr> {
    req.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}
