//! Losing the database: requests answer 503 (never 500), `/readyz` fails, and both recover by
//! themselves when the database is reachable again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{TestApp, postgres_url};

/// A TCP relay in front of PostgreSQL that the test can cut and restore, like a network outage.
struct Outage {
    port: u16,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Outage {
    async fn relay_to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let port = listener.local_addr().expect("addr").port();
        let down = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (d, l) = (down.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused in effect
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                l.lock().unwrap().push(link);
            }
        });
        Self { port, down, links }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// `postgres://user@host:port/db` → (host:port, the same URL with `new_host_port`).
fn split_host(url: &str, new_host_port: &str) -> (SocketAddr, String) {
    let after_at = url.find('@').map_or(url.find("://").unwrap() + 3, |i| i + 1);
    let end = url[after_at..].find('/').map_or(url.len(), |i| after_at + i);
    let host_port = &url[after_at..end];
    let host_port = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    let host_port = host_port.replace("localhost", "127.0.0.1");
    let rewritten = format!("{}{}{}", &url[..after_at], new_host_port, &url[end..]);
    (host_port.parse().expect("host:port of the test database"), rewritten)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_answer_503_while_the_database_is_away_and_recover_by_themselves() {
    let Some(url) = postgres_url() else { return };
    let (target, _) = split_host(&url, "");
    let outage = Outage::relay_to(target).await;
    let (_, relayed) = split_host(&url, &format!("127.0.0.1:{}", outage.port));
    let app = TestApp::postgres_at(&relayed, |o| {
        o.acquire_timeout = Duration::from_millis(500);
        o.max_connections = 4;
    })
    .await;
    app.external_user("before@example.com", "Before").await;

    outage.cut();
    let ready = app.send("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, 503);
    let list = app.get("/api/v1/external-users").await;
    assert_eq!((list.status, list.body["code"].as_i64()), (503, Some(503)), "{:?}", list.body);
    let body = json!({"channelId": app.email_channel_id, "externalId": null, "identifier": "during@example.com",
        "name": null, "tierId": null, "externalUserGroupId": null});
    assert_eq!(app.post("/api/v1/external-users", &body).await.status, 503);

    outage.restore();
    let started = Instant::now();
    while app.send("GET", "/readyz", None, None).await.status != 200 {
        assert!(started.elapsed() < Duration::from_secs(15), "did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = app.get("/api/v1/external-users").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body.as_array().unwrap().len(), 1, "what was acknowledged before is there");
    assert_eq!(app.post("/api/v1/external-users", &body).await.status, 200);
}

/// A node on PostgreSQL that has just written, and whose database sessions were then all ended
/// by the server (`pg_terminate_backend`); `None` where no PostgreSQL is configured.
async fn node_whose_sessions_were_ended() -> Option<TestApp> {
    let url = postgres_url()?;
    let name = format!("frontdesk-{}", crate::helpers::new_schema_name());
    let app = TestApp::postgres_at(&url, |o| o.application_name = name.clone()).await;
    app.external_user("one@example.com", "One").await;
    let admin = sqlx::PgPool::connect(&url).await.expect("admin connection");
    let killed: Vec<bool> =
        sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
            .bind(&name)
            .fetch_all(&admin)
            .await
            .expect("terminate");
    assert!(!killed.is_empty(), "the server had open sessions");
    Some(app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_database_sessions_are_replaced_without_errors() {
    let Some(app) = node_whose_sessions_were_ended().await else { return };

    // A session ended while its connection was just used is found when it is next used: that
    // request may be answered 503 (retryable), never 500, and every connection idle since then is
    // checked before its next use, so no other request sees the loss.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.get("/api/v1/external-users").await.status);
    }
    assert!(statuses.iter().all(|s| *s == 200 || *s == 503), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 1,
        "one lost session makes the others suspect: {statuses:?}"
    );
    assert_eq!(app.send("GET", "/readyz", None, None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_ended_while_the_node_was_quiet_are_replaced_before_any_request_sees_it() {
    let Some(app) = node_whose_sessions_were_ended().await else { return };

    // A connection idle for over a second is pinged before its next use (a failover, a restart or
    // an idle-session timeout on the server all end sessions while nothing runs on them).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/v1/external-users").await.status, 200);
    }
}
