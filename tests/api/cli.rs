//! The `frontdesk` command: first start, console administration, settings precedence.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::exchange;

/// A `frontdesk serve` process, stopped when dropped or by [`Running::stop`].
struct Running(Option<Child>);

impl Running {
    /// Stops the server and returns what it printed on stdout.
    fn stop(mut self) -> String {
        let mut child = self.0.take().expect("running");
        let _ = child.kill();
        let out = child.wait_with_output().expect("wait");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn frontdesk(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .env("FRONTDESK_DATABASE_URL", db_url)
        .env("FRONTDESK_LOG", "warn")
        .output()
        .expect("run frontdesk")
}

fn stdout_lines(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

async fn wait_ready(base: &str) {
    let started = Instant::now();
    let client = reqwest::Client::new();
    while exchange(client.get(format!("{base}/readyz"))).await.map(|r| r.status != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(20), "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn workspace_create_prints_only_its_id_and_an_admin_key_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let lines = stdout_lines(&frontdesk(&url, &["workspace", "create", "Acme support"]));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(frontdesk::domain::parse_uuid(&lines[0]).is_some(), "{lines:?}");
    let key = lines[1].clone();
    assert!(key.starts_with("fdk_"));
    let ws = lines[0].clone();

    let channel = stdout_lines(&frontdesk(
        &url,
        &["channel", "create", "--workspace", &ws, "--name", "Web chat", "--type", "web"],
    ));
    assert!(frontdesk::domain::parse_uuid(&channel[0]).is_some());
    let tier = stdout_lines(&frontdesk(&url, &["tier", "create", "--workspace", &ws, "--name", "Gold"]));
    let group = stdout_lines(&frontdesk(
        &url,
        &["group", "create", "--workspace", &ws, "--external-id", "acme", "--name", "Acme", "--tier", &tier[0]],
    ));
    assert!(frontdesk::domain::parse_uuid(&group[0]).is_some());
    let agent_key =
        stdout_lines(&frontdesk(&url, &["api-key", "create", "--workspace", &ws, "--name", "Sync", "--role", "agent"]));
    assert_eq!(agent_key.len(), 1);
    let listed = stdout_lines(&frontdesk(&url, &["api-key", "list", "--workspace", &ws])).join("\n");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let bad = frontdesk(&url, &["channel", "create", "--workspace", &ws, "--name", "X", "--type", "web"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--name"));

    // A server started on the same database answers the printed key.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("FRONTDESK_DATABASE_URL", &url)
        .env("FRONTDESK_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let _server = Running(Some(child));
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    let client = reqwest::Client::new();
    let channels = exchange(client.get(format!("{base}/api/v1/channels")).header("authorization", &key)).await.unwrap();
    assert_eq!(channels.status, 200);
    let channels = channels.into_reply().body;
    assert_eq!(channels.as_array().unwrap().len(), 2, "the e-mail channel and the one made on the console");
    let r = exchange(client.get(format!("{base}/api/v1/tiers")).header("authorization", &agent_key[0])).await.unwrap();
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn first_start_bootstraps_once_with_the_chosen_key_and_config_file_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("first.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("frontdesk.conf");
    std::fs::write(&config, format!("bind = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\n", db.display()))
        .unwrap();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_frontdesk"))
            .args(["serve", "--config", config.to_str().unwrap()])
            .env_remove("FRONTDESK_DATABASE_URL")
            .env_remove("FRONTDESK_BIND")
            .env("FRONTDESK_BOOTSTRAP_API_KEY", "fdk_chosen_by_automation_0123456789")
            .env("FRONTDESK_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .map(|c| Running(Some(c)))
            .unwrap()
    };
    let base = format!("http://127.0.0.1:{port}");
    let first = start();
    wait_ready(&base).await;
    let req = reqwest::Client::new()
        .get(format!("{base}/api/v1/external-users"))
        .header("authorization", "Bearer fdk_chosen_by_automation_0123456789");
    assert_eq!(exchange(req).await.unwrap().status, 200);
    let printed = first.stop();
    assert!(printed.contains("Created workspace"), "{printed}");
    assert!(printed.contains("FRONTDESK_BOOTSTRAP_API_KEY"), "the chosen key is not echoed: {printed}");
    assert!(!printed.contains("fdk_chosen_by_automation"), "{printed}");
    assert!(db.exists(), "the config file's database_url was used");

    // A second start finds the workspace and creates nothing.
    let second = start();
    wait_ready(&base).await;
    assert!(!second.stop().contains("Created workspace"));
}

/// glibc keeps a heap per allocating thread; the server bounds them (docs/performance.md, "Peak
/// RSS") by starting itself again with `MALLOC_ARENA_MAX`, unless the operator chose a number.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test]
async fn the_server_runs_with_two_malloc_arenas_unless_the_operator_chose_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("arenas.db").display());
    for (chosen, expected) in [(None, "MALLOC_ARENA_MAX=2"), (Some("4"), "MALLOC_ARENA_MAX=4")] {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
        command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("FRONTDESK_DATABASE_URL", &url)
            .env("FRONTDESK_LOG", "warn")
            .env_remove("MALLOC_ARENA_MAX")
            .stdout(Stdio::null());
        if let Some(n) = chosen {
            command.env("MALLOC_ARENA_MAX", n);
        }
        let server = Running(Some(command.spawn().unwrap()));
        wait_ready(&format!("http://127.0.0.1:{port}")).await;
        let pid = server.0.as_ref().unwrap().id();
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        let arenas: Vec<&[u8]> = environ.split(|b| *b == 0).filter(|v| v.starts_with(b"MALLOC_ARENA_MAX=")).collect();
        assert_eq!(arenas, [expected.as_bytes()], "the serving process (the same pid) has the bound once");
        server.stop();
    }
}

#[tokio::test]
async fn the_first_admin_is_invited_without_naming_the_only_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("invite.db").display());
    stdout_lines(&frontdesk(&url, &["workspace", "create", "Acme support"]));
    let link = stdout_lines(&frontdesk(&url, &["staff", "invite", "boss@example.com", "--role", "admin"]));
    assert_eq!(link.len(), 1, "{link:?}");
    assert!(link[0].contains("/settings/invitation/"), "{link:?}");

    // With two workspaces the command must be told which one.
    stdout_lines(&frontdesk(&url, &["workspace", "create", "Second desk"]));
    let ambiguous = frontdesk(&url, &["staff", "invite", "other@example.com", "--role", "admin"]);
    assert!(!ambiguous.status.success());
    assert!(String::from_utf8_lossy(&ambiguous.stderr).contains("--workspace"));
}

fn json_out(out: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout_lines(out).join("\n")).expect("JSON on stdout")
}

#[tokio::test]
async fn webhooks_are_created_with_a_chosen_secret_listed_disabled_enabled_and_deleted_on_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hooks.db").display());
    let ws = stdout_lines(&frontdesk(&url, &["workspace", "create", "Acme support"]))[0].clone();
    let secret = format!("whsec_{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]));
    let created = json_out(&frontdesk(
        &url,
        &[
            "webhook",
            "create",
            "--workspace",
            &ws,
            "--url",
            "http://hooks.example.com/in",
            "--events",
            "ticket.created,external_user.created",
            "--secret",
            &secret,
        ],
    ));
    assert_eq!(created["secret"], secret.as_str());
    assert_eq!(created["types"], serde_json::json!(["ticket.created", "external_user.created"]));
    assert_eq!(created["enabled"], true);
    let id = created["id"].as_str().unwrap().to_owned();

    // Without --secret a random one is made, and shown this once.
    let other =
        json_out(&frontdesk(&url, &["webhook", "create", "--workspace", &ws, "--url", "http://b.example.com/"]));
    assert!(other["secret"].as_str().unwrap().starts_with("whsec_") && other["secret"] != secret.as_str());
    assert_eq!(other["types"], serde_json::json!([]), "no --events: every type");

    let listed = json_out(&frontdesk(&url, &["webhook", "list", "--workspace", &ws]));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(listed.as_array().unwrap().iter().all(|w| w.get("secret").is_none()), "a list never shows secrets");

    let disabled = json_out(&frontdesk(&url, &["webhook", "disable", "--workspace", &ws, &id]));
    assert_eq!(disabled["enabled"], false);
    let enabled = json_out(&frontdesk(&url, &["webhook", "enable", "--workspace", &ws, &id]));
    assert_eq!(enabled["enabled"], true);

    for (args, complaint) in [
        (vec!["--url", "http://a.example.com/", "--events", "ticket.exploded"], "--events"),
        (vec!["--url", "https://a.example.com/"], "--url"),
        (vec!["--url", "http://a.example.com/", "--secret", "whsec_short"], "--secret"),
    ] {
        let mut all = vec!["webhook", "create", "--workspace", ws.as_str()];
        all.extend(args);
        let out = frontdesk(&url, &all);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(complaint), "{}", String::from_utf8_lossy(&out.stderr));
    }

    assert!(frontdesk(&url, &["webhook", "delete", "--workspace", &ws, &id]).status.success());
    let left = json_out(&frontdesk(&url, &["webhook", "list", "--workspace", &ws]));
    assert_eq!(left.as_array().unwrap().len(), 1);
    let gone = frontdesk(&url, &["webhook", "delete", "--workspace", &ws, &id]);
    assert!(!gone.status.success(), "deleting twice is an error");
}

#[test]
fn help_names_apis_without_seed_numbers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("help.db").display());
    for args in [
        &["--help"][..],
        &["staff", "--help"],
        &["staff", "invite", "--help"],
        &["staff-group", "--help"],
        &["staff-folder", "--help"],
        &["webhook", "--help"],
        &["webhook", "create", "--help"],
        &["serve", "--help"],
    ] {
        let out = frontdesk(&url, args);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!text.to_lowercase().contains("seed"), "`frontdesk {}` mentions seeds:\n{text}", args.join(" "));
    }
}

#[tokio::test]
async fn import_reports_on_stdout_with_progress_on_stderr_fails_on_rejected_rows_and_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.db").display());
    let ws = stdout_lines(&frontdesk(&url, &["workspace", "create", "Acme support"]))[0].clone();
    let channels: serde_json::Value =
        serde_json::from_str(&stdout_lines(&frontdesk(&url, &["channel", "list", "--workspace", &ws])).join("\n"))
            .unwrap();
    let email =
        channels.as_array().unwrap().iter().find(|c| c["type"] == "email").unwrap()["id"].as_str().unwrap().to_owned();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        format!(
            "channelId,externalId,identifier,name\n{email},a-1,a@example.com,Ada\n{email},b-1,b@example.com,\"Bee, B.\"\n\
             {email},c-1,c@example.com,\n{email},d-1,not-an-address,Dee\n"
        ),
    )
    .unwrap();
    let out = frontdesk(&url, &["import", file.to_str().unwrap(), "--workspace", &ws]);
    assert!(!out.status.success(), "a rejected row makes the exit non-zero");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report on stdout");
    assert_eq!((report["created"].as_u64(), report["rejected"].as_u64()), (Some(3), Some(1)), "{report}");
    assert_eq!(report["rejections"][0]["line"], 5);
    assert_eq!(report["rejections"][0]["errors"][0]["field"], "identifier");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rows/s") && stderr.contains("ETA"), "a progress line: {stderr}");
    assert!(stderr.contains("1 of 4 rows were rejected"), "{stderr}");

    let out = frontdesk(&url, &["export", "--workspace", &ws, "--format", "csv", "--channel", &email]);
    let exported = stdout_lines(&out);
    assert_eq!(exported.len(), 4, "a header and three users: {exported:?}");
    assert!(exported[0].starts_with("id,channelId,externalId,identifier,name,"));
    let again = dir.path().join("exported.csv");
    std::fs::write(&again, exported.join("\n")).unwrap();
    let out = frontdesk(&url, &["import", again.to_str().unwrap(), "--workspace", &ws]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the report on stdout");
    assert!(out.status.success(), "{report}");
    assert_eq!(report["unchanged"], 3, "{report}");
}
