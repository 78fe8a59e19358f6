//! The load benchmark behind the performance targets in docs/performance.md.
//!
//! `cargo bench --bench load` starts the `frontdesk` binary on a fresh SQLite database (and, when
//! `--postgres URL` / `FRONTDESK_BENCH_POSTGRES` / `FRONTDESK_TEST_DATABASE_URL` names one, on a fresh
//! PostgreSQL schema), fills it with `BENCH_USERS` external users through the API (default 100 000; the
//! targets are stated at 1 000 000), then measures, in the same run and at the same table size:
//!
//! - the floors: the trivial route (`/healthz`), the storage floor (the same PK read and insert through
//!   the store, no HTTP) and the raw database limit (one held connection doing the same read and insert
//!   sequentially: rusqlite on SQLite, a plain sqlx connection on PostgreSQL);
//! - every operation of issue 15, each for `BENCH_SECONDS` (default 5) with `BENCH_CLIENTS` concurrent
//!   keep-alive connections (default 32).
//!
//! Reads are reported as a ratio to the trivial route, writes as a ratio to the storage insert floor:
//! the load generator shares the machine's cores with the server, so only ratios measured in one run
//! compare. At the end it checks that every create answered 2xx is in the database ("nothing lost").
//!
//! `--small` (or `FRONTDESK_BENCH_SMALL=1`): 10 000 users, 2 s per scenario, and a non-zero exit on any
//! error or lost write (never on speed); CI runs it. `--json PATH` (or `FRONTDESK_BENCH_JSON`) writes
//! the whole result. `BENCH_ONLY=key,key` runs only those scenarios (the fill always runs);
//! `BENCH_SERVER_WRAPPER="valgrind --tool=callgrind"` starts the server under a profiler;
//! `BENCH_FILL=import` fills through the import endpoint instead of one create per request.
//! `BENCH_SERVER_LOG` is the server's `FRONTDESK_LOG` (default `warn`): e.g.
//! `frontdesk::store=debug` logs each slow direct write on SQLite.
//! `BENCH_KEEP=1` keeps the databases afterwards (the SQLite file, the PostgreSQL schema) and prints
//! where they are, to look at their plans at size (`EXPLAIN`).
//! `create_webhook` measures creates back to back without and then with one enabled webhook
//! subscription (to a receiver in this process) and prints the ratio and how long the deliveries
//! took to catch up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use frontdesk::PostgresOptions;
use frontdesk::domain::{ExternalUser, Timestamp};
use frontdesk::store::Store;
use serde_json::{Value, json};
use uuid::Uuid;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Options {
    users: usize,
    seconds: Duration,
    clients: usize,
    small: bool,
    json: Option<PathBuf>,
    postgres: Option<String>,
    sqlite: bool,
    only: Option<Vec<String>>,
    wrapper: Option<String>,
}

impl Options {
    fn parse() -> Self {
        let mut args = std::env::args().skip(1);
        let mut small = std::env::var("FRONTDESK_BENCH_SMALL").is_ok_and(|v| v == "1" || v == "true");
        let mut json = std::env::var_os("FRONTDESK_BENCH_JSON").map(PathBuf::from);
        let mut postgres = std::env::var("FRONTDESK_BENCH_POSTGRES")
            .or_else(|_| std::env::var("FRONTDESK_TEST_DATABASE_URL"))
            .ok()
            .filter(|u| !u.is_empty());
        let mut sqlite = true;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--small" => small = true,
                "--json" => json = args.next().map(PathBuf::from),
                "--postgres" => postgres = args.next(),
                "--no-postgres" => postgres = None,
                "--no-sqlite" => sqlite = false,
                // cargo bench passes --bench; anything else is a mistake worth stopping for.
                "--bench" => {}
                other => panic!("unknown argument {other}: use --small, --json PATH, --postgres URL, --no-sqlite"),
            }
        }
        let (users, seconds) = if small { (10_000, 2) } else { (100_000, 5) };
        Self {
            users: env_number("BENCH_USERS", users),
            seconds: Duration::from_secs(env_number("BENCH_SECONDS", seconds) as u64),
            clients: env_number("BENCH_CLIENTS", 32),
            small,
            json,
            postgres,
            sqlite,
            only: std::env::var("BENCH_ONLY").ok().map(|v| v.split(',').map(str::to_owned).collect()),
            wrapper: std::env::var("BENCH_SERVER_WRAPPER").ok().filter(|w| !w.is_empty()),
        }
    }

    /// Whether to run the scenario `key`; when so, says on stderr that it starts, so a profiler can
    /// be attached to the server for just that scenario.
    fn wants(&self, key: &str) -> bool {
        let wanted = self.only.as_ref().is_none_or(|only| only.iter().any(|k| k == key));
        if wanted {
            eprintln!("[bench] starting {key}");
        }
        wanted
    }
}

/// Where a run's data lives.
enum Backend {
    Sqlite { path: PathBuf, _dir: tempfile::TempDir },
    Postgres { url: String, schema: String, pool: sqlx::PgPool },
}

impl Backend {
    fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }

    fn server_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Backend::Sqlite { path, .. } => vec![("FRONTDESK_DATABASE_URL", format!("sqlite://{}", path.display()))],
            Backend::Postgres { url, schema, .. } => {
                vec![("FRONTDESK_DATABASE_URL", url.clone()), ("FRONTDESK_DB_SCHEMA", schema.clone())]
            }
        }
    }

    async fn store(&self) -> Arc<dyn Store> {
        let mut pg = PostgresOptions::default();
        let url = match self {
            Backend::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Backend::Postgres { url, schema, .. } => {
                pg.schema = Some(schema.clone());
                url.clone()
            }
        };
        frontdesk::open_store(&url, &pg).await.expect("open the store in the benchmark process")
    }

    async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match self {
            Backend::Sqlite { path, .. } => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let db = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                        .expect("open the database read-only");
                    db.query_row(&sql, [], |r| r.get(0)).expect("count")
                })
                .await
                .expect("count task")
            }
            Backend::Postgres { pool, .. } => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await.expect("count")
            }
        }
    }

    /// Brings the planner's statistics up to the filled tables, as a deployment's autovacuum does
    /// once a tenth of a table changed: a test server may run without it, and PostgreSQL then plans
    /// every search on the statistics of an empty table (a scan of the workspace, not the trigram
    /// index). SQLite keeps no statistics unless asked, and the server never asks.
    async fn settle(&self) {
        if let Backend::Postgres { pool, .. } = self {
            const TABLES: &str = "external_users, super_identities, tickets, ticket_activities, \
                ticket_participants, staff_users, web_sessions, access_tokens, events, event_counters";
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {TABLES}"))).execute(pool).await.expect("analyze");
        }
    }

    /// What the outbox takes of [`Backend::bytes`]: the events, their counters and the webhook
    /// deliveries and attempts, with their indexes (`None` where SQLite's page statistics are missing).
    async fn outbox_bytes(&self) -> Option<u64> {
        const OUTBOX: &str = "'events', 'event_counters', 'webhook_deliveries', 'webhook_attempts'";
        match self {
            Backend::Sqlite { path, .. } => {
                let path = path.clone();
                let sql = format!(
                    "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN \
                     (SELECT name FROM sqlite_schema WHERE tbl_name IN ({OUTBOX}))"
                );
                tokio::task::spawn_blocking(move || {
                    let db = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                        .ok()?;
                    db.query_row(&sql, [], |r| r.get::<_, i64>(0)).ok().map(|n| n as u64)
                })
                .await
                .ok()
                .flatten()
            }
            Backend::Postgres { schema, pool, .. } => {
                let sql = format!(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' \
                     AND c.relname IN ({OUTBOX})"
                );
                let total: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(schema).fetch_one(pool).await.ok()?;
                Some(total as u64)
            }
        }
    }

    async fn bytes(&self) -> u64 {
        match self {
            Backend::Sqlite { path, .. } => ["", "-wal"]
                .iter()
                .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
                .map(|m| m.len())
                .sum(),
            Backend::Postgres { schema, pool, .. } => {
                let total: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                )
                .bind(schema)
                .fetch_one(pool)
                .await
                .expect("schema size");
                total as u64
            }
        }
    }
}

struct Server {
    child: Child,
    base: String,
    /// Under a profiler the server is asked to stop (as by Ctrl-C), so the profiler writes its data.
    profiled: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.profiled {
            let asked = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
            let started = Instant::now();
            while asked.as_ref().is_ok_and(|s| s.success()) && started.elapsed() < Duration::from_secs(120) {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(options: &Options, backend: &Backend, key: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let binary = env!("CARGO_BIN_EXE_frontdesk");
        let mut command = match &options.wrapper {
            Some(wrapper) => {
                let mut words = wrapper.split_whitespace();
                let mut c = Command::new(words.next().expect("a wrapper command"));
                // With the bound already set the server does not start itself again
                // (`src/bin/frontdesk/allocator.rs`), which would leave the profiler behind.
                c.args(words).arg(binary).env("MALLOC_ARENA_MAX", "2");
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .envs(backend.server_env())
            .env("FRONTDESK_BOOTSTRAP_API_KEY", key)
            // The webhook scenario's receiver is on this machine.
            .env("FRONTDESK_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
            .env("FRONTDESK_LOG", std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .spawn()
            .expect("start the frontdesk binary");
        Server { child, base: format!("http://127.0.0.1:{port}"), profiled: options.wrapper.is_some() }
    }

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

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The read floor every read is compared with.
    Trivial,
    /// The write floor every write is compared with.
    StoreInsert,
    /// Other floors, compared with the one above them.
    Floor,
    Read,
    Write,
}

struct Stats {
    requests: usize,
    errors: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }

    fn quantile_ms(&mut self, q: f64) -> f64 {
        self.latencies.sort_unstable();
        let i = ((self.latencies.len() as f64 * q) as usize).min(self.latencies.len().saturating_sub(1));
        self.latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    fn acknowledged(&self) -> usize {
        self.requests - self.errors
    }
}

struct Outcome {
    key: &'static str,
    name: &'static str,
    kind: Kind,
    rps: f64,
    p50: f64,
    p99: f64,
    requests: usize,
    errors: usize,
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

/// Runs `op(i)` on one thread, one after another, for `duration`: what one held connection does.
fn run_sequential(duration: Duration, mut op: impl FnMut(usize) -> bool) -> Stats {
    let started = Instant::now();
    let mut stats = Stats { requests: 0, errors: 0, seconds: 0.0, latencies: Vec::new() };
    while started.elapsed() < duration {
        let t = Instant::now();
        if !op(stats.requests) {
            stats.errors += 1;
        }
        stats.latencies.push(t.elapsed());
        stats.requests += 1;
    }
    stats.seconds = started.elapsed().as_secs_f64();
    stats
}

/// A request that counts as a success when it answers 2xx and its body arrives whole (reading it
/// keeps the connection reusable).
async fn succeeds(req: reqwest::RequestBuilder) -> bool {
    match req.send().await {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            report_error(&format!("{status}: {}", text.chars().take(200).collect::<String>()));
            false
        }
        Err(e) => {
            report_error(&e.to_string());
            false
        }
    }
}

/// The first few failures are printed so a failing CI run says why.
fn report_error(what: &str) {
    static SHOWN: AtomicUsize = AtomicUsize::new(0);
    if SHOWN.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("request failed: {what}");
    }
}

struct Fixture {
    http: reqwest::Client,
    base: String,
    key: String,
    workspace_id: Uuid,
    channel: String,
    tiers: Vec<String>,
    location: String,
    tickets: Vec<String>,
    tokens: Vec<String>,
    sample: Vec<String>,
}

impl Fixture {
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.base)).header("authorization", &self.key)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base)).header("authorization", &self.key)
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Value {
        let r = req.send().await.expect("setup request");
        let status = r.status();
        let body: Value = r.json().await.expect("setup response");
        assert!(status.is_success(), "setup request failed: {status} {body}");
        body
    }
}

fn user_body(channel: &str, tiers: &[String], i: usize) -> Value {
    json!({"channelId": channel, "externalId": format!("ext-{i:08}"), "identifier": format!("user{i}@example.com"),
           "name": format!("Person {i} {}", ["Ada", "Grace", "Linus", "Barbara", "Edsger"][i % 5]),
           "tierId": tiers[i % tiers.len()], "externalUserGroupId": null})
}

/// The fill's rows posted to the import endpoint in uploads of 100,000: one "request" per created row,
/// one "error" per rejected one, no latencies.
async fn import_fill(fx: &Fixture, users: usize) -> Stats {
    const ROWS_PER_UPLOAD: usize = 100_000;
    let started = Instant::now();
    let (mut created, mut rejected) = (0, 0);
    for start in (0..users).step_by(ROWS_PER_UPLOAD) {
        let mut body = String::new();
        for i in start..(start + ROWS_PER_UPLOAD).min(users) {
            body.push_str(&user_body(&fx.channel, &fx.tiers, i).to_string());
            body.push('\n');
        }
        let report = fx
            .json(fx.post("/api/v1/external-users/import").header("content-type", "application/x-ndjson").body(body))
            .await;
        created += report["created"].as_u64().expect("created count") as usize;
        rejected += report["rejected"].as_u64().expect("rejected count") as usize;
    }
    Stats {
        requests: created + rejected,
        errors: rejected,
        seconds: started.elapsed().as_secs_f64(),
        latencies: vec![],
    }
}

/// What the benchmark wrote, per table, to check against the database at the end.
#[derive(Default)]
struct Ledger {
    baseline: BTreeMap<&'static str, i64>,
    acknowledged: BTreeMap<&'static str, usize>,
}

impl Ledger {
    fn add(&mut self, table: &'static str, n: usize) {
        *self.acknowledged.entry(table).or_default() += n;
    }
}

const TABLES: [&str; 4] = ["external_users", "tickets", "staff_users", "access_tokens"];

struct Report {
    outcomes: Vec<Outcome>,
    lost: BTreeMap<&'static str, (usize, i64)>,
    rss_mb: f64,
    bytes_per_user: f64,
    /// The same without the outbox's tables (what retention bounds); `None` when not measurable.
    bytes_per_user_without_outbox: Option<f64>,
}

async fn bench(options: &Options, backend: &Backend) -> Report {
    let key = format!("fdk_bench{}", Uuid::new_v4().simple());
    let server = Server::start(options, backend, &key);
    let http = reqwest::Client::builder().pool_max_idle_per_host(options.clients * 2).build().expect("client");
    let started = Instant::now();
    while http.get(format!("{}/readyz", server.base)).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(120), "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store = backend.store().await;
    let workspace_id = store.workspace_ids(1).await.expect("workspace")[0];
    let mut fx = Fixture {
        http: http.clone(),
        base: server.base.clone(),
        key: key.clone(),
        workspace_id,
        channel: String::new(),
        tiers: Vec::new(),
        location: String::new(),
        tickets: Vec::new(),
        tokens: Vec::new(),
        sample: Vec::new(),
    };
    let channels = fx.json(fx.get("/api/v1/channels")).await;
    fx.channel = channels[0]["id"].as_str().expect("channel id").to_owned();
    for i in 0..10 {
        let tier = fx.json(fx.post("/api/v1/tiers").json(&json!({"name": format!("Tier {i}")}))).await;
        fx.tiers.push(tier["id"].as_str().expect("tier id").to_owned());
    }
    let location = fx.json(fx.post("/api/v1/locations").json(&json!({"name": "Front desk"}))).await;
    fx.location = location["id"].as_str().expect("location id").to_owned();

    let mut ledger = Ledger::default();
    for table in TABLES {
        ledger.baseline.insert(table, backend.count(table).await);
    }
    let (users, clients, seconds) = (options.users, options.clients, options.seconds);
    println!("\n[{}] {users} external users, {clients} clients, {}s per scenario", backend.label(), seconds.as_secs());
    let mut outcomes = Vec::new();
    let mut record = |key, name, kind, mut stats: Stats| {
        let (p50, p99) = (stats.quantile_ms(0.5), stats.quantile_ms(0.99));
        outcomes.push(Outcome {
            key,
            name,
            kind,
            rps: stats.rps(),
            p50,
            p99,
            requests: stats.requests,
            errors: stats.errors,
        });
    };

    // The fill: creates as fast as the API takes them, to `users` rows; or, with `BENCH_FILL=import`,
    // the same rows through the import endpoint (a million rows in minutes instead of most of an hour
    // on PostgreSQL), for runs that measure reads at size.
    if std::env::var("BENCH_FILL").is_ok_and(|v| v == "import") {
        let fill = import_fill(&fx, users).await;
        ledger.add("external_users", fill.acknowledged());
        record("fill", "external users imported (fill)", Kind::Write, fill);
    } else {
        let fill = {
            let (http, base, key, channel, tiers) =
                (http.clone(), fx.base.clone(), key.clone(), fx.channel.clone(), fx.tiers.clone());
            run(clients, Duration::from_secs(24 * 3600), users, move |i| {
                succeeds(
                    http.post(format!("{base}/api/v1/external-users"))
                        .header("authorization", &key)
                        .json(&user_body(&channel, &tiers, i)),
                )
            })
            .await
        };
        ledger.add("external_users", fill.acknowledged());
        record("fill", "create external user (fill)", Kind::Write, fill);
    }

    let page = fx.json(fx.get("/api/v1/external-users?pageSize=100&pageNumber=3")).await;
    fx.sample = page.as_array().expect("a page").iter().map(|u| u["id"].as_str().expect("id").to_owned()).collect();
    for i in 0..10 {
        let body = json!({"channelId": fx.channel, "id": null, "externalId": null,
                          "identifier": format!("user{}@example.com", i * 7)});
        let auth = fx.json(fx.post("/api/v1/external-users/authenticate").json(&body)).await;
        fx.tokens.push(format!("Bearer {}", auth["accessToken"].as_str().expect("token")));
        ledger.add("access_tokens", 1);
    }
    for i in 0..20 {
        let body = json!({"ticket": {"locationRef": fx.location, "text": format!("Setup ticket {i}"),
                                     "userRefRequester": fx.sample[i % fx.sample.len()]}});
        let created = fx.json(fx.post("/support/tickets/v1").json(&body)).await;
        fx.tickets.push(created["ticket"]["id"].as_str().expect("ticket id").to_owned());
        ledger.add("tickets", 1);
    }
    let fx = Arc::new(fx);
    backend.settle().await;

    // The floors, at the same table size as every operation after them.
    if options.wants("trivial") {
        let fx = fx.clone();
        let stats =
            run(clients, seconds, usize::MAX, move |_| succeeds(fx.http.get(format!("{}/healthz", fx.base)))).await;
        record("trivial", "GET /healthz (trivial)", Kind::Trivial, stats);
    }
    let ids: Arc<Vec<Uuid>> = Arc::new(fx.sample.iter().map(|s| s.parse().expect("uuid")).collect());
    if options.wants("store_read") {
        let (store, ids, ws) = (store.clone(), ids.clone(), fx.workspace_id);
        let stats = run(clients, seconds, usize::MAX, move |i| {
            let store = store.clone();
            let id = ids[i % ids.len()];
            async move { store.get_external_user(ws, id).await.is_ok() }
        })
        .await;
        record("store_read", "store: get by id (no HTTP)", Kind::Floor, stats);
    }
    let new_user = {
        let (ws, channel) = (fx.workspace_id, fx.channel.parse::<Uuid>().expect("uuid"));
        let tiers: Vec<Uuid> = fx.tiers.iter().map(|t| t.parse().expect("uuid")).collect();
        move |tag: &str, i: usize| {
            let now = Timestamp::now();
            ExternalUser {
                id: Uuid::new_v4(),
                workspace_id: ws,
                channel_id: channel,
                super_identity_id: Uuid::new_v4(),
                external_id: Some(format!("{tag}-{i:08}")),
                identifier: Some(format!("{tag}{i}@example.com")),
                name: Some(format!("Floor {i}")),
                tier_id: Some(tiers[i % tiers.len()]),
                external_user_group_id: None,
                blocked: false,
                time_zone: None,
                created_at: now,
                updated_at: now,
            }
        }
    };
    if options.wants("store_insert") {
        let (store, new_user) = (store.clone(), new_user.clone());
        let stats = run(clients, seconds, usize::MAX, move |i| {
            let (store, user) = (store.clone(), new_user("store", i));
            async move { store.insert_external_user(&user, frontdesk::domain::Actor::Operator).await.is_ok() }
        })
        .await;
        ledger.add("external_users", stats.acknowledged());
        record("store_insert", "store: create external user", Kind::StoreInsert, stats);
    }
    if options.wants("raw_read") || options.wants("raw_insert") {
        let (read, insert) = raw_floors(backend, &ids, &new_user, seconds, options).await;
        if let Some(stats) = read {
            record("raw_read", "raw: PK read, held connection", Kind::Floor, stats);
        }
        if let Some(stats) = insert {
            ledger.add("external_users", stats.acknowledged());
            record("raw_insert", "raw: insert, held connection", Kind::Floor, stats);
        }
    }

    // The operations.
    if options.wants("get_by_id") {
        let fx = fx.clone();
        let stats = run(clients, seconds, usize::MAX, move |i| {
            succeeds(fx.get(&format!("/api/v1/external-users/{}", fx.sample[i % fx.sample.len()])))
        })
        .await;
        record("get_by_id", "get external user by id", Kind::Read, stats);
    }
    if options.wants("create") {
        let fx = fx.clone();
        let offset = users + 1_000_000_000;
        let stats = run(clients, seconds, usize::MAX, move |i| {
            succeeds(fx.post("/api/v1/external-users").json(&user_body(&fx.channel, &fx.tiers, offset + i)))
        })
        .await;
        ledger.add("external_users", stats.acknowledged());
        record("create", "create external user", Kind::Write, stats);
    }
    if options.wants("list_by_tier") {
        let fx = fx.clone();
        let stats = run(clients, seconds, usize::MAX, move |i| {
            succeeds(fx.get(&format!("/api/v1/external-users?tierIds={}&pageNumber={}", fx.tiers[3], 1 + i % 20)))
        })
        .await;
        record("list_by_tier", "list filtered by tier (p1..20)", Kind::Read, stats);
    }
    if options.wants("search") {
        let fx = fx.clone();
        let stats = run(clients, seconds, usize::MAX, move |i| {
            succeeds(fx.get(&format!("/api/v1/external-users?search=user{}%40", (i * 7919) % users)))
        })
        .await;
        record("search", "search by e-mail local part", Kind::Read, stats);
    }
    if options.wants("authenticate") {
        let fx = fx.clone();
        let stats = run(clients, seconds, usize::MAX, move |i| {
            let body = json!({"channelId": fx.channel, "id": null, "externalId": null,
                              "identifier": format!("user{}@example.com", (i * 104_729) % users)});
            succeeds(fx.post("/api/v1/external-users/authenticate").json(&body))
        })
        .await;
        ledger.add("access_tokens", stats.acknowledged());
        record("authenticate", "authenticate (issue token)", Kind::Write, stats);
    }
    if options.wants("me") {
        let fx = fx.clone();
        let stats = run(clients, seconds, usize::MAX, move |i| {
            let token = &fx.tokens[i % fx.tokens.len()];
            succeeds(fx.http.get(format!("{}/api/v1/me", fx.base)).header("authorization", token))
        })
        .await;
        record("me", "GET /me by access token", Kind::Read, stats);
    }
    if options.wants("create_ticket") {
        let fx = fx.clone();
        let stats = run(clients / 2, seconds, usize::MAX, move |i| {
            let body = json!({"ticket": {"locationRef": fx.location, "text": format!("Bench ticket {i}"),
                                         "userRefRequester": fx.sample[i % fx.sample.len()]}});
            succeeds(fx.post("/support/tickets/v1").json(&body))
        })
        .await;
        ledger.add("tickets", stats.acknowledged());
        record("create_ticket", "create ticket (c/2)", Kind::Write, stats);
    }
    if options.wants("get_ticket") {
        let fx = fx.clone();
        let stats = run(clients / 2, seconds, usize::MAX, move |i| {
            succeeds(fx.get(&format!("/support/tickets/v1/{}", fx.tickets[i % fx.tickets.len()])))
        })
        .await;
        record("get_ticket", "get ticket + activities (c/2)", Kind::Read, stats);
    }
    if options.wants("add_ticket_user") {
        let fx = fx.clone();
        let stats = run(clients, seconds, usize::MAX, move |i| {
            let ticket = &fx.tickets[i % fx.tickets.len()];
            let body = json!({"email": format!("added{i}@example.com")});
            succeeds(fx.post(&format!("/v1/crm/tickets/{ticket}/external-users")).json(&body))
        })
        .await;
        ledger.add("external_users", stats.acknowledged());
        record("add_ticket_user", "add ticket external user (000)", Kind::Write, stats);
    }
    if options.wants("staff_xml") {
        let fx = fx.clone();
        let stats = run(clients, seconds, usize::MAX, move |i| {
            let body = format!(
                "<User><Email>staff{i}@example.com</Email><FirstName>Ann</FirstName><LastName>Lee {i}</LastName>\
                 <WebsiteRole>Agent</WebsiteRole></User>"
            );
            succeeds(fx.post("/api/v1/suser").header("content-type", "application/xml").body(body))
        })
        .await;
        ledger.add("staff_users", stats.acknowledged());
        record("staff_xml", "XML staff user create (003)", Kind::Write, stats);
    }

    if options.wants("create_webhook") {
        let creates = |offset: usize| {
            let fx = fx.clone();
            run(clients, seconds, usize::MAX, move |i| {
                succeeds(fx.post("/api/v1/external-users").json(&user_body(&fx.channel, &fx.tiers, offset + i)))
            })
        };
        // Back to back, so both see the same table size and the same machine.
        let without = creates(users + 2_000_000_000).await;
        ledger.add("external_users", without.acknowledged());
        let (hook_url, delivered) = receiver().await;
        let hook = fx
            .json(fx.post("/api/v1/webhooks").json(&json!({"url": hook_url, "types": ["external_user.created"]})))
            .await;
        let with = creates(users + 3_000_000_000).await;
        let acknowledged = with.acknowledged();
        ledger.add("external_users", acknowledged);
        let ratio = with.rps() / without.rps().max(f64::MIN_POSITIVE);
        let at_end = delivered.load(Ordering::Relaxed);
        let drain = Instant::now();
        while delivered.load(Ordering::Relaxed) < acknowledged && drain.elapsed() < Duration::from_secs(300) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!(
            "webhook: creates with one subscription at {ratio:.2} of creates without; {at_end} of {acknowledged} \
             delivered when the creates stopped, all {} {:.1}s later",
            delivered.load(Ordering::Relaxed),
            drain.elapsed().as_secs_f64()
        );
        let path = format!("/api/v1/webhooks/{}", hook["id"].as_str().expect("webhook id"));
        let _ = fx.http.delete(format!("{}{path}", fx.base)).header("authorization", &fx.key).send().await;
        record("create_no_webhook", "create external user, no webhook", Kind::Write, without);
        record("create_webhook", "create external user, 1 webhook", Kind::Write, with);
    }
    // The agent console's pages, as a signed-in staff user's browser asks for them (one sign-in,
    // its cookie reused; redirects not followed, so a lost session counts as an error).
    if options.wants("console_people") || options.wants("console_ticket") {
        let cookie = console_session(&store, &fx).await;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(clients * 2)
            .build()
            .expect("client");
        if options.wants("console_people") {
            let (fx, browser, cookie) = (fx.clone(), browser.clone(), cookie.clone());
            let stats = run(clients, seconds, usize::MAX, move |i| {
                let url = format!("{}/settings/console/people?q=user{}%40", fx.base, (i * 7919) % users);
                succeeds(browser.get(url).header("cookie", &cookie))
            })
            .await;
            record("console_people", "console: people search page", Kind::Read, stats);
        }
        if options.wants("console_ticket") {
            let (fx, browser, cookie) = (fx.clone(), browser.clone(), cookie.clone());
            let stats = run(clients, seconds, usize::MAX, move |i| {
                let url = format!("{}/settings/console/tickets/{}", fx.base, fx.tickets[i % fx.tickets.len()]);
                succeeds(browser.get(url).header("cookie", &cookie))
            })
            .await;
            record("console_ticket", "console: ticket page", Kind::Read, stats);
        }
    }

    // Nothing lost: every acknowledged create is stored.
    let mut lost = BTreeMap::new();
    for table in TABLES {
        let stored = backend.count(table).await - ledger.baseline[table];
        lost.insert(table, (ledger.acknowledged.get(table).copied().unwrap_or(0), stored));
    }
    let rss_mb = server.rss_mb();
    let stored_users = backend.count("external_users").await.max(1);
    let bytes = backend.bytes().await;
    let bytes_per_user = bytes as f64 / stored_users as f64;
    let outbox = backend.outbox_bytes().await;
    let bytes_per_user_without_outbox = outbox.map(|o| bytes.saturating_sub(o) as f64 / stored_users as f64);
    Report { outcomes, lost, rss_mb, bytes_per_user, bytes_per_user_without_outbox }
}

/// A webhook receiver on port 0 that answers 200 at once; counts the deliveries of distinct events.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let (seen2, count2) = (seen.clone(), count.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let (seen, count) = (seen2.clone(), count2.clone());
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                if seen.lock().expect("seen").insert(id) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("receiver port");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    (url, count)
}

/// A staff agent made through the use cases on the bench's own store (invited, then accepting with
/// a password), signed in through the sign-in form: the `Cookie` header its browser would send.
async fn console_session(store: &Arc<dyn Store>, fx: &Fixture) -> String {
    use frontdesk::app::{App, Principal, StaffInvite};
    use frontdesk::domain::{EmailAddress, Password, Role};
    const PASSWORD: &str = "correct horse battery";
    let app = App::new(store.clone());
    let email = format!("bench-agent-{}@example.com", Uuid::new_v4().simple());
    let invite = StaffInvite {
        email: EmailAddress::parse(&email).expect("email"),
        first_name: None,
        last_name: None,
        external_id: None,
        role: Role::Agent,
        role_named_user: false,
        password: None,
        group_ids: Vec::new(),
        folder_ids: Vec::new(),
    };
    let invited =
        app.invite_staff_user(&Principal::Operator { workspace_id: fx.workspace_id }, invite).await.expect("invite");
    app.accept_invitation(&invited.invitation_token, Some(Password::parse(PASSWORD).expect("password")))
        .await
        .expect("accept");
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let cookies = |r: &reqwest::Response| -> Vec<String> {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next().map(str::to_owned))
            .collect()
    };
    let form = browser.get(format!("{}/settings/sign-in", fx.base)).send().await.expect("sign-in page");
    let pre = cookies(&form).join("; ");
    let page = form.text().await.expect("sign-in page");
    let marker = "name=\"csrf_token\" value=\"";
    let at = page.find(marker).expect("a CSRF field") + marker.len();
    let csrf = &page[at..at + page[at..].find('"').expect("end of the token")];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("csrf_token", csrf), ("email", email.as_str()), ("password", PASSWORD)])
        .finish();
    let signed = browser
        .post(format!("{}/settings/sign-in", fx.base))
        .header("cookie", pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), 303, "the bench agent could not sign in");
    cookies(&signed).into_iter().find(|c| c.starts_with("frontdesk_session=")).expect("session")
}

/// The same PK read and insert on one held connection, sequentially: the database's own limit.
async fn raw_floors(
    backend: &Backend,
    ids: &Arc<Vec<Uuid>>,
    new_user: &(impl Fn(&str, usize) -> ExternalUser + Clone + Send + 'static),
    seconds: Duration,
    options: &Options,
) -> (Option<Stats>, Option<Stats>) {
    const READ: &str = "SELECT id, workspace_id, channel_id, super_identity_id, external_id, identifier, name, \
                        tier_id, group_id, blocked, time_zone, created_at, updated_at \
                        FROM external_users WHERE id = $1 AND workspace_id = $2";
    const CHECK: &str = "SELECT EXISTS (SELECT 1 FROM channels WHERE id = $1 AND workspace_id = $4), \
                         $2 IS NULL OR EXISTS (SELECT 1 FROM tiers WHERE id = $2 AND workspace_id = $4), \
                         $3 IS NULL OR EXISTS (SELECT 1 FROM external_user_groups WHERE id = $3 AND workspace_id = $4)";
    const IDENTITY: &str = "INSERT INTO super_identities (id, workspace_id, created_at) VALUES ($1, $2, $3)";
    const INSERT: &str = "INSERT INTO external_users (id, workspace_id, channel_id, super_identity_id, external_id, \
                          identifier, name, tier_id, group_id, blocked, time_zone, created_at, updated_at) \
                          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    let (want_read, want_insert) = (options.wants("raw_read"), options.wants("raw_insert"));
    match backend {
        Backend::Sqlite { path, .. } => {
            let (path, ids, new_user) = (path.clone(), ids.clone(), new_user.clone());
            // SQLite numbers `$1` by first appearance; `?1` is the explicit position sqlx's text means.
            let sqlite = |sql: &str| sql.replace('$', "?");
            let (read_sql, check_sql, identity_sql, insert_sql) =
                (sqlite(READ), sqlite(CHECK), sqlite(IDENTITY), sqlite(INSERT));
            tokio::task::spawn_blocking(move || {
                let db = rusqlite::Connection::open(&path).expect("open the database");
                db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA cache_size = -8000;")
                    .expect("pragmas");
                let read = want_read.then(|| {
                    let mut stmt = db.prepare(&read_sql).expect("prepare");
                    let ws = new_user("x", 0).workspace_id;
                    run_sequential(seconds, |i| {
                        let id = ids[i % ids.len()];
                        stmt.query_row(rusqlite::params![id.as_bytes(), ws.as_bytes()], |r| {
                            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<String>>(5)?, r.get::<_, i64>(12)?))
                        })
                        .is_ok()
                    })
                });
                let insert = want_insert.then(|| {
                    let mut check = db.prepare(&check_sql).expect("prepare");
                    let mut identity = db.prepare(&identity_sql).expect("prepare");
                    let mut insert = db.prepare(&insert_sql).expect("prepare");
                    run_sequential(seconds, |i| {
                        let u = new_user("raw", i);
                        let mut one = || -> rusqlite::Result<()> {
                            db.execute_batch("BEGIN IMMEDIATE")?;
                            let opt = |v: Option<Uuid>| v.map(|v| v.as_bytes().to_vec());
                            check.query_row(
                                rusqlite::params![u.channel_id.as_bytes(), opt(u.tier_id), opt(u.external_user_group_id), u.workspace_id.as_bytes()],
                                |r| Ok((r.get::<_, bool>(0)?, r.get::<_, bool>(1)?, r.get::<_, bool>(2)?)),
                            )?;
                            identity.execute(rusqlite::params![
                                u.super_identity_id.as_bytes(),
                                u.workspace_id.as_bytes(),
                                u.created_at.micros()
                            ])?;
                            insert.execute(rusqlite::params![
                                u.id.as_bytes(),
                                u.workspace_id.as_bytes(),
                                u.channel_id.as_bytes(),
                                u.super_identity_id.as_bytes(),
                                u.external_id,
                                u.identifier,
                                u.name,
                                opt(u.tier_id),
                                opt(u.external_user_group_id),
                                u.blocked,
                                u.time_zone,
                                u.created_at.micros(),
                                u.updated_at.micros()
                            ])?;
                            db.execute_batch("COMMIT")
                        };
                        let ok = one();
                        if ok.is_err() {
                            let _ = db.execute_batch("ROLLBACK");
                        }
                        ok.is_ok()
                    })
                });
                (read, insert)
            })
            .await
            .expect("raw SQLite floor")
        }
        Backend::Postgres { pool, .. } => {
            // A connection taken out of the pool and held: no pool bookkeeping per statement.
            let mut conn = pool.acquire().await.expect("a connection");
            let ws = new_user("x", 0).workspace_id;
            let mut read = None;
            if want_read {
                let started = Instant::now();
                let mut stats = Stats { requests: 0, errors: 0, seconds: 0.0, latencies: Vec::new() };
                while started.elapsed() < seconds {
                    let t = Instant::now();
                    let id = ids[stats.requests % ids.len()];
                    let row = sqlx::query(READ).bind(id).bind(ws).fetch_optional(&mut *conn).await;
                    stats.errors += usize::from(!matches!(row, Ok(Some(_))));
                    stats.latencies.push(t.elapsed());
                    stats.requests += 1;
                }
                stats.seconds = started.elapsed().as_secs_f64();
                read = Some(stats);
            }
            let mut insert = None;
            if want_insert {
                let started = Instant::now();
                let mut stats = Stats { requests: 0, errors: 0, seconds: 0.0, latencies: Vec::new() };
                while started.elapsed() < seconds {
                    let t = Instant::now();
                    let u = new_user("raw", stats.requests);
                    let ok = async {
                        use sqlx::Connection;
                        let mut tx = conn.begin().await?;
                        sqlx::query(CHECK)
                            .bind(u.channel_id)
                            .bind(u.tier_id)
                            .bind(u.external_user_group_id)
                            .bind(u.workspace_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        sqlx::query(IDENTITY)
                            .bind(u.super_identity_id)
                            .bind(u.workspace_id)
                            .bind(u.created_at.micros())
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(INSERT)
                            .bind(u.id)
                            .bind(u.workspace_id)
                            .bind(u.channel_id)
                            .bind(u.super_identity_id)
                            .bind(&u.external_id)
                            .bind(&u.identifier)
                            .bind(&u.name)
                            .bind(u.tier_id)
                            .bind(u.external_user_group_id)
                            .bind(u.blocked)
                            .bind(&u.time_zone)
                            .bind(u.created_at.micros())
                            .bind(u.updated_at.micros())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await
                    }
                    .await;
                    if let Err(e) = &ok {
                        report_error(&e.to_string());
                    }
                    stats.errors += usize::from(ok.is_err());
                    stats.latencies.push(t.elapsed());
                    stats.requests += 1;
                }
                stats.seconds = started.elapsed().as_secs_f64();
                insert = Some(stats);
            }
            (read, insert)
        }
    }
}

/// Prints the table and returns the backend's JSON and whether the run is acceptable.
fn summarise(label: &str, options: &Options, report: &Report) -> (Value, bool) {
    let floor = |kind: Kind| report.outcomes.iter().find(|o| o.kind == kind).map(|o| o.rps);
    let (trivial, insert) = (floor(Kind::Trivial), floor(Kind::StoreInsert));
    let raw_read = report.outcomes.iter().find(|o| o.key == "raw_read").map(|o| o.rps);
    let raw_insert = report.outcomes.iter().find(|o| o.key == "raw_insert").map(|o| o.rps);
    println!("{:<34} {:>9} {:>9} {:>9} {:>7}  ratio", "scenario", "req/s", "p50 ms", "p99 ms", "errors");
    let mut scenarios = Vec::new();
    let mut errors = 0;
    for o in &report.outcomes {
        errors += o.errors;
        let (ratio, of) = match o.kind {
            Kind::Read => (trivial.map(|t| o.rps / t), "trivial route"),
            Kind::Write => (insert.map(|t| o.rps / t), "store insert"),
            Kind::StoreInsert => (raw_insert.map(|t| o.rps / t), "raw insert"),
            Kind::Floor if o.key == "store_read" => (raw_read.map(|t| o.rps / t), "raw read"),
            Kind::Floor | Kind::Trivial => (None, ""),
        };
        let shown = ratio.map_or(String::new(), |r| format!("{r:.2} of {of}"));
        println!("{:<34} {:>9.0} {:>9.3} {:>9.3} {:>7}  {shown}", o.name, o.rps, o.p50, o.p99, o.errors);
        scenarios.push(json!({
            "key": o.key, "name": o.name, "requests": o.requests, "errors": o.errors,
            "req_per_s": o.rps, "p50_ms": o.p50, "p99_ms": o.p99,
            "ratio": ratio, "ratio_to": if ratio.is_some() { Some(of) } else { None },
        }));
    }
    let mut nothing_lost = true;
    let mut lost_json = serde_json::Map::new();
    for (table, (acknowledged, stored)) in &report.lost {
        let ok = *stored >= *acknowledged as i64;
        nothing_lost &= ok;
        println!(
            "nothing lost: {table:<16} {stored} stored of {acknowledged} acknowledged{}",
            if ok { "" } else { "  LOST" }
        );
        lost_json.insert((*table).into(), json!({"acknowledged": acknowledged, "stored": stored}));
    }
    println!("server peak RSS {:.1} MB, database {:.0} bytes per external user", report.rss_mb, report.bytes_per_user);
    if let Some(b) = report.bytes_per_user_without_outbox {
        println!("database without the outbox (events, deliveries): {b:.0} bytes per external user");
    }
    let ok = nothing_lost && (!options.small || errors == 0);
    if !nothing_lost {
        eprintln!("[{label}] FAILED: an acknowledged create is missing from the database");
    } else if !ok {
        eprintln!("[{label}] FAILED: {errors} requests failed");
    }
    let value = json!({
        "users": options.users, "clients": options.clients, "seconds_per_scenario": options.seconds.as_secs(),
        "scenarios": scenarios, "nothing_lost": nothing_lost, "acknowledged_vs_stored": lost_json,
        "errors": errors, "server_peak_rss_mb": report.rss_mb, "database_bytes_per_user": report.bytes_per_user,
        "database_bytes_per_user_without_outbox": report.bytes_per_user_without_outbox,
    });
    (value, ok)
}

async fn postgres_backend(url: &str) -> Backend {
    use sqlx::postgres::PgPoolOptions;
    let schema = format!("bench_{}", Uuid::new_v4().simple());
    let admin = PgPoolOptions::new().max_connections(1).connect(url).await.expect("connect to PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.expect("schema");
    admin.close().await;
    let search_path = schema.clone();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .after_connect(move |conn, _| {
            let sql = format!("SET search_path TO {search_path}");
            Box::pin(async move {
                use sqlx::Executor;
                conn.execute(sqlx::AssertSqlSafe(sql)).await.map(|_| ())
            })
        })
        .connect(url)
        .await
        .expect("connect to PostgreSQL");
    Backend::Postgres { url: url.to_owned(), schema, pool }
}

async fn drop_schema(backend: &Backend) {
    if let Backend::Postgres { schema, pool, .. } = backend {
        let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await {
            eprintln!("could not drop the benchmark schema {schema}: {e}");
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    let mut all = serde_json::Map::new();
    let mut checks = Vec::new();
    let keep = std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1");
    if options.sqlite {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = Backend::Sqlite { path: dir.path().join("bench.db"), _dir: dir };
        let report = bench(&options, &backend).await;
        if let (true, Backend::Sqlite { path, _dir: dir }) = (keep, backend) {
            let _ = dir.keep();
            println!("kept the SQLite database: {}", path.display());
        }
        let (value, fine) = summarise("sqlite", &options, &report);
        all.insert("sqlite".into(), value);
        checks.push(fine);
    }
    if let Some(url) = &options.postgres {
        let backend = postgres_backend(url).await;
        let report = bench(&options, &backend).await;
        match (keep, &backend) {
            (true, Backend::Postgres { schema, .. }) => println!("kept the PostgreSQL schema {schema}"),
            _ => drop_schema(&backend).await,
        }
        let (value, fine) = summarise("postgres", &options, &report);
        all.insert("postgres".into(), value);
        checks.push(fine);
    } else {
        println!("\n(PostgreSQL skipped: pass --postgres URL or set FRONTDESK_TEST_DATABASE_URL)");
    }
    if let Some(path) = &options.json {
        write_json(path, &Value::Object(all));
    }
    // One check per backend (nothing lost; in the small mode also no failed request), in the plain
    // form CI logs are read for.
    println!(
        "load: {} passed, {} failed",
        checks.iter().filter(|c| **c).count(),
        checks.iter().filter(|c| !**c).count()
    );
    if checks.iter().all(|c| *c) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("json");
    match std::fs::write(path, text) {
        Ok(()) => println!("\nwrote {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}
