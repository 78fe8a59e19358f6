//! Several stateless app nodes on one PostgreSQL database: the database alone keeps the truth.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{exchange, new_schema_name, postgres_url};

/// A `frontdesk serve` process, stopped when dropped.
struct Node {
    base: String,
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn start_node(url: &str, schema: &str, bootstrap_key: &str) -> Node {
    start_node_with(url, schema, bootstrap_key, &[])
}

fn start_node_with(url: &str, schema: &str, bootstrap_key: &str, env: &[(&str, &str)]) -> Node {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .envs(env.iter().copied())
        .env("FRONTDESK_DATABASE_URL", url)
        .env("FRONTDESK_DB_SCHEMA", schema)
        .env("FRONTDESK_BOOTSTRAP_API_KEY", bootstrap_key)
        .env("FRONTDESK_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start frontdesk");
    Node { base: format!("http://127.0.0.1:{port}"), child }
}

async fn wait_ready(client: &reqwest::Client, node: &Node) {
    let started = Instant::now();
    loop {
        if let Ok(r) = exchange(client.get(format!("{}/readyz", node.base))).await
            && r.status == 200
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{} never became ready", node.base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_database_keep_numbers_and_uniqueness_and_lose_nothing() {
    let Some(url) = postgres_url() else { return };
    let schema = new_schema_name();
    let key = format!("fdk_cluster{}", uuid::Uuid::new_v4().simple());
    // All three start at once on an empty database: exactly one of them bootstraps the workspace.
    let nodes: Vec<Node> = (0..3).map(|_| start_node(&url, &schema, &key)).collect();
    let client = reqwest::Client::new();
    for node in &nodes {
        wait_ready(&client, node).await;
    }
    let channels = exchange(client.get(format!("{}/api/v1/channels", nodes[0].base)).header("authorization", &key))
        .await
        .unwrap()
        .into_reply()
        .body;
    assert_eq!(channels.as_array().unwrap().len(), 1, "one workspace, one e-mail channel: {channels}");
    let channel = channels[0]["id"].as_str().unwrap().to_owned();

    let create = |i: usize, identifier: String| {
        let (client, key, channel) = (client.clone(), key.clone(), channel.clone());
        let base = nodes[i % nodes.len()].base.clone();
        async move {
            let body = json!({"channelId": channel, "externalId": null, "identifier": identifier,
                "name": null, "tierId": null, "externalUserGroupId": null});
            let req = client.post(format!("{base}/api/v1/external-users")).header("authorization", &key).json(&body);
            let r = exchange(req).await.unwrap().into_reply();
            (r.status, r.body)
        }
    };
    let distinct = join_all((0..90).map(|i| create(i, format!("user{i}@example.com")))).await;
    assert!(distinct.iter().all(|(s, _)| *s == 200), "{:?}", distinct.iter().map(|(s, _)| s).collect::<Vec<_>>());
    let same = join_all((0..12).map(|i| create(i, "same@example.com".into()))).await;
    let statuses: Vec<u16> = same.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 11, "{statuses:?}");

    // Every acknowledged user is visible from every node.
    for node in &nodes {
        let req = client.get(format!("{}/api/v1/external-users?pageSize=1", node.base)).header("authorization", &key);
        assert_eq!(exchange(req).await.unwrap().headers["x-total-count"], "91");
    }
    for (_, user) in &distinct {
        let id = user["id"].as_str().unwrap();
        let req = client.get(format!("{}/api/v1/external-users/{id}", nodes[2].base)).header("authorization", &key);
        assert_eq!(exchange(req).await.unwrap().status, 200);
    }

    // Tickets created concurrently through all three nodes are numbered 1..N, no gap, no repeat.
    let req = client
        .post(format!("{}/api/v1/locations", nodes[1].base))
        .header("authorization", &key)
        .json(&json!({"name": "Front desk"}));
    let location = exchange(req).await.unwrap().into_reply().body;
    let requester = distinct[0].1["id"].as_str().unwrap().to_owned();
    const TICKETS: usize = 45;
    let tickets = join_all((0..TICKETS).map(|i| {
        let base = nodes[i % nodes.len()].base.clone();
        let body = json!({"ticket": {"locationRef": location["id"], "text": format!("ticket {i}"), "userRefRequester": requester}});
        let req = client.post(format!("{base}/support/tickets/v1")).bearer_auth(&key).json(&body);
        async move {
            let r = exchange(req).await.unwrap().into_reply();
            assert_eq!(r.status, 201);
            r.body["ticket"]["number"].as_i64().unwrap()
        }
    }))
    .await;
    let mut numbers = tickets;
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=TICKETS as i64).collect::<Vec<_>>());
}

/// Polls `status()` until it returns 401 and says how long that took; gives up well after `limit`.
async fn time_until_refused<F, Fut>(limit: Duration, status: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let started = Instant::now();
    loop {
        if status().await == 401 {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit * 4, "still accepted {:?} after the revocation", started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_revoked_on_one_node_is_refused_there_at_once_and_on_the_other_within_the_cache_lifetime() {
    let Some(url) = postgres_url() else { return };
    let schema = new_schema_name();
    let key = format!("fdk_cluster{}", uuid::Uuid::new_v4().simple());
    const TTL: Duration = Duration::from_millis(400);
    let ttl_ms = TTL.as_millis().to_string();
    let env = [("FRONTDESK_CREDENTIAL_CACHE_TTL_MS", ttl_ms.as_str())];
    let a = start_node_with(&url, &schema, &key, &env);
    let client = reqwest::Client::new();
    wait_ready(&client, &a).await;
    let b = start_node_with(&url, &schema, &key, &env);
    wait_ready(&client, &b).await;
    let send = |req: reqwest::RequestBuilder| async move { exchange(req).await.unwrap().into_reply() };

    let created = send(
        client
            .post(format!("{}/api/v1/api-keys", a.base))
            .header("authorization", &key)
            .json(&json!({"name": "CRM sync", "role": "agent"})),
    )
    .await
    .body;
    let (agent, agent_id) = (created["key"].as_str().unwrap().to_owned(), created["id"].as_str().unwrap().to_owned());
    let channels = send(client.get(format!("{}/api/v1/channels", a.base)).header("authorization", &key)).await.body;
    let body = json!({"channelId": channels[0]["id"], "id": null, "externalId": null, "identifier": "me@example.com"});
    let auth = send(
        client.post(format!("{}/api/v1/external-users/authenticate", a.base)).header("authorization", &key).json(&body),
    )
    .await
    .body;
    let token = format!("Bearer {}", auth["accessToken"].as_str().unwrap());
    let user_id = auth["id"].as_str().unwrap().to_owned();

    let status = |base: String, path: &'static str, credential: String| {
        let client = client.clone();
        move || {
            let req = client.get(format!("{base}{path}")).header("authorization", &credential);
            async move { exchange(req).await.unwrap().status }
        }
    };
    let key_on = |node: &Node| status(node.base.clone(), "/api/v1/external-users?pageSize=1", agent.clone());
    let token_on = |node: &Node| status(node.base.clone(), "/api/v1/me", token.clone());
    // Both nodes now hold both credentials in their caches.
    for node in [&a, &b] {
        assert_eq!(key_on(node)().await, 200);
        assert_eq!(token_on(node)().await, 200);
    }

    let revoked =
        send(client.delete(format!("{}/api/v1/api-keys/{agent_id}", a.base)).header("authorization", &key)).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(key_on(&a)().await, 401, "the node that revoked the key refuses it at once");
    let waited = time_until_refused(TTL, key_on(&b)).await;
    // The margin covers the requests' own latency on a busy machine, not a longer lifetime.
    assert!(waited <= TTL + Duration::from_millis(600), "the other node refused the key only after {waited:?}");

    let user = format!("{}/api/v1/external-users/{user_id}", a.base);
    let blocked = send(client.patch(&user).header("authorization", &key).json(&json!({"blocked": true}))).await;
    assert_eq!(blocked.status, 200);
    assert_eq!(token_on(&a)().await, 401, "the node that blocked the user refuses its token at once");
    let waited = time_until_refused(TTL, token_on(&b)).await;
    assert!(waited <= TTL + Duration::from_millis(600), "the other node refused the token only after {waited:?}");

    let unblocked = send(client.patch(&user).header("authorization", &key).json(&json!({"blocked": false}))).await;
    assert_eq!(unblocked.status, 200);
    let again = send(
        client.post(format!("{}/api/v1/external-users/authenticate", a.base)).header("authorization", &key).json(&body),
    )
    .await
    .body;
    let fresh = format!("Bearer {}", again["accessToken"].as_str().unwrap());
    for node in [&a, &b] {
        assert_eq!(token_on(node)().await, 401, "blocking deleted the token: unblocking revives none");
        let me = status(node.base.clone(), "/api/v1/me", fresh.clone());
        assert_eq!(me().await, 200, "a refused token is not cached, so a new one works at once everywhere");
    }
}
