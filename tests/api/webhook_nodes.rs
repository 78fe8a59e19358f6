//! Webhook deliveries across processes: two app nodes on one PostgreSQL database deliver each event
//! once, and a node killed with SIGKILL in the middle of a delivery loses nothing once restarted.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::helpers::{exchange, new_schema_name, postgres_url};

/// A `frontdesk serve` process, killed when dropped.
struct Node {
    base: String,
    child: Child,
}

impl Node {
    /// A node with fast webhook timings, allowed to deliver to this machine's receiver.
    fn start(url: &str, schema: Option<&str>, key: &str) -> Self {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("FRONTDESK_DATABASE_URL", url)
            .env("FRONTDESK_BOOTSTRAP_API_KEY", key)
            .env("FRONTDESK_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
            // A claim lasts 4 × 2 s: a killed node's claim runs out 8 s later.
            .env("FRONTDESK_WEBHOOK_TIMEOUT_MS", "2000")
            .env("FRONTDESK_WEBHOOK_RETRY_BASE_MS", "50")
            .env("FRONTDESK_LOG", "error")
            .stdout(Stdio::null());
        if let Some(schema) = schema {
            cmd.env("FRONTDESK_DB_SCHEMA", schema);
        }
        Self { base: format!("http://127.0.0.1:{port}"), child: cmd.spawn().expect("start frontdesk") }
    }

    async fn wait_ready(&self, client: &reqwest::Client) {
        let started = Instant::now();
        loop {
            if let Ok(r) = exchange(client.get(format!("{}/readyz", self.base))).await
                && r.status == 200
            {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{} never became ready", self.base);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown code runs; the delivery in flight is cut off.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The receiver: every request's `webhook-id` and event, in arrival order. The first `stall`
/// requests get no answer at all (the handler waits until its connection is gone).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    stall: Arc<Mutex<usize>>,
    stalled: Arc<Notify>,
}

impl Receiver {
    async fn start(stall: usize) -> (String, Self) {
        let r = Receiver::default();
        *r.stall.lock().unwrap() = stall;
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(|State(r): State<Receiver>, headers: HeaderMap, body: Bytes| async move {
                    let id = headers["webhook-id"].to_str().unwrap().to_owned();
                    let event: Value = serde_json::from_slice(&body).unwrap();
                    let stall = {
                        let mut left = r.stall.lock().unwrap();
                        let stall = *left > 0;
                        *left = left.saturating_sub(1);
                        stall
                    };
                    r.got.lock().unwrap().push((id, event));
                    if stall {
                        r.stalled.notify_one();
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    StatusCode::OK
                }),
            )
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, r)
    }

    fn distinct(&self) -> usize {
        self.got.lock().unwrap().iter().map(|(id, _)| id.clone()).collect::<HashSet<_>>().len()
    }

    async fn wait_for_distinct(&self, n: usize) {
        let started = Instant::now();
        while self.distinct() < n {
            assert!(started.elapsed() < Duration::from_secs(60), "only {} of {n} events arrived", self.distinct());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The sequence of every request, in arrival order.
    fn sequences(&self) -> Vec<i64> {
        self.got.lock().unwrap().iter().map(|(_, e)| e["sequence"].as_i64().unwrap()).collect()
    }
}

async fn post(client: &reqwest::Client, base: &str, key: &str, path: &str, body: Value) -> Value {
    let req = client.post(format!("{base}{path}")).header("authorization", key).json(&body);
    let r = exchange(req).await.unwrap().into_reply();
    assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    r.body
}

async fn email_channel(client: &reqwest::Client, base: &str, key: &str) -> String {
    let req = client.get(format!("{base}/api/v1/channels")).header("authorization", key);
    exchange(req).await.unwrap().into_reply().body[0]["id"].as_str().unwrap().to_owned()
}

fn user(channel: &str, n: usize) -> Value {
    json!({"channelId": channel, "externalId": null, "identifier": format!("u{n}@example.com"),
           "name": null, "tierId": null, "externalUserGroupId": null})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_deliver_each_event_once_and_in_order() {
    let Some(url) = postgres_url() else { return };
    let schema = new_schema_name();
    let key = format!("fdk_hooks{}", uuid::Uuid::new_v4().simple());
    let nodes = [Node::start(&url, Some(&schema), &key), Node::start(&url, Some(&schema), &key)];
    let client = reqwest::Client::new();
    for node in &nodes {
        node.wait_ready(&client).await;
    }
    let (hook_url, received) = Receiver::start(0).await;
    let channel = email_channel(&client, &nodes[0].base, &key).await;
    post(
        &client,
        &nodes[0].base,
        &key,
        "/api/v1/webhooks",
        json!({"url": hook_url, "types": ["external_user.created"]}),
    )
    .await;
    const EVENTS: usize = 40;
    let creates = (0..EVENTS).map(|n| {
        let (client, key, base, body) = (client.clone(), key.clone(), nodes[n % 2].base.clone(), user(&channel, n));
        async move { post(&client, &base, &key, "/api/v1/external-users", body).await }
    });
    futures_util::future::join_all(creates).await;
    received.wait_for_distinct(EVENTS).await;
    // Both workers keep polling: nothing more may arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sequences = received.sequences();
    assert_eq!(sequences.len(), EVENTS, "each event exactly once: {sequences:?}");
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "in order: {sequences:?}");
}

/// Events recorded, a delivery stalls, the node is killed in the middle of it and started again:
/// every event arrives at least once, and in order (a repeat comes before anything later).
async fn a_node_killed_mid_delivery_delivers_everything_after_a_restart(url: &str, schema: Option<&str>) {
    let key = format!("fdk_hooks{}", uuid::Uuid::new_v4().simple());
    let client = reqwest::Client::new();
    let node = Node::start(url, schema, &key);
    node.wait_ready(&client).await;
    let (hook_url, received) = Receiver::start(1).await;
    let channel = email_channel(&client, &node.base, &key).await;
    post(&client, &node.base, &key, "/api/v1/webhooks", json!({"url": hook_url, "types": ["external_user.created"]}))
        .await;
    for n in 0..10 {
        post(&client, &node.base, &key, "/api/v1/external-users", user(&channel, n)).await;
    }
    tokio::time::timeout(Duration::from_secs(20), received.stalled.notified()).await.expect("a delivery started");
    node.kill();
    assert_eq!(received.distinct(), 1, "the first delivery was in flight when the node died");

    let node = Node::start(url, schema, &key);
    node.wait_ready(&client).await;
    for n in 10..15 {
        post(&client, &node.base, &key, "/api/v1/external-users", user(&channel, n)).await;
    }
    received.wait_for_distinct(15).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sequences = received.sequences();
    assert!(sequences.windows(2).all(|w| w[0] <= w[1]), "in order, a repeat before anything later: {sequences:?}");
    assert_eq!(sequences[0], sequences[1], "the cut-off delivery is made again first: {sequences:?}");
    let mut distinct = sequences.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_node_killed_mid_delivery_delivers_everything_after_a_restart() {
    let Some(url) = postgres_url() else { return };
    a_node_killed_mid_delivery_delivers_everything_after_a_restart(&url, Some(&new_schema_name())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_node_killed_mid_delivery_delivers_everything_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("killed.db").display());
    a_node_killed_mid_delivery_delivers_everything_after_a_restart(&url, None).await;
}
