//! The real client libraries of the Jira Service Management customer API (atlassian-python-api and
//! `jira` from PyPI, jira.js from npm), and requests written from the other products' documents, driven
//! against a running server by the scripts in tests/clients/. `.ci/run` installs the libraries (pinned);
//! where they are not installed these tests skip with a notice, as the browser tests do.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::{TestApp, notice_once};

/// Where `.ci/run` puts the Python libraries; `FRONTDESK_CLIENTS_PYTHON` names another interpreter.
const VENV_PYTHON: &str = "target/clients/venv/bin/python";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scripts() -> PathBuf {
    root().join("tests/clients")
}

/// True when `program args` runs and exits 0 (used to probe for an installed library).
fn runs(program: &Path, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|o| o.status.success())
}

/// The interpreter that has both Python libraries, or `None` after saying why the tests skip.
fn python_with_libraries() -> Option<PathBuf> {
    let python = std::env::var_os("FRONTDESK_CLIENTS_PYTHON").map_or_else(|| root().join(VENV_PYTHON), PathBuf::from);
    if runs(&python, &["-c", "import atlassian, jira"]) {
        return Some(python);
    }
    notice_once(&format!(
        "real-client tests of atlassian-python-api and jira skipped: not installed in {} (.ci/run installs them)",
        python.display()
    ));
    None
}

fn plain_python() -> Option<PathBuf> {
    let python = PathBuf::from("python3");
    if runs(&python, &["--version"]) {
        return Some(python);
    }
    notice_once("real-client tests of the documented requests skipped: python3 is not installed");
    None
}

/// `node`, once `npm ci` has installed jira.js beside the scripts.
fn node_with_jira_js() -> Option<PathBuf> {
    let node = PathBuf::from("node");
    if scripts().join("node/node_modules/jira.js/package.json").is_file() && runs(&node, &["--version"]) {
        return Some(node);
    }
    notice_once("real-client tests of jira.js skipped: run `npm ci` in tests/clients/node (.ci/run does)");
    None
}

/// How the client presents the key: `basic` (e-mail and API token, as Jira Cloud clients do) or
/// `bearer` (a personal access token, as Data Center clients do).
#[derive(Clone, Copy)]
enum Auth {
    Basic,
    Bearer,
}

impl Auth {
    fn name(self) -> &'static str {
        match self {
            Auth::Basic => "basic",
            Auth::Bearer => "bearer",
        }
    }
}

/// The requester of the server's ticket: a customer that calls with its own access token.
const CUSTOMER_EMAIL: &str = "requester@example.com";

/// A server with one ticket (`FD-1`) for the participant and comment calls, and its requester's token.
async fn server_with_a_ticket() -> (TestApp, String, String) {
    let app = TestApp::sqlite().await;
    let location = app.location("Front desk").await;
    let requester = app.external_user(CUSTOMER_EMAIL, "Requester").await;
    let ticket = app.open_ticket(&location, requester["id"].as_str().unwrap(), "Please help").await;
    let key = format!("FD-{}", ticket["ticket"]["number"]);
    let (_, token) = app.access_token(CUSTOMER_EMAIL).await;
    (app, key, token)
}

/// Runs `program script` with the server's address and key in the environment; panics with everything
/// it printed unless it exits 0 having printed `done`.
async fn run(program: PathBuf, script: &str, auth: Auth, done: &str) {
    let (app, ticket, customer_token) = server_with_a_ticket().await;
    let script = scripts().join(script);
    let (base, key) = (app.base.clone(), app.key.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&program)
            .arg(&script)
            .current_dir(script.parent().expect("script folder"))
            .env("FRONTDESK_URL", base)
            .env("FRONTDESK_API_KEY", key)
            .env("FRONTDESK_TICKET", ticket)
            .env("FRONTDESK_AUTH", auth.name())
            .env("FRONTDESK_CUSTOMER_EMAIL", CUSTOMER_EMAIL)
            .env("FRONTDESK_CUSTOMER_TOKEN", customer_token)
            .output()
            .expect("start the client")
    })
    .await
    .expect("client finished");
    let printed = format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the client failed ({}):\n{printed}", output.status);
    assert!(String::from_utf8_lossy(&output.stdout).contains(done), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_python_api_manages_customers_desks_participants_organizations_and_comments_with_basic_auth() {
    let Some(python) = python_with_libraries() else { return };
    run(python, "python/atlassian_service_desk.py", Auth::Basic, "atlassian-python-api: all calls passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlassian_python_api_manages_customers_desks_participants_organizations_and_comments_with_a_bearer_token() {
    let Some(python) = python_with_libraries() else { return };
    run(python, "python/atlassian_service_desk.py", Auth::Bearer, "atlassian-python-api: all calls passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jira_package_connects_lists_desks_and_creates_customers_with_basic_auth() {
    let Some(python) = python_with_libraries() else { return };
    run(python, "python/jira_service_desk.py", Auth::Basic, "jira: all calls passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jira_package_connects_lists_desks_and_creates_customers_with_a_bearer_token() {
    let Some(python) = python_with_libraries() else { return };
    run(python, "python/jira_service_desk.py", Auth::Bearer, "jira: all calls passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_js_validates_every_service_desk_organization_and_comment_answer_with_basic_auth() {
    let Some(node) = node_with_jira_js() else { return };
    run(node, "node/service_desk.mjs", Auth::Basic, "jira.js: all calls passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_js_validates_every_service_desk_organization_and_comment_answer_with_a_bearer_token() {
    let Some(node) = node_with_jira_js() else { return };
    run(node, "node/service_desk.mjs", Auth::Bearer, "jira.js: all calls passed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_products_documented_requests_answer_as_documented() {
    let Some(python) = plain_python() else { return };
    run(python, "python/seed_requests.py", Auth::Bearer, "seed requests: all calls passed").await;
}
