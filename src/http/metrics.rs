//! Prometheus metrics at `/metrics`: requests and their latency by route and status.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Counters kept per node; Prometheus sums them across nodes.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<HashMap<(String, String, u16), Series>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        // A poisoned lock only means another request panicked mid-update; the counts are still usable.
        let mut series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let s = series.entry((method.to_owned(), route.to_owned(), status)).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (bucket, bound) in s.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::from(
            "# HELP frontdesk_http_requests_total HTTP requests answered.\n\
             # TYPE frontdesk_http_requests_total counter\n",
        );
        let mut keys: Vec<_> = series.keys().collect();
        keys.sort();
        for key @ (method, route, status) in &keys {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            let _ = writeln!(out, "frontdesk_http_requests_total{{{labels}}} {}", series[*key].count);
        }
        out.push_str(
            "# HELP frontdesk_http_request_duration_seconds Time to answer HTTP requests.\n\
             # TYPE frontdesk_http_request_duration_seconds histogram\n",
        );
        for key @ (method, route, status) in &keys {
            let s = &series[*key];
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(out, "frontdesk_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "frontdesk_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "frontdesk_http_request_duration_seconds_sum{{{labels}}} {}", s.sum_seconds);
            let _ = writeln!(out, "frontdesk_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

/// Records every routed request (by its route template, so ids do not explode the label set).
pub async fn measure(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or_else(String::new, |p| p.as_str().to_owned());
    let response = next.run(req).await;
    s.metrics.record(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

pub async fn expose(State(s): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}
