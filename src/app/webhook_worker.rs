//! The background worker every server runs: queues new events for each subscription, claims due
//! deliveries, sends them signed, and retries with backoff (docs/webhooks.md).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use uuid::Uuid;

use super::App;
use crate::domain::Timestamp;
use crate::domain::webhook::{
    DeliveryAttempt, RESPONSE_EXCERPT_BYTES, WebhookUrl, is_private_address, signature_header,
};
use crate::store::{ClaimedDelivery, DeliveryOutcome};

/// How the worker delivers. The defaults are production's; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Deliver to loopback, private, link-local and unique-local addresses (refused by default).
    pub allow_private_targets: bool,
    /// The wait after the first failed attempt; each further failure doubles it, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: i64,
    /// Deliveries in a row that fail finally before the subscription is disabled.
    pub disable_after: i64,
    /// How often the worker looks for work.
    pub poll_interval: Duration,
    pub connect_timeout: Duration,
    /// The whole attempt: connecting, sending and reading the response.
    pub total_timeout: Duration,
    /// How long a claim holds; longer than `total_timeout`, so only a dead node's claims expire.
    pub lease: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            retry_base: Duration::from_secs(10),
            retry_cap: Duration::from_secs(4 * 3600),
            max_attempts: 16,
            disable_after: 5,
            poll_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
            lease: Duration::from_secs(60),
        }
    }
}

impl WebhookOptions {
    /// These options with the operator's settings: private targets, the time one attempt may take
    /// (the connect timeout at most that, the lease four times it) and the first retry's wait.
    pub fn configured(mut self, allow_private: bool, timeout: Option<Duration>, retry_base: Option<Duration>) -> Self {
        self.allow_private_targets = allow_private;
        if let Some(t) = timeout {
            self.total_timeout = t;
            self.connect_timeout = self.connect_timeout.min(t);
            self.lease = t.saturating_mul(4);
        }
        if let Some(base) = retry_base {
            self.retry_base = base;
        }
        self
    }

    /// The wait after the `tries`-th failed attempt: `retry_base` doubled per earlier failure, at
    /// most `retry_cap`, then spread by ±20% of jitter so receivers that failed together are not
    /// all retried at the same instant.
    pub fn backoff(&self, tries: i64) -> Duration {
        let doublings = u32::try_from(tries.saturating_sub(1)).unwrap_or(u32::MAX).min(30);
        let wait = self.retry_base.saturating_mul(1 << doublings).min(self.retry_cap);
        wait.mul_f64(rand::random_range(0.8..1.2))
    }
}

/// At most this many deliveries are sent at once by one node (each to a different subscription).
const CLAIMS_PER_ROUND: i64 = 16;
/// At most this many new events of one subscription are queued per round.
const EVENTS_PER_ROUND: i64 = 200;

/// Runs until `stop` turns true.
pub async fn run_webhook_worker(app: App, options: WebhookOptions, mut stop: watch::Receiver<bool>) {
    let node = Uuid::new_v4().to_string();
    loop {
        let busy = match round(&app, &options, &node).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "webhook worker round failed");
                false
            }
        };
        if *stop.borrow() {
            return;
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(options.poll_interval) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// One pass: queue, claim, deliver; answers how many deliveries were attempted.
async fn round(app: &App, options: &WebhookOptions, node: &str) -> Result<usize, crate::store::StoreError> {
    app.store.enqueue_deliveries(Timestamp::now(), EVENTS_PER_ROUND).await?;
    let now = Timestamp::now();
    let lease_until = Timestamp::from_micros(now.micros() + options.lease.as_micros() as i64);
    let claims = app.store.claim_deliveries(node, now, lease_until, CLAIMS_PER_ROUND).await?;
    let n = claims.len();
    let mut sends = tokio::task::JoinSet::new();
    for c in claims {
        let (app, options, node) = (app.clone(), options.clone(), node.to_owned());
        sends.spawn(async move { deliver(&app, &options, &node, c).await });
    }
    sends.join_all().await;
    Ok(n)
}

/// One attempt at a claimed delivery, and what it leads to.
async fn deliver(app: &App, options: &WebhookOptions, node: &str, c: ClaimedDelivery) {
    let attempt = attempt(&c, options).await;
    let tries = c.tries + 1;
    let outcome = if attempt.succeeded() {
        DeliveryOutcome::Delivered
    } else if tries >= options.max_attempts {
        DeliveryOutcome::Failed { disable_after: options.disable_after }
    } else {
        let wait = options.backoff(tries);
        DeliveryOutcome::Retry(Timestamp::from_micros(Timestamp::now().micros() + wait.as_micros() as i64))
    };
    if let Err(e) = app.store.finish_delivery(node, c.delivery_id, &attempt, outcome).await {
        // The lease runs out and the delivery is tried again: at least once, never lost.
        tracing::warn!(error = %e, delivery = %c.delivery_id, "could not record a webhook attempt");
    }
}

/// Sends one delivery and says how it went.
async fn attempt(c: &ClaimedDelivery, options: &WebhookOptions) -> DeliveryAttempt {
    let attempted_at = Timestamp::now();
    let started = Instant::now();
    let body = Bytes::from(c.event.to_json().to_string());
    let result = tokio::time::timeout(options.total_timeout, send(c, body, options)).await;
    let latency_ms = started.elapsed().as_millis() as i64;
    let (status_code, response_excerpt, error) = match result {
        Ok(Ok((status, excerpt))) => (Some(status), Some(excerpt), None),
        Ok(Err(e)) => (None, None, Some(e)),
        Err(_) => (None, None, Some(format!("no answer within {} ms", options.total_timeout.as_millis()))),
    };
    let error = error.or_else(|| {
        status_code.filter(|s| !(200..300).contains(s)).map(|s| format!("the receiver answered {s}, not 2xx"))
    });
    DeliveryAttempt { attempted_at, status_code, latency_ms, response_excerpt, error }
}

/// Resolves the host, refuses private targets unless allowed, connects to a vetted address and
/// posts the signed body; answers the status and the start of the response body. A redirect is a
/// status like any other: it is never followed.
async fn send(c: &ClaimedDelivery, body: Bytes, options: &WebhookOptions) -> Result<(u16, String), String> {
    let url = &c.webhook.url;
    let addr = resolve(url, options.allow_private_targets).await?;
    let stream = tokio::time::timeout(options.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("could not connect within {} ms", options.connect_timeout.as_millis()))?
        .map_err(|e| format!("could not connect: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("HTTP error: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let timestamp = Timestamp::now().micros() / 1_000_000;
    let signature = signature_header(&c.webhook.signing_secrets(Timestamp::now()), c.event.id, timestamp, &body);
    let request = Request::post(url.path_and_query())
        .header("host", url.authority())
        .header("content-type", "application/json")
        .header("user-agent", concat!("Frontdesk-Webhooks/", env!("CARGO_PKG_VERSION")))
        .header("webhook-id", c.event.id.to_string())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(body))
        .map_err(|e| format!("could not build the request: {e}"))?;
    let response = sender.send_request(request).await.map_err(|e| format!("HTTP error: {e}"));
    let result = match response {
        Ok(response) => {
            let status = response.status().as_u16();
            Ok((status, excerpt(response.into_body()).await))
        }
        Err(e) => Err(e),
    };
    // The response was read as far as it is kept; the connection is not reused.
    driver.abort();
    result
}

/// The first [`RESPONSE_EXCERPT_BYTES`] of a body; the rest is never read.
async fn excerpt(mut body: hyper::body::Incoming) -> String {
    let mut kept = Vec::new();
    while kept.len() < RESPONSE_EXCERPT_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let room = RESPONSE_EXCERPT_BYTES - kept.len();
                    kept.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The address to connect to: the host's resolved addresses, every one checked, so a name that
/// resolves to a private address among public ones is refused too.
async fn resolve(url: &WebhookUrl, allow_private: bool) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((url.host(), url.port()))
        .await
        .map_err(|e| format!("could not resolve {}: {e}", url.host()))?
        .collect();
    let first = *addrs.first().ok_or_else(|| format!("{} has no address", url.host()))?;
    if !allow_private && let Some(private) = addrs.iter().find(|a| is_private_address(a.ip())) {
        return Err(format!(
            "refused: {} resolves to {}, a private, loopback or link-local address (the operator setting \
             webhook_allow_private_targets allows it)",
            url.host(),
            private.ip()
        ));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_the_base_up_to_the_cap_with_jitter() {
        let o = WebhookOptions::default();
        let secs = |tries| o.backoff(tries).as_secs_f64();
        assert!((8.0..12.0).contains(&secs(1)));
        assert!((16.0..24.0).contains(&secs(2)));
        assert!((0.8 * 14400.0..1.2 * 14400.0).contains(&secs(40)));
    }

    #[test]
    fn the_default_schedule_keeps_retrying_for_about_a_day() {
        let o = WebhookOptions::default();
        let nominal: u64 = (1..o.max_attempts)
            .map(|t| o.retry_base.saturating_mul(1 << (t - 1).min(30)).min(o.retry_cap).as_secs())
            .sum();
        assert!((20 * 3600..26 * 3600).contains(&nominal), "{nominal}");
    }
}
