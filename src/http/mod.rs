//! The HTTP shell every contract and the settings page share: the state handlers get, extractors and
//! body reading, liveness and readiness, metrics, request ids, the request span and panics. Contracts and the web page
//! depend on this module; it depends on none of them (the composition happens in `lib.rs`).

pub mod body;
pub mod envelope;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod ops;
pub mod panic;
pub mod status;
pub mod trace;
pub mod transport;
mod unread;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use self::envelope::ErrorResponse;

use crate::app::App;

/// An answer that carries a secret (a new API key, an access token, a webhook secret): sent with
/// `Cache-Control: no-store`, so no browser, proxy or client cache keeps a copy.
pub struct NoStore<T>(pub T);

impl<T: axum::response::IntoResponse> axum::response::IntoResponse for NoStore<T> {
    fn into_response(self) -> axum::response::Response {
        let mut response = self.0.into_response();
        response
            .headers_mut()
            .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
        response
    }
}

/// The warning to log at start-up when the server is reachable from other machines over plain HTTP:
/// it listens on a non-loopback address, its public URL is not https and no trusted proxy is
/// configured to say that clients came over HTTPS. Credentials and cookies would then cross the
/// network in clear.
pub fn plain_http_warning(
    local: std::net::SocketAddr,
    public_url: &str,
    trusted_proxies: &[std::net::IpAddr],
) -> Option<String> {
    let https = public_url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    if local.ip().is_loopback() || https || !trusted_proxies.is_empty() {
        return None;
    }
    Some(format!(
        "serving plain HTTP on {local}, reachable from other machines: API keys, tokens and session cookies \
         cross the network in clear. Put a TLS-terminating proxy in front and set public_url to its https:// \
         address (or list it in trusted_proxies), or bind to 127.0.0.1"
    ))
}

/// What every handler gets: the use cases and how the server presents itself. Shared, because axum
/// clones a handler's state for every request (and for every clone of its route).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct Shared {
    pub app: App,
    /// The server's public address, for links in responses (seed 004's `_links`).
    pub public_base_url: String,
    /// The OpenAPI document, serialized once at start-up.
    pub openapi: bytes::Bytes,
    pub metrics: Arc<metrics::Metrics>,
    pub idempotency_key_ttl: std::time::Duration,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<Arc<str>>,
}

/// How a server presents itself and what it allows.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// The address clients reach the server at, for links in responses.
    pub public_base_url: String,
    /// Requests a second each credential may make to the support tickets contract; 0 = no limit.
    pub ticket_rate_limit_per_second: u32,
    /// How this server's background worker delivers webhooks.
    pub webhooks: crate::app::WebhookOptions,
    /// How long this server keeps events in the outbox.
    pub event_retention: crate::app::RetentionOptions,
    /// How long an idempotency key's answer is kept; `None`: [`crate::app::IDEMPOTENCY_KEY_TTL`].
    pub idempotency_key_ttl: Option<std::time::Duration>,
    /// Connection, time, concurrency and body bounds of the transport.
    pub limits: transport::Limits,
    /// The bearer token `/metrics` requires; `None`: it is public.
    pub metrics_token: Option<String>,
    /// How often expired tokens, sessions, sign-in rows and idempotency keys are purged, and how many
    /// at a time (`idempotency_key_ttl` above decides when a key has expired).
    pub purge: crate::app::PurgeOptions,
}

impl AppState {
    /// `openapi` is the served document, built by whoever composes the routes.
    pub fn new(app: App, options: &ServerOptions, openapi: &serde_json::Value) -> Self {
        let openapi = serde_json::to_vec(openapi).unwrap_or_default().into();
        Self(Arc::new(Shared {
            app,
            public_base_url: options.public_base_url.clone(),
            openapi,
            metrics: Default::default(),
            idempotency_key_ttl: options.idempotency_key_ttl.unwrap_or(crate::app::IDEMPOTENCY_KEY_TTL),
            metrics_token: options.metrics_token.as_deref().map(Arc::from),
        }))
    }
}

/// Wraps the composed routes in what every request passes through: a request id (an incoming
/// `x-request-id` when usable, else a new one, echoed in the response), a request span, metrics
/// by route template, `/metrics`, the JSON 404/405 fallbacks, idempotency keys on POSTs, and a 500
/// for a handler that panics; what the shell answers itself is in the envelope `error_responses`
/// gives for the path's prefix.
pub fn shell(
    routes: Router<AppState>,
    state: AppState,
    error_responses: &'static [(&'static str, ErrorResponse)],
) -> Router {
    state.metrics.keep_up();
    let keys =
        idempotency::Idempotency { app: state.app.clone(), ttl: state.idempotency_key_ttl, responses: error_responses };
    let routed_state = Arc::new(Routed { metrics: Arc::clone(&state.metrics), error_responses, keys });
    let router = routes
        .merge(ops::router())
        // One layer of routed middleware: axum boxes every layer of a route and a route clones its box
        // for each request, and a middleware its inner service, so every extra layer re-clones those
        // below it (and the handler's state).
        .route_layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(routed_state, routed))
                // Innermost, so the routed middleware sees the panic as a response it can count and dress.
                .layer(CatchPanicLayer::custom(panic::caught)),
        )
        .route("/metrics", axum::routing::get(metrics::expose))
        .fallback(|| async { (StatusCode::NOT_FOUND, axum::Json(json!({"code": 404, "message": "Route not found."}))) })
        // Contracts with an envelope of their own for 405 set it on their routes (seed 003 does).
        .method_not_allowed_fallback(|| async {
            (StatusCode::METHOD_NOT_ALLOWED, axum::Json(json!({"code": 405, "message": "Method not allowed."})))
        })
        .with_state(state);
    // Outermost first: every response, fallbacks included, carries the id of its span. Around the
    // router as one service rather than `Router::layer`, which would wrap (and box) every route again.
    let outer = ServiceBuilder::new()
        .map_request(trace::drop_unusable_request_id)
        .layer(SetRequestIdLayer::x_request_id(trace::MakeId::default()))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(trace::request_span))
        .layer(axum::middleware::from_fn(unread::close_if_unread))
        .service(router);
    Router::new().fallback_service(outer)
}

/// What the routed middleware needs: only what a request must not allocate for.
struct Routed {
    metrics: Arc<metrics::Metrics>,
    error_responses: &'static [(&'static str, ErrorResponse)],
    keys: idempotency::Idempotency,
}

/// Runs once routing has found the route: names its template in the request span, counts the
/// request by it, runs a POST's idempotency key (inside the count, so replays and refusals are
/// counted by their route too), and replaces a caught panic's bare 500 with the contract's envelope.
async fn routed(State(s): State<Arc<Routed>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("", MatchedPath::as_str);
    trace::record_route(route);
    let mut response = idempotency::run(&s.keys, req, next).await;
    if response.extensions().get::<panic::Panicked>().is_some() {
        response = panic::response(s.error_responses, route);
    }
    s.metrics.record(&method, route, response.status(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    const PANIC_RESPONSES: &[(&str, ErrorResponse)] = &[
        ("/a/", |_, _| (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"contract": "a"}))).into_response()),
        ("/a/special/", |_, _| (StatusCode::INTERNAL_SERVER_ERROR, "special").into_response()),
    ];

    async fn server(routes: Router<AppState>) -> (Router, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("shell.db").display());
        let store = crate::open_store(&url, &Default::default()).await.unwrap();
        let state = AppState::new(App::new(store), &ServerOptions::default(), &json!({}));
        (shell(routes, state, PANIC_RESPONSES), dir)
    }

    async fn call(router: &Router, path: &str, request_id: Option<&str>) -> (StatusCode, String, String) {
        let mut req = Request::get(path);
        if let Some(id) = request_id {
            req = req.header(trace::REQUEST_ID, id);
        }
        let res = router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let id = res.headers().get(trace::REQUEST_ID).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let status = res.status();
        let body = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        (status, body, id)
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_envelope_of_its_longest_path_prefix() {
        let routes = Router::new()
            .route("/a/{id}/boom", get(boom))
            .route("/a/special/boom", get(boom))
            .route("/elsewhere/boom", get(boom));
        let (router, _dir) = server(routes).await;

        let (status, body, id) = call(&router, "/a/7/boom", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, r#"{"contract":"a"}"#));
        assert!(!id.is_empty(), "a panicked request still carries its id");
        let (status, body, _) = call(&router, "/a/special/boom", None).await;
        assert_eq!((status, body.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "special"));
        let (status, body, _) = call(&router, "/elsewhere/boom", None).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, r#"{"code":500,"message":"Internal server error."}"#)
        );
        // The server goes on answering, and counted the panic as a 500 of its route template.
        let (_, metrics, _) = call(&router, "/metrics", None).await;
        assert!(
            metrics.contains(r#"frontdesk_http_requests_total{method="GET",route="/a/{id}/boom",status="500"} 1"#),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn request_ids_are_echoed_when_usable_and_made_otherwise() {
        let (router, _dir) = server(Router::new()).await;
        let (status, _, id) = call(&router, "/healthz", Some("lb-42.abc")).await;
        assert_eq!((status, id.as_str()), (StatusCode::OK, "lb-42.abc"));
        let (_, _, made) = call(&router, "/healthz", Some("not an id")).await;
        assert_eq!(made.len(), 33, "{made}");
        let (_, _, other) = call(&router, "/no/such/route", None).await;
        assert_eq!(other.len(), 33, "fallbacks get ids too: {other}");
        assert_ne!(made, other);
    }
}

#[cfg(test)]
mod plain_http_tests {
    use super::plain_http_warning;

    #[test]
    fn plain_http_on_a_network_address_is_warned_about_unless_https_is_in_front() {
        let any: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let local: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(plain_http_warning(any, "http://desk.example.com", &[]).is_some());
        assert!(plain_http_warning(local, "http://127.0.0.1:8080", &[]).is_none());
        assert!(plain_http_warning(any, "https://desk.example.com", &[]).is_none());
        assert!(plain_http_warning(any, "http://desk.example.com", &["10.0.0.2".parse().unwrap()]).is_none());
    }
}
