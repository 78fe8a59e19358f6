//! Prometheus metrics at `/metrics`: requests and their latency by route template and status.
//!
//! Each server has a recorder of its own rather than the process-wide one, so servers sharing a
//! process (the tests start dozens) count only their own requests.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use ::metrics::{Counter, Histogram, Key, Label, Metadata, Recorder, SharedString};
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use super::AppState;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

const REQUESTS: &str = "frontdesk_http_requests_total";
const DURATION: &str = "frontdesk_http_request_duration_seconds";
const METADATA: Metadata<'static> = Metadata::new(module_path!(), ::metrics::Level::INFO, Some(module_path!()));

/// How often latency samples are folded into the histogram's buckets when nobody scrapes: the
/// recorder keeps raw samples until then.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Counters kept per node; Prometheus sums them across nodes.
pub struct Metrics {
    recorder: PrometheusRecorder,
    /// The handles of every series counted so far, by route template: a request finds its own with
    /// one lookup, where registering builds two keys (and their labels) and looks each one up in the
    /// recorder. As bounded as the recorder's own series: route templates, methods and statuses.
    series: RwLock<HashMap<Box<str>, Vec<Series>>>,
}

/// One method, route and status's request counter and latency histogram.
struct Series {
    method: Method,
    status: StatusCode,
    requests: Counter,
    duration: Histogram,
}

impl Series {
    fn record(&self, seconds: f64) {
        self.requests.increment(1);
        self.duration.record(seconds);
    }
}

/// A poisoned lock only means a request panicked mid-update of a plain map; it is still usable.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = match PrometheusBuilder::new().set_buckets(&BUCKETS) {
            Ok(builder) => builder.build_recorder(),
            // Only an empty bucket list is refused, and BUCKETS is not empty.
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        recorder.describe_counter(REQUESTS.into(), None, "HTTP requests answered.".into());
        recorder.describe_histogram(DURATION.into(), None, "Time to answer HTTP requests.".into());
        Self { recorder, series: RwLock::default() }
    }
}

impl Metrics {
    /// Counts one answered request. `route` is the route template, never the raw path: ids in
    /// paths would make the label set grow without bound.
    pub fn record(&self, method: &Method, route: &str, status: StatusCode, seconds: f64) {
        let mine = |s: &&Series| s.method == *method && s.status == status;
        if let Some(series) = read(&self.series).get(route).and_then(|all| all.iter().find(mine)) {
            series.record(seconds);
            return;
        }
        let labels = vec![
            Label::new("method", method_label(method)),
            Label::new("route", SharedString::from(Arc::<str>::from(route))),
            Label::new("status", status_label(status)),
        ];
        let requests = Key::from_parts(REQUESTS, labels.clone());
        let duration = Key::from_parts(DURATION, labels);
        let series = Series {
            method: method.clone(),
            status,
            requests: self.recorder.register_counter(&requests, &METADATA),
            duration: self.recorder.register_histogram(&duration, &METADATA),
        };
        series.record(seconds);
        let mut all = self.series.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let of_route = all.entry(route.into()).or_default();
        // Another request of the same series may have registered it meanwhile: its handles count in
        // the same place, so one entry is enough.
        if !of_route.iter().any(|s| mine(&s)) {
            of_route.push(series);
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }

    /// Folds latency samples into buckets every few seconds for as long as the server that owns
    /// these metrics lives.
    pub fn keep_up(self: &Arc<Self>) {
        let metrics: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                match metrics.upgrade() {
                    Some(m) => m.recorder.handle().run_upkeep(),
                    None => break,
                }
            }
        });
    }
}

/// The standard methods' names without copying them.
fn method_label(method: &Method) -> SharedString {
    let name: &'static str = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => return SharedString::from(method.as_str().to_owned()),
    };
    SharedString::const_str(name)
}

/// The statuses Frontdesk answers most, without formatting them.
fn status_label(status: StatusCode) -> SharedString {
    let code: &'static str = match status.as_u16() {
        200 => "200",
        201 => "201",
        204 => "204",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        other => return SharedString::from(other.to_string()),
    };
    SharedString::const_str(code)
}

/// The metrics; with `metrics_token` set, only to `Authorization: Bearer <token>` (else 401).
pub async fn expose(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &s.metrics_token {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(crate::app::credential);
        // Compared by digest, so the time taken says nothing about how much of the token matched.
        let digest = |t: &str| crate::app::hash_secret(t);
        if given.is_none_or(|g| digest(g) != digest(token)) {
            let mut res = (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
            res.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            return res;
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_method_route_and_status_with_a_latency_histogram() {
        let m = Metrics::default();
        m.record(&Method::GET, "/things/{id}", StatusCode::NOT_FOUND, 0.002);
        m.record(&Method::GET, "/things/{id}", StatusCode::NOT_FOUND, 0.2);
        m.record(&Method::from_bytes(b"PURGE").unwrap(), "/things", StatusCode::IM_A_TEAPOT, 0.0);
        let text = m.render();
        assert!(
            text.contains(r#"frontdesk_http_requests_total{method="GET",route="/things/{id}",status="404"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"frontdesk_http_requests_total{method="PURGE",route="/things",status="418"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"frontdesk_http_request_duration_seconds_bucket{method="GET",route="/things/{id}",status="404",le="0.0025"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE frontdesk_http_request_duration_seconds histogram"), "{text}");
    }

    #[test]
    fn each_series_is_registered_once_and_counted_through_its_handles_after() {
        let m = Metrics::default();
        for _ in 0..3 {
            m.record(&Method::GET, "/a", StatusCode::OK, 0.001);
        }
        m.record(&Method::POST, "/a", StatusCode::OK, 0.001);
        m.record(&Method::GET, "/a", StatusCode::NOT_FOUND, 0.001);
        m.record(&Method::GET, "/b", StatusCode::OK, 0.001);
        assert_eq!(read(&m.series).get("/a").map(Vec::len), Some(3));
        assert_eq!(read(&m.series).get("/b").map(Vec::len), Some(1));
        let text = m.render();
        for (series, count) in [
            (r#"{method="GET",route="/a",status="200"}"#, 3),
            (r#"{method="POST",route="/a",status="200"}"#, 1),
            (r#"{method="GET",route="/a",status="404"}"#, 1),
            (r#"{method="GET",route="/b",status="200"}"#, 1),
        ] {
            assert!(text.contains(&format!("frontdesk_http_requests_total{series} {count}")), "{series}: {text}");
        }
    }
}
