//! The load benchmark behind the performance targets in docs/performance.md.
//!
//! `cargo bench --bench load` starts the release `frontdesk` binary on a fresh SQLite database, fills
//! it with `BENCH_USERS` external users (default 100 000; the targets are stated at 1 000 000) through
//! the API, then measures each scenario for `BENCH_SECONDS` seconds (default 5) with `BENCH_CLIENTS`
//! concurrent keep-alive connections (default 32) and prints throughput, p50/p99 latency, the server's
//! resident memory and the database's size per user.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        kb / 1024.0
    }
}

struct Stats {
    requests: usize,
    errors: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Stats {
    fn print(&mut self, name: &str) -> f64 {
        self.latencies.sort();
        let pick = |q: f64| {
            let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len().saturating_sub(1));
            self.latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let rps = self.requests as f64 / self.seconds;
        println!(
            "{name:<28} {rps:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   errors {}",
            pick(0.50),
            pick(0.99),
            self.errors
        );
        rps
    }
}

/// Runs `make_request(i)` for i = 0, 1, 2, ... from `clients` tasks until `duration` has passed or
/// `limit` requests were made; each call returns whether it succeeded.
async fn run<F, Fut>(clients: usize, duration: Duration, limit: usize, make_request: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make_request = Arc::new(make_request);
    let counter = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (make_request, counter) = (make_request.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while started.elapsed() < duration {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let t = Instant::now();
                if !make_request(i).await {
                    errors += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, errors)
        }));
    }
    let mut stats = Stats { requests: 0, errors: 0, seconds: 0.0, latencies: Vec::new() };
    for task in tasks {
        let (latencies, errors) = task.await.expect("client task");
        stats.requests += latencies.len();
        stats.errors += errors;
        stats.latencies.extend(latencies);
    }
    stats.seconds = started.elapsed().as_secs_f64();
    stats
}

#[tokio::main]
async fn main() {
    let users = env_number("BENCH_USERS", 100_000);
    let seconds = Duration::from_secs(env_number("BENCH_SECONDS", 5) as u64);
    let clients = env_number("BENCH_CLIENTS", 32);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bench.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let key = "fdk_benchmarkkey0000000000000000000000000000".to_owned();
    let child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("FRONTDESK_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("FRONTDESK_BOOTSTRAP_API_KEY", &key)
        .env("FRONTDESK_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the release binary");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients * 2).build().expect("client");
    let started = Instant::now();
    while http.get(format!("{}/readyz", server.base)).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(30), "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let get = |path: &str| http.get(format!("{}{path}", server.base)).header("authorization", &key);
    let channels: Value = get("/api/v1/channels").send().await.unwrap().json().await.unwrap();
    let channel = channels[0]["id"].as_str().unwrap().to_owned();
    let tiers: Vec<String> = futures_util::future::join_all((0..10).map(|i| {
        let req = http
            .post(format!("{}/api/v1/tiers", server.base))
            .header("authorization", &key)
            .json(&json!({"name": format!("Tier {i}")}));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned() }
    }))
    .await;

    println!(
        "frontdesk load benchmark: {users} external users, {clients} clients, {}s per scenario",
        seconds.as_secs()
    );
    let body = move |i: usize, tiers: &[String]| {
        json!({"channelId": channel, "externalId": format!("ext-{i:08}"), "identifier": format!("user{i}@example.com"),
               "name": format!("Person {i} {}", ["Ada", "Grace", "Linus", "Barbara", "Edsger"][i % 5]),
               "tierId": tiers[i % tiers.len()], "externalUserGroupId": null})
    };

    // Creates, as fast as the API takes them; they are also the fill for the read scenarios.
    let creates = {
        let (http, base, key) = (http.clone(), server.base.clone(), key.clone());
        run(clients, Duration::from_secs(24 * 3600), users, move |i| {
            let req =
                http.post(format!("{base}/api/v1/external-users")).header("authorization", &key).json(&body(i, &tiers));
            async move { req.send().await.map(|r| r.status() == 200).unwrap_or(false) }
        })
        .await
    };
    let mut creates = creates;
    creates.print("create external user");
    let stored: i64 = {
        let url = format!("sqlite://{}?mode=ro", db.display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("open the database read-only");
        sqlx::query_scalar("SELECT COUNT(*) FROM external_users").fetch_one(&pool).await.expect("count")
    };
    let acknowledged = creates.requests - creates.errors;
    println!("{:<28} {stored} stored of {acknowledged} acknowledged creates", "nothing lost");
    assert_eq!(stored as usize, acknowledged, "every acknowledged create must be stored");

    let sample: Vec<String> = {
        let page: Value =
            get("/api/v1/external-users?pageSize=100&pageNumber=3").send().await.unwrap().json().await.unwrap();
        page.as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect()
    };
    let sample = Arc::new(sample);
    let tier = tiers_sample(&http, &server.base, &key).await;

    let scenario = |path_for: Arc<dyn Fn(usize) -> String + Send + Sync>, with_key: bool| {
        let (http, base, key) = (http.clone(), server.base.clone(), key.clone());
        move |i: usize| {
            let mut req = http.get(format!("{base}{}", path_for(i)));
            if with_key {
                req = req.header("authorization", &key);
            }
            async move { req.send().await.map(|r| r.status() == 200).unwrap_or(false) }
        }
    };
    let trivial = run(clients, seconds, usize::MAX, scenario(Arc::new(|_| "/healthz".to_owned()), false)).await;
    let by_id = {
        let sample = sample.clone();
        run(
            clients,
            seconds,
            usize::MAX,
            scenario(Arc::new(move |i| format!("/api/v1/external-users/{}", sample[i % sample.len()])), true),
        )
        .await
    };
    let filtered = {
        let tier = tier.clone();
        run(
            clients,
            seconds,
            usize::MAX,
            scenario(
                Arc::new(move |i| format!("/api/v1/external-users?tierIds={tier}&pageNumber={}", 1 + i % 20)),
                true,
            ),
        )
        .await
    };
    let search = run(
        clients,
        seconds,
        usize::MAX,
        scenario(Arc::new(|i| format!("/api/v1/external-users?search=user{}%40", (i * 7919) % 100_000)), true),
    )
    .await;

    let (mut trivial, mut by_id, mut filtered, mut search) = (trivial, by_id, filtered, search);
    let trivial_rps = trivial.print("GET /healthz (trivial)");
    let by_id_rps = by_id.print("GET external user by id");
    filtered.print("list filtered by tier");
    search.print("search");
    println!("{:<28} {:.2} (target >= 0.5)", "by-id / trivial throughput", by_id_rps / trivial_rps);
    println!("{:<28} {:.1} MB (target < 150)", "server peak RSS", server.rss_mb());
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    println!("{:<28} {:.0} bytes (target < 1024)", "database per external user", bytes as f64 / users as f64);
}

async fn tiers_sample(http: &reqwest::Client, base: &str, key: &str) -> String {
    let tiers: Value = http
        .get(format!("{base}/api/v1/tiers"))
        .header("authorization", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tiers[3]["id"].as_str().unwrap().to_owned()
}
