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
use tower::{Layer, ServiceBuilder};

pub use crate::config::Limits;

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

/// Whether the request came through a trusted proxy that received it over HTTPS: its peer is one of
/// `proxies` and its first `X-Forwarded-Proto` is `https`. Anyone else's header is ignored, as any
/// client can send it.
pub fn forwarded_https(proxies: &[std::net::IpAddr], req: &Request) -> bool {
    let from_proxy = peer(req.extensions()).is_some_and(|p| proxies.contains(&p.ip()));
    from_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Marks every cookie `Secure` on answers to requests a trusted proxy received over HTTPS, so the
/// settings page's cookies never travel in clear behind a TLS-terminating proxy whatever the public
/// URL says.
async fn secure_cookies(State(proxies): State<Arc<Vec<std::net::IpAddr>>>, req: Request, next: Next) -> Response {
    let https = forwarded_https(&proxies, &req);
    let mut res = next.run(req).await;
    if https {
        let all: Vec<HeaderValue> = res.headers().get_all(axum::http::header::SET_COOKIE).iter().cloned().collect();
        res.headers_mut().remove(axum::http::header::SET_COOKIE);
        for c in all {
            let text = c.to_str().unwrap_or_default();
            let secure = text.split(';').any(|part| part.trim().eq_ignore_ascii_case("secure"));
            let value = if secure { c.clone() } else { HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(c) };
            res.headers_mut().append(axum::http::header::SET_COOKIE, value);
        }
    }
    res
}

/// The routes that take a bulk upload, streamed: bounded by `max_import_bytes` and `import_timeout`
/// instead of `max_body_bytes` and `request_timeout` (docs/import-export.md).
pub const BULK_PATHS: &[&str] = &["/api/v1/external-users/import"];

/// Wraps the composed routes in the per-request bounds of `limits`: around the router as one
/// service, not through `Router::layer`, which would wrap (and box, and clone per request) every
/// route once more for each layer.
pub fn bounded(router: Router, limits: &Limits) -> Router {
    let slots = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    let proxies = Arc::new(limits.trusted_proxies.clone());
    let router =
        ServiceBuilder::new().layer(axum::middleware::from_fn_with_state(proxies, secure_cookies)).service(router);
    let within = |max_bytes: usize, timeout: Duration| {
        ServiceBuilder::new()
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
            .map_response(IntoResponse::into_response)
            .layer(tower_http::limit::RequestBodyLimitLayer::new(max_bytes))
            .map_response(IntoResponse::into_response)
            .map_request(|req: axum::http::Request<_>| req.map(axum::body::Body::new))
            .service(router.clone())
    };
    let normal = within(limits.max_body_bytes, limits.request_timeout);
    let bulk = within(limits.max_import_bytes, limits.import_timeout);
    let pick = tower::service_fn(move |req: Request| {
        let route = if BULK_PATHS.contains(&req.uri().path()) { bulk.clone() } else { normal.clone() };
        tower::ServiceExt::oneshot(route, req)
    });
    Router::new().fallback_service(
        ServiceBuilder::new().layer(axum::middleware::from_fn_with_state(slots, shed_load)).service(pick),
    )
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
