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

/// The signatures of one delivery's `webhook-signature` header.
fn signatures(headers: &HeaderMap) -> Vec<String> {
    headers["webhook-signature"].to_str().unwrap().split(' ').map(str::to_owned).collect()
}

async fn after_a_rotation_both_secrets_sign_every_delivery_during_the_overlap(app: TestApp) {
    let (url, got) = receiver(0).await;
    let hook = subscribe(&app, &url, json!([])).await;
    let (id, old) = (hook["id"].as_str().unwrap().to_owned(), hook["secret"].as_str().unwrap().to_owned());
    wait_for("the creation's delivery", || !got.requests.lock().unwrap().is_empty()).await;
    {
        let requests = got.requests.lock().unwrap();
        let (headers, body) = &requests[0];
        assert_eq!(signatures(headers), [expected_signature(&old, headers, body)], "one secret, one signature");
    }
    let rotated = app.post(&format!("/api/v1/webhooks/{id}/rotate-secret"), &json!({})).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated.body["secretRotatedAt"].is_string(), "{:?}", rotated.body);
    app.external_user("jane@example.com", "Jane").await;
    // The rotation (a webhook.updated), external_user.created and customer.created.
    wait_for("the deliveries after the rotation", || got.requests.lock().unwrap().len() >= 4).await;
    let requests = got.requests.lock().unwrap();
    for (headers, body) in &requests[1..] {
        // A receiver still on the old secret and one already on the new each find theirs.
        let sent = signatures(headers);
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent.contains(&expected_signature(&new, headers, body)), "the new secret signs");
        assert!(sent.contains(&expected_signature(&old, headers, body)), "the old secret still signs");
    }
    let kinds: Vec<String> = requests[1..]
        .iter()
        .map(|(_, b)| serde_json::from_slice::<Value>(b).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["webhook.updated", "external_user.created", "customer.created"]);
}

async fn a_delivered_event_is_redelivered_on_request_with_the_same_id(app: TestApp) {
    let (url, got) = receiver(0).await;
    let hook = subscribe(&app, &url, json!(["external_user.created"])).await;
    app.external_user("jane@example.com", "Jane").await;
    wait_for("the first delivery", || !got.requests.lock().unwrap().is_empty()).await;
    let mut log = Vec::new();
    for _ in 0..100 {
        log = deliveries_of(&app, &hook).await;
        if log.first().is_some_and(|d| d["status"] == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(log.len(), 1, "{log:?}");
    let delivery = log[0]["id"].as_str().unwrap();
    let path = format!("/api/v1/webhooks/{}/deliveries/{delivery}/redeliver", hook["id"].as_str().unwrap());
    let r = app.post(&path, &json!({})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["status"].as_str(), r.body["tries"].as_i64()), (Some("pending"), Some(0)));
    wait_for("the redelivery", || got.requests.lock().unwrap().len() >= 2).await;
    let requests = got.requests.lock().unwrap().clone();
    assert_eq!(requests[0].0["webhook-id"], requests[1].0["webhook-id"], "the same event, so the same webhook-id");
    assert_eq!(requests[0].1, requests[1].1);
    let unknown =
        format!("/api/v1/webhooks/{}/deliveries/{}/redeliver", hook["id"].as_str().unwrap(), uuid::Uuid::new_v4());
    assert_eq!(app.post(&unknown, &json!({})).await.status, 404);
}

async fn repeated_final_failures_disable_the_subscription_with_a_visible_reason(app: TestApp) {
    let (url, got) = receiver(usize::MAX).await;
    let hook = subscribe(&app, &url, json!(["external_user.created"])).await;
    let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().unwrap());
    for n in 0..3 {
        app.external_user(&format!("u{n}@example.com"), "User").await;
    }
    let mut read = Value::Null;
    for _ in 0..250 {
        read = app.get(&path).await.body;
        if read["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(read["enabled"], false, "{read:?}");
    let reason = read["disabledReason"].as_str().unwrap();
    assert!(reason.contains("2 deliveries in a row") && reason.contains("500"), "{reason}");
    // Two events, two tries each; the third waits for the subscription to be enabled again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(got.requests.lock().unwrap().len(), 4);
    let log = deliveries_of(&app, &hook).await;
    let statuses: Vec<&str> = log.iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["pending", "failed", "failed"]);
    // The server's disabling is an event, by the operator, with what changed.
    let disabled: Vec<Value> = all_events(&app).await.into_iter().filter(|e| e["type"] == "webhook.updated").collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0]["actor"], json!({"type": "operator"}));
    assert_eq!(disabled[0]["previous"]["enabled"], true);
    assert_eq!(disabled[0]["data"]["disabledReason"], reason);
    // Enabling it again clears the reason, and the waiting event goes out.
    *got.failures_left.lock().unwrap() = 0;
    let r = app.patch(&path, &json!({"enabled": true})).await;
    assert_eq!((r.body["enabled"].clone(), r.body["disabledReason"].clone()), (json!(true), Value::Null));
    wait_for("the waiting event", || got.requests.lock().unwrap().len() >= 5).await;
    assert_eq!(got.bodies()[4]["data"]["identifier"], "u2@example.com");
}

fn failing_fast() -> WebhookOptions {
    WebhookOptions { max_attempts: 2, disable_after: 2, ..fast() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_after_a_rotation_both_secrets_sign_every_delivery_during_the_overlap() {
    after_a_rotation_both_secrets_sign_every_delivery_during_the_overlap(TestApp::sqlite_with_webhooks(fast()).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_after_a_rotation_both_secrets_sign_every_delivery_during_the_overlap() {
    let Some(app) = TestApp::postgres_with_webhooks(fast()).await else { return };
    after_a_rotation_both_secrets_sign_every_delivery_during_the_overlap(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_delivered_event_is_redelivered_on_request_with_the_same_id() {
    a_delivered_event_is_redelivered_on_request_with_the_same_id(TestApp::sqlite_with_webhooks(fast()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_delivered_event_is_redelivered_on_request_with_the_same_id() {
    let Some(app) = TestApp::postgres_with_webhooks(fast()).await else { return };
    a_delivered_event_is_redelivered_on_request_with_the_same_id(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_repeated_final_failures_disable_the_subscription_with_a_visible_reason() {
    repeated_final_failures_disable_the_subscription_with_a_visible_reason(
        TestApp::sqlite_with_webhooks(failing_fast()).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_repeated_final_failures_disable_the_subscription_with_a_visible_reason() {
    let Some(app) = TestApp::postgres_with_webhooks(failing_fast()).await else { return };
    repeated_final_failures_disable_the_subscription_with_a_visible_reason(app).await;
}
