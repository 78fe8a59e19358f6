//! Crash durability: the real `frontdesk` binary, killed with SIGKILL at random moments while
//! clients write through every contract, restarted on the same database. Every write that was
//! answered 2xx must be there afterwards, and whole; nothing half-written may be left behind.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::helpers::{TestDatabase, exchange, new_schema_name, notice_once, postgres_url};
use crate::rows::Rows;

const KILLS: usize = 12;
const WRITERS: usize = 4;

/// A `frontdesk serve` process, killed when dropped.
struct Server {
    base: String,
    child: Child,
}

impl Server {
    fn start(db: &TestDatabase, key: &str) -> Self {
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("FRONTDESK_DATABASE_URL", &db.url)
            .env("FRONTDESK_BOOTSTRAP_API_KEY", key)
            .env("FRONTDESK_LOG", "error")
            .stdout(Stdio::null());
        if let Some(schema) = &db.schema {
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
            assert!(started.elapsed() < Duration::from_secs(30), "the server did not come back after a kill");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, whatever was in flight is cut off.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every write the server acknowledged with a 2xx.
#[derive(Default)]
struct Ledger {
    external_users: Vec<(String, String)>,
    /// Ticket id → its number and the text of every acknowledged comment.
    tickets: HashMap<String, (i64, Vec<String>)>,
    /// (ticket id, ticket external user id, e-mail)
    participants: Vec<(String, String, String)>,
    /// (account id, e-mail)
    customers: Vec<(String, String)>,
    /// (staff user id, e-mail)
    staff: Vec<(String, String)>,
}

impl Ledger {
    fn writes(&self) -> usize {
        self.external_users.len()
            + self.tickets.values().map(|(_, comments)| 1 + comments.len()).sum::<usize>()
            + self.participants.len()
            + self.customers.len()
            + self.staff.len()
    }
}

struct Target {
    base: String,
    key: String,
    channel: String,
    location: String,
    /// An external user who opens every ticket (an API key must name the requester).
    requester: String,
}

async fn send(client: &reqwest::Client, t: &Target, method: &str, path: &str, body: Value) -> Option<(u16, Value)> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let req = client
        .request(method, format!("{}{path}", t.base))
        .header("authorization", format!("Bearer {}", t.key))
        .json(&body);
    // A cut connection is what a kill looks like from here: that write is simply not acknowledged.
    let answer = exchange(req).await.ok()?;
    let body = serde_json::from_str(&answer.text).unwrap_or(Value::Null);
    Some((answer.status, body))
}

/// One write of a random kind; acknowledged ones go into the ledger.
async fn write_once(client: &reqwest::Client, t: &Target, ledger: &Mutex<Ledger>, rng: &mut StdRng) {
    let n: u64 = rng.random();
    let known_ticket = {
        let l = ledger.lock().expect("ledger");
        let ids: Vec<&String> = l.tickets.keys().collect();
        (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())].clone())
    };
    match (rng.random_range(0..6), known_ticket) {
        (0, _) => {
            let identifier = format!("u{n}@example.com");
            let body = json!({"channelId": t.channel, "externalId": null, "identifier": identifier,
                "name": "Crash Test", "tierId": null, "externalUserGroupId": null});
            if let Some((200, b)) = send(client, t, "POST", "/api/v1/external-users", body).await {
                let id = b["id"].as_str().expect("id").to_owned();
                ledger.lock().expect("ledger").external_users.push((id, identifier));
            }
        }
        (1, Some(ticket)) => {
            let text = format!("comment {n}");
            let path = format!("/support/tickets/v1/{ticket}/comments");
            if let Some((201, _)) = send(client, t, "POST", &path, json!({"comment": {"text": text}})).await
                && let Some(entry) = ledger.lock().expect("ledger").tickets.get_mut(&ticket)
            {
                entry.1.push(text);
            }
        }
        (2, Some(ticket)) => {
            let email = format!("vendor{n}@example.com");
            let path = format!("/v1/crm/tickets/{ticket}/external-users");
            if let Some((201, b)) = send(client, t, "POST", &path, json!({"email": email})).await {
                let id = b["id"].as_str().expect("id").to_owned();
                ledger.lock().expect("ledger").participants.push((ticket, id, email));
            }
        }
        (3, _) => {
            let email = format!("customer{n}@example.com");
            let body = json!({"displayName": "Crash Customer", "email": email});
            if let Some((201, b)) = send(client, t, "POST", "/rest/servicedeskapi/customer", body).await {
                let account = b["accountId"].as_str().expect("account").to_owned();
                ledger.lock().expect("ledger").customers.push((account, email));
            }
        }
        (4, _) => {
            let email = format!("staff{n}@example.com");
            let body = json!({"Email": email, "FirstName": "Crash", "LastName": "Test"});
            if let Some((200, b)) = send(client, t, "POST", "/api/v1/suser?format=json", body).await {
                let id = b["User"]["Id"].as_str().expect("staff id").to_owned();
                ledger.lock().expect("ledger").staff.push((id, email));
            }
        }
        _ => {
            let ticket =
                json!({"locationRef": t.location, "text": format!("ticket {n}"), "userRefRequester": t.requester});
            if let Some((201, b)) = send(client, t, "POST", "/support/tickets/v1", json!({"ticket": ticket})).await {
                let id = b["ticket"]["id"].as_str().expect("ticket id").to_owned();
                let number = b["ticket"]["number"].as_i64().expect("number");
                ledger.lock().expect("ledger").tickets.insert(id, (number, Vec::new()));
            }
        }
    }
}

/// The database holds nothing half-written: these queries each count violations.
const WHOLE: &[(&str, &str)] = &[
    (
        "tickets without their creation activity",
        "SELECT count(*) FROM tickets t WHERE NOT EXISTS \
         (SELECT 1 FROM ticket_activities a WHERE a.ticket_id = t.id AND a.type = 'created')",
    ),
    (
        "activities of no ticket",
        "SELECT count(*) FROM ticket_activities a WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = a.ticket_id)",
    ),
    (
        "ticket participants without their external user",
        "SELECT count(*) FROM ticket_participants p WHERE NOT EXISTS \
         (SELECT 1 FROM external_users u WHERE u.id = p.external_user_id)",
    ),
    (
        "ticket participants of no ticket",
        "SELECT count(*) FROM ticket_participants p WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = p.ticket_id)",
    ),
    (
        "workspaces whose ticket counter is not their number of tickets",
        "SELECT count(*) FROM ticket_counters c WHERE c.n <> (SELECT count(*) FROM tickets t \
         WHERE t.workspace_id = c.workspace_id) OR c.n <> (SELECT coalesce(max(number), 0) FROM tickets t \
         WHERE t.workspace_id = c.workspace_id)",
    ),
    (
        "external users whose channel is missing",
        "SELECT count(*) FROM external_users u WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.id = u.channel_id)",
    ),
];

async fn assert_whole(db: &TestDatabase, round: usize) -> i64 {
    let rows = Rows::open(db).await;
    for (what, sql) in WHOLE {
        let n = rows.count(sql).await;
        assert_eq!(n, 0, "after kill {round}: {n} {what}");
    }
    let checked = rows
        .count(
            "SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM ticket_activities) + \
         (SELECT count(*) FROM ticket_participants) + (SELECT count(*) FROM external_users) + \
         (SELECT count(*) FROM staff_users)",
        )
        .await;
    rows.close().await;
    checked
}

/// Every acknowledged write, read back through the contract it was made with.
async fn assert_every_acknowledged_write_is_there(client: &reqwest::Client, t: &Target, ledger: &Ledger) {
    let get = |path: String| async move { send(client, t, "GET", &path, Value::Null).await.expect("an answer") };
    for (id, identifier) in &ledger.external_users {
        let (status, body) = get(format!("/api/v1/external-users/{id}")).await;
        assert_eq!((status, body["identifier"].as_str()), (200, Some(identifier.as_str())), "external user {id}");
    }
    for (id, (number, comments)) in &ledger.tickets {
        let (status, body) = get(format!("/support/tickets/v1/{id}")).await;
        assert_eq!(status, 200, "ticket {id}: {body}");
        assert_eq!(body["ticket"]["number"].as_i64(), Some(*number));
        let activities = body["activities"].as_array().expect("activities");
        assert!(activities.iter().any(|a| a["type"] == "created"), "ticket {id} lost its creation: {body}");
        for text in comments {
            assert!(activities.iter().any(|a| a["data"]["text"] == text.as_str()), "ticket {id} lost {text:?}: {body}");
        }
    }
    for (ticket, id, email) in &ledger.participants {
        let (status, body) = get(format!("/v1/crm/tickets/{ticket}/external-users")).await;
        assert_eq!(status, 200, "{body}");
        let listed = body.as_array().or_else(|| body["data"].as_array()).cloned().unwrap_or_default();
        assert!(
            listed.iter().any(|p| p["id"] == id.as_str() && p["email"] == email.as_str()),
            "ticket {ticket} lost its external user {email}: {body}"
        );
    }
    for (account, email) in &ledger.customers {
        let (status, body) = get(format!("/rest/api/2/user?accountId={account}")).await;
        assert_eq!((status, body["emailAddress"].as_str()), (200, Some(email.as_str())), "customer {account}");
    }
    for (id, email) in &ledger.staff {
        let (status, body) = get(format!("/api/v1/suser?Id={id}&format=json")).await;
        assert_eq!((status, body["User"]["Email"].as_str()), (200, Some(email.as_str())), "staff user {id}: {body}");
    }
}

async fn killed_again_and_again(db: TestDatabase, label: &str) {
    let seed: u64 =
        std::env::var("FRONTDESK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let key = format!("fdk_crash{}", uuid::Uuid::new_v4().simple());
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rows_checked = 0;

    let server = Server::start(&db, &key);
    server.wait_ready(&client).await;
    let mut target = Target {
        base: server.base.clone(),
        key: key.clone(),
        channel: String::new(),
        location: String::new(),
        requester: String::new(),
    };
    let (_, channels) = send(&client, &target, "GET", "/api/v1/channels", Value::Null).await.expect("channels");
    target.channel = channels[0]["id"].as_str().expect("channel").to_owned();
    let (_, location) =
        send(&client, &target, "POST", "/api/v1/locations", json!({"name": "Front desk"})).await.expect("location");
    target.location = location["id"].as_str().expect("location id").to_owned();
    let body = json!({"channelId": target.channel, "externalId": null, "identifier": "requester@example.com",
        "name": "Requester", "tierId": null, "externalUserGroupId": null});
    let (_, requester) = send(&client, &target, "POST", "/api/v1/external-users", body).await.expect("requester");
    target.requester = requester["id"].as_str().expect("requester id").to_owned();
    let target = Arc::new(target);
    let mut server = Some(server);

    for round in 1..=KILLS {
        let running = server.take().expect("a running server");
        let t = Arc::new(Target { base: running.base.clone(), ..clone_target(&target) });
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (client, t, ledger) = (client.clone(), t.clone(), ledger.clone());
                let mut rng = StdRng::seed_from_u64(seed ^ ((round * WRITERS + w) as u64));
                tokio::spawn(async move {
                    loop {
                        write_once(&client, &t, &ledger, &mut rng).await;
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..600))).await;
        running.kill();
        // Give the writers' last requests time to fail, then stop them.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for w in writers {
            w.abort();
        }
        let restarted = Server::start(&db, &key);
        restarted.wait_ready(&client).await;
        rows_checked += assert_whole(&db, round).await;
        server = Some(restarted);
    }

    let last = server.take().expect("the last server");
    let t = Target { base: last.base.clone(), ..clone_target(&target) };
    // Every writer task is gone (aborted above), so the ledger is this test's alone now.
    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    assert!(ledger.tickets.len() >= 3 && ledger.writes() >= 30, "too few writes got through to prove anything");
    assert_every_acknowledged_write_is_there(&client, &t, &ledger).await;
    notice_once(&format!(
        "{label}: {KILLS} SIGKILLs survived (seed {seed}); {} acknowledged writes read back whole \
         ({} tickets, {} comments), {rows_checked} rows checked for integrity",
        ledger.writes(),
        ledger.tickets.len(),
        ledger.tickets.values().map(|(_, c)| c.len()).sum::<usize>()
    ));
}

fn clone_target(t: &Target) -> Target {
    Target {
        base: t.base.clone(),
        key: t.key.clone(),
        channel: t.channel.clone(),
        location: t.location.clone(),
        requester: t.requester.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_acknowledged_write_survives_sigkill_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    killed_again_and_again(TestDatabase { url, schema: None }, "sqlite crash").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_acknowledged_write_survives_sigkill_whole() {
    let Some(url) = postgres_url() else { return };
    killed_again_and_again(TestDatabase { url, schema: Some(new_schema_name()) }, "postgres crash").await;
}
