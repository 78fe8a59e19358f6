//! A minimal W3C WebDriver client over HTTP, driving Debian's headless Chromium through chromedriver.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The W3C key under which an element reference is returned.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser session; chromedriver is stopped when it is dropped.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

/// Browser tests take one machine-wide browser at a time: Chromium is heavy on a small machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts chromedriver and a headless Chromium, or returns `None` after a notice when they are not
/// installed (`apt-get install chromium chromium-driver`).
pub async fn start() -> Option<(Browser, tokio::sync::MutexGuard<'static, ()>)> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        crate::helpers::notice_once(&format!(
            "browser tests skipped: they need {CHROMEDRIVER} and {CHROMIUM} (apt-get install chromium chromium-driver)"
        ));
        return None;
    }
    let guard = ONE_AT_A_TIME.lock().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let profile = tempfile::tempdir().expect("profile dir");
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("{base}/status")).send().await
            && r.json::<Value>().await.is_ok_and(|v| v["value"]["ready"] == true)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let args = json!([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        format!("--user-data-dir={}", profile.path().display()),
    ]);
    let caps = json!({"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
    }}});
    let mut browser = Browser { driver, base, session: String::new(), http, _profile: profile };
    let created = browser.call("POST", "/session", caps).await;
    browser.session = created["sessionId"].as_str().expect("session id").to_owned();
    Some((browser, guard))
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the driver ends the browser it started.
        if let Err(e) = self.driver.kill() {
            eprintln!("could not stop chromedriver: {e}");
        }
        let _ = self.driver.wait();
    }
}

/// An element on the current page.
#[derive(Clone)]
pub struct Element(String);

impl Browser {
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let res: Value = req.send().await.expect("webdriver request").json().await.expect("webdriver reply");
        assert!(res["value"]["error"].is_null(), "{method} {path}: {}", res["value"]);
        res["value"].clone()
    }

    fn at(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.at("/url"), json!({"url": url})).await;
    }

    pub async fn current_url(&self) -> String {
        self.call("GET", &self.at("/url"), Value::Null).await.as_str().unwrap_or_default().to_owned()
    }

    pub async fn source(&self) -> String {
        self.call("GET", &self.at("/source"), Value::Null).await.as_str().unwrap_or_default().to_owned()
    }

    /// Waits up to five seconds for an element matching the CSS selector.
    pub async fn find(&self, css: &str) -> Element {
        for _ in 0..50 {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}:\n{}", self.current_url().await, self.source().await);
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let url = format!("{}{}", self.base, self.at("/element"));
        let res: Value = self
            .http
            .post(url)
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        res["value"][ELEMENT].as_str().map(|id| Element(id.to_owned()))
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call("POST", &self.at(&format!("/element/{}/clear", e.0)), json!({})).await;
        self.call("POST", &self.at(&format!("/element/{}/value", e.0)), json!({"text": text})).await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call("POST", &self.at(&format!("/element/{}/click", e.0)), json!({})).await;
    }

    pub async fn value(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.call("GET", &self.at(&format!("/element/{}/property/value", e.0)), Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits up to five seconds for an element matching `css` whose text contains `needle`, across
    /// page loads (an element of the page being left goes stale and is looked up again).
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..50 {
            if let Some(e) = self.try_find(css).await {
                let url = format!("{}{}", self.base, self.at(&format!("/element/{}/text", e.0)));
                if let Ok(res) = self.http.get(url).send().await
                    && let Ok(v) = res.json::<Value>().await
                    && let Some(text) = v["value"].as_str()
                {
                    if text.contains(needle) {
                        return text.to_owned();
                    }
                    last = text.to_owned();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {css} containing {needle:?} on {} (last text {last:?})", self.current_url().await);
    }

    pub async fn execute(&self, script: &str) -> Value {
        self.call("POST", &self.at("/execute/sync"), json!({"script": script, "args": []})).await
    }

    /// Runs `script` as an asynchronous WebDriver script: it ends by calling its last argument with
    /// the result.
    pub async fn execute_async(&self, script: &str) -> Value {
        self.call("POST", &self.at("/execute/async"), json!({"script": script, "args": []})).await
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.call("POST", &self.at("/window/rect"), json!({"width": width, "height": height})).await;
    }

    /// Saves a PNG screenshot as target/e2e-screenshots/`name`.png and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call("GET", &self.at("/screenshot"), Value::Null).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().expect("base64")).expect("png");
        assert!(png.len() > 1000 && png.starts_with(b"\x89PNG"), "screenshot {name} is not a PNG image");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("e2e-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).expect("write screenshot");
        assert!(std::fs::metadata(&path).expect("screenshot").len() > 0);
        path
    }

    pub async fn quit(self) {
        self.call("DELETE", &format!("/session/{}", self.session), Value::Null).await;
    }
}
