//! Webhook push: subscriptions, signed Standard Webhooks deliveries, retries in order, the log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use frontdesk::app::WebhookOptions;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::events::all_events;
use crate::helpers::TestApp;

/// What the receiver got: headers and body of every request, in arrival order.
#[derive(Clone, Default)]
struct Received {
    requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Answer 500 to this many requests before answering 200.
    failures_left: Arc<Mutex<usize>>,
}

impl Received {
    fn bodies(&self) -> Vec<Value> {
        self.requests.lock().unwrap().iter().map(|(_, b)| serde_json::from_slice(b).unwrap()).collect()
    }
}

/// A receiver on port 0: answers 500 `fail_first` times, then 200.
async fn receiver(fail_first: usize) -> (String, Received) {
    let received = Received::default();
    *received.failures_left.lock().unwrap() = fail_first;
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(|State(r): State<Received>, headers: HeaderMap, body: Bytes| async move {
                r.requests.lock().unwrap().push((headers, body));
                let mut left = r.failures_left.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    (StatusCode::INTERNAL_SERVER_ERROR, "not now")
                } else {
                    (StatusCode::OK, "thanks")
                }
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn fast() -> WebhookOptions {
    WebhookOptions {
        allow_private_targets: true,
        retry_base: Duration::from_millis(20),
        retry_cap: Duration::from_millis(100),
        max_attempts: 5,
        disable_after: 1,
        poll_interval: Duration::from_millis(20),
        ..WebhookOptions::default()
    }
}

/// An HMAC-SHA256 written out from its definition (RFC 2104), independent of the server's code.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().into()
}

fn expected_signature(secret: &str, headers: &HeaderMap, body: &[u8]) -> String {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let id = headers["webhook-id"].to_str().unwrap();
    let ts = headers["webhook-timestamp"].to_str().unwrap();
    let signed = [format!("{id}.{ts}.").as_bytes(), body].concat();
    format!("v1,{}", STANDARD.encode(hmac_sha256(&key, &signed)))
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..250 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn subscribe(app: &TestApp, url: &str, types: Value) -> Value {
    let r = app.post("/api/v1/webhooks", &json!({"url": url, "types": types})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn deliveries_of(app: &TestApp, hook: &Value) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap())).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["deliveries"].as_array().unwrap().clone()
}

async fn signed_deliveries_match_the_pull_api_and_verify_with_an_independent_hmac(app: TestApp) {
    let (url, got) = receiver(0).await;
    let hook = subscribe(&app, &url, json!([])).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() >= 24);
    // The secret is shown once: never in a read.
    let read = app.get(&format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap())).await;
    assert!(read.body.get("secret").is_none());
    app.external_user("jane@example.com", "Jane").await;
    // A rejected request (a duplicate) leaves nothing to deliver.
    let dup = json!({"channelId": app.email_channel_id, "externalId": null, "identifier": "jane@example.com",
                     "name": "Jane", "tierId": null, "externalUserGroupId": null});
    assert_eq!(app.post("/api/v1/external-users", &dup).await.status, 409);
    wait_for("three deliveries", || got.requests.lock().unwrap().len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let pulled = all_events(&app).await;
    let pushed = got.bodies();
    let kinds: Vec<&str> = pushed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["webhook.created", "external_user.created", "customer.created"]);
    assert_eq!(pushed, pulled);
    for (headers, body) in got.requests.lock().unwrap().iter() {
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(headers["webhook-id"].to_str().unwrap(), event["id"].as_str().unwrap());
        let ts: i64 = headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
        assert!((ts - time_now()).abs() < 60);
        assert_eq!(headers["webhook-signature"].to_str().unwrap(), expected_signature(&secret, headers, body));
    }
    let log = deliveries_of(&app, &hook).await;
    assert!(log.iter().all(|d| d["status"] == "delivered" && d["attempts"][0]["statusCode"] == 200));
    assert_eq!(log[0]["attempts"][0]["responseExcerpt"], "thanks");
}

fn time_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn a_failing_receiver_gets_every_event_once_more_in_order(app: TestApp) {
    let (url, got) = receiver(2).await;
    let hook = subscribe(&app, &url, json!(["external_user.created"])).await;
    for n in 0..3 {
        app.external_user(&format!("u{n}@example.com"), "User").await;
    }
    wait_for("every event delivered", || got.requests.lock().unwrap().len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen: Vec<String> = got.bodies().iter().map(|e| e["data"]["identifier"].as_str().unwrap().to_owned()).collect();
    // The first event fails twice and goes through on its third try; the others wait for it.
    assert_eq!(seen, ["u0@example.com", "u0@example.com", "u0@example.com", "u1@example.com", "u2@example.com"]);
    let log = deliveries_of(&app, &hook).await;
    assert!(log.iter().all(|d| d["status"] == "delivered"), "{log:?}");
    let first = &log[log.len() - 1];
    let codes: Vec<&Value> = first["attempts"].as_array().unwrap().iter().map(|a| &a["statusCode"]).collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);
    assert_eq!(first["attempts"][0]["responseExcerpt"], "not now");
}

async fn private_targets_are_refused_by_default(app: TestApp) {
    let (url, got) = receiver(0).await;
    let hook = subscribe(&app, &url, json!([])).await;
    let id = hook["id"].as_str().unwrap();
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries_of(&app, &hook).await;
        if log.first().is_some_and(|d| !d["attempts"].as_array().unwrap().is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = log[0]["attempts"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused") && error.contains("127.0.0.1"), "{log:?}");
    assert!(got.requests.lock().unwrap().is_empty());
    assert_eq!(app.get(&format!("/api/v1/webhooks/{id}")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_signed_deliveries_match_the_pull_api_and_verify_with_an_independent_hmac() {
    signed_deliveries_match_the_pull_api_and_verify_with_an_independent_hmac(
        TestApp::sqlite_with_webhooks(fast()).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_signed_deliveries_match_the_pull_api_and_verify_with_an_independent_hmac() {
    let Some(app) = TestApp::postgres_with_webhooks(fast()).await else { return };
    signed_deliveries_match_the_pull_api_and_verify_with_an_independent_hmac(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_failing_receiver_gets_every_event_once_more_in_order() {
    a_failing_receiver_gets_every_event_once_more_in_order(TestApp::sqlite_with_webhooks(fast()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_failing_receiver_gets_every_event_once_more_in_order() {
    let Some(app) = TestApp::postgres_with_webhooks(fast()).await else { return };
    a_failing_receiver_gets_every_event_once_more_in_order(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_private_targets_are_refused_by_default() {
    private_targets_are_refused_by_default(TestApp::sqlite().await).await;
}
