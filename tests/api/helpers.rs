//! A real Frontdesk on a free port, on a fresh database, and a client with one method per verb.

use frontdesk::app::App;
use frontdesk::{PostgresOptions, open_store};
use serde_json::Value;
use tokio::net::TcpListener;

/// Runs each listed test twice: on a fresh SQLite file and on a fresh PostgreSQL schema. The
/// PostgreSQL run is skipped, with a notice, when `FRONTDESK_TEST_DATABASE_URL` is not set.
macro_rules! on_both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $app = crate::helpers::TestApp::sqlite().await;
                    $body
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some($app) = crate::helpers::TestApp::postgres().await else { return };
                    $body
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: App,
    /// The bootstrap admin key of the first workspace.
    pub key: String,
    pub workspace_id: String,
    pub email_channel_id: String,
    /// Where the server keeps its data, for tests that look at the rows themselves.
    pub database: TestDatabase,
    _dir: Option<tempfile::TempDir>,
}

/// The database behind a [`TestApp`]: its URL, and the schema on PostgreSQL.
#[derive(Clone, Debug)]
pub struct TestDatabase {
    pub url: String,
    pub schema: Option<String>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// A response with its body as text, already held against the OpenAPI document.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("content-type").and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, or as a JSON string when it is not JSON, or `null` when empty.
    pub fn into_reply(self) -> Reply {
        let body = if self.text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.text).unwrap_or(Value::String(self.text))
        };
        Reply { status: self.status, headers: self.headers, body }
    }
}

/// Sends `req` and reads the answer whole; panics when the answer breaks the OpenAPI document
/// (see `contract`). Every request the API tests make goes through here.
pub async fn exchange(req: reqwest::RequestBuilder) -> reqwest::Result<Answer> {
    let (client, req) = req.build_split();
    let req = req?;
    let method = req.method().as_str().to_owned();
    let path = match req.url().query() {
        Some(query) => format!("{}?{query}", req.url().path()),
        None => req.url().path().to_owned(),
    };
    let res = client.execute(req).await?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await?;
    let answer = Answer { status, headers, text };
    crate::contract::check_response(&method, &path, status, answer.content_type(), &answer.text);
    Ok(answer)
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub const PG_URL_VAR: &str = "FRONTDESK_TEST_DATABASE_URL";

impl TestApp {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
        let store = open_store(&url, &PostgresOptions::default()).await.expect("open sqlite");
        Self::start(App::new(store), TestDatabase { url, schema: None }, Some(dir), 0, None, Default::default()).await
    }

    /// A server on SQLite that keeps idempotency keys' answers for `ttl` only.
    pub async fn sqlite_with_idempotency_key_ttl(ttl: std::time::Duration) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
        let store = open_store(&url, &PostgresOptions::default()).await.expect("open sqlite");
        Self::start(App::new(store), TestDatabase { url, schema: None }, Some(dir), 0, Some(ttl), Default::default())
            .await
    }

    /// A server on SQLite that limits each credential to `per_second` support-ticket requests a second.
    pub async fn sqlite_with_ticket_rate_limit(per_second: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
        let store = open_store(&url, &PostgresOptions::default()).await.expect("open sqlite");
        Self::start(
            App::new(store),
            TestDatabase { url, schema: None },
            Some(dir),
            per_second,
            None,
            Default::default(),
        )
        .await
    }

    /// A server on SQLite with the transport bounds and rate limit `tune` sets.
    pub async fn sqlite_with(tune: impl FnOnce(&mut frontdesk::ServerOptions)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
        let store = open_store(&url, &PostgresOptions::default()).await.expect("open sqlite");
        let mut options = frontdesk::ServerOptions::default();
        tune(&mut options);
        Self::start_with(App::new(store), TestDatabase { url, schema: None }, Some(dir), options).await
    }

    /// `None` (after saying so) when no PostgreSQL is configured for tests.
    pub async fn postgres() -> Option<Self> {
        let url = postgres_url()?;
        drop_old_schemas(&url).await;
        let opts = PostgresOptions { schema: Some(fresh_schema()), max_connections: 8, ..PostgresOptions::default() };
        let store = open_store(&url, &opts).await.expect("open postgres");
        let database = TestDatabase { url, schema: opts.schema.clone() };
        Some(Self::start(App::new(store), database, None, 0, None, Default::default()).await)
    }

    /// A server on SQLite whose webhook worker runs with `webhooks`.
    pub async fn sqlite_with_webhooks(webhooks: frontdesk::app::WebhookOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("frontdesk.db").display());
        let store = open_store(&url, &PostgresOptions::default()).await.expect("open sqlite");
        Self::start(App::new(store), TestDatabase { url, schema: None }, Some(dir), 0, None, webhooks).await
    }

    /// A server on PostgreSQL (a fresh schema) whose webhook worker runs with `webhooks`; `None`
    /// when no PostgreSQL is configured for tests.
    pub async fn postgres_with_webhooks(webhooks: frontdesk::app::WebhookOptions) -> Option<Self> {
        let url = postgres_url()?;
        drop_old_schemas(&url).await;
        let opts = PostgresOptions { schema: Some(fresh_schema()), max_connections: 8, ..PostgresOptions::default() };
        let store = open_store(&url, &opts).await.expect("open postgres");
        let database = TestDatabase { url, schema: opts.schema.clone() };
        Some(Self::start(App::new(store), database, None, 0, None, webhooks).await)
    }

    async fn start(
        app: App,
        database: TestDatabase,
        dir: Option<tempfile::TempDir>,
        rate_limit: u32,
        idempotency_key_ttl: Option<std::time::Duration>,
        webhooks: frontdesk::app::WebhookOptions,
    ) -> Self {
        let options = frontdesk::ServerOptions {
            ticket_rate_limit_per_second: rate_limit,
            idempotency_key_ttl,
            webhooks,
            ..frontdesk::ServerOptions::default()
        };
        Self::start_with(app, database, dir, options).await
    }

    async fn start_with(
        app: App,
        database: TestDatabase,
        dir: Option<tempfile::TempDir>,
        options: frontdesk::ServerOptions,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let created = app.create_workspace("Test workspace").await.expect("workspace");
        let server_app = app.clone();
        let public = base.clone();
        tokio::spawn(async move {
            let options = frontdesk::ServerOptions { public_base_url: public, ..options };
            frontdesk::serve(listener, server_app, options, std::future::pending()).await.expect("serve");
        });
        Self {
            base,
            client: reqwest::Client::new(),
            app,
            key: created.admin_key.secret,
            workspace_id: created.workspace.id.to_string(),
            email_channel_id: created.email_channel.id.to_string(),
            database,
            _dir: dir,
        }
    }

    /// The bytes of the SQLite database file and its write-ahead log (empty on PostgreSQL).
    pub fn sqlite_bytes(&self) -> Vec<u8> {
        let Some(dir) = &self._dir else { return Vec::new() };
        let mut bytes = Vec::new();
        for name in ["frontdesk.db", "frontdesk.db-wal"] {
            bytes.extend(std::fs::read(dir.path().join(name)).unwrap_or_default());
        }
        bytes
    }

    /// Another workspace on the same server: (workspace id, admin key, e-mail channel id).
    pub async fn other_workspace(&self) -> (String, String, String) {
        let created = self.app.create_workspace("Other workspace").await.expect("workspace");
        (created.workspace.id.to_string(), created.admin_key.secret, created.email_channel.id.to_string())
    }

    pub async fn send(&self, method: &str, path: &str, auth: Option<&str>, body: Option<&str>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_owned());
        }
        exchange(req).await.expect("request").into_reply()
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, Some(&self.key), None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, Some(&self.key), Some(&body.to_string())).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send("PATCH", path, Some(&self.key), Some(&body.to_string())).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, Some(&self.key), None).await
    }

    /// Creates an external user on the e-mail channel and returns its body.
    pub async fn external_user(&self, identifier: &str, name: &str) -> Value {
        let r = self
            .post(
                "/api/v1/external-users",
                &serde_json::json!({
                    "channelId": self.email_channel_id, "externalId": null, "identifier": identifier,
                    "name": name, "tierId": null, "externalUserGroupId": null
                }),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body
    }
}

/// `t_<unix seconds>_<random>`: the time lets later runs remove what earlier ones left behind.
fn fresh_schema() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("t_{now}_{}", uuid::Uuid::new_v4().simple())
}

/// Drops the schemas of test runs that ended over an hour ago, once per test process, so a
/// machine that runs the suite every day does not collect thousands of them.
async fn drop_old_schemas(url: &str) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let Ok(pool) = sqlx::PgPool::connect(url).await else { return };
        let names: Vec<String> =
            sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
                .fetch_all(&pool)
                .await
                .unwrap_or_default();
        let cutoff =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) - 3600;
        for name in names {
            let started = name.split('_').nth(1).and_then(|t| t.parse::<u64>().ok());
            // Schemas without a time are from before this naming: old by definition.
            if started.is_none_or(|t| t < cutoff) {
                let drop = format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE");
                let _ = sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&pool).await;
            }
        }
        pool.close().await;
    })
    .await;
}

impl TestApp {
    /// A server on PostgreSQL at `url` (a fresh schema), with pool options adjusted by `tune`.
    pub async fn postgres_at(url: &str, tune: impl FnOnce(&mut PostgresOptions)) -> Self {
        let mut opts =
            PostgresOptions { schema: Some(fresh_schema()), max_connections: 8, ..PostgresOptions::default() };
        tune(&mut opts);
        let store = open_store(url, &opts).await.expect("open postgres");
        let database = TestDatabase { url: url.to_owned(), schema: opts.schema.clone() };
        Self::start(App::new(store), database, None, 0, None, Default::default()).await
    }
}

/// The PostgreSQL URL for tests, or `None` after saying why the caller is skipped.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var(PG_URL_VAR).ok();
    if url.is_none() {
        notice_once(&format!(
            "PostgreSQL runs skipped: set {PG_URL_VAR} (e.g. postgres://postgres@127.0.0.1:5432/test)"
        ));
    }
    url
}

/// Says `text` on the terminal once per test process. Written to the stderr handle directly: the test
/// harness captures `eprintln!` of passing tests, and a skip must never be silent.
pub fn notice_once(text: &str) {
    use std::io::Write;
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|t| t == text) {
        said.push(text.to_owned());
        let _ = writeln!(std::io::stderr(), "notice: {text}");
    }
}

pub fn new_schema_name() -> String {
    fresh_schema()
}
