//! Import and export of external users as NDJSON and CSV: every row checked by the upsert's rules,
//! the report checked line by line and its counts against the database, the bounds, the
//! `Idempotency-Key` rule, and a round trip export → import → export that changes nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, exchange, on_both_backends};

const IMPORT: &str = "/api/v1/external-users/import";

async fn web_channel(app: &TestApp, key: &str) -> String {
    let req = app
        .client
        .post(format!("{}/api/v1/channels", app.base))
        .header("authorization", key)
        .header("content-type", "application/json")
        .body(json!({"name": "Chat", "type": "web"}).to_string());
    let r = exchange(req).await.expect("request").into_reply();
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn import_as(app: &TestApp, key: &str, content_type: &str, query: &str, body: String) -> Reply {
    let req = app
        .client
        .post(format!("{}{IMPORT}{query}", app.base))
        .header("authorization", key)
        .header("content-type", content_type)
        .body(body);
    exchange(req).await.expect("request").into_reply()
}

async fn import(app: &TestApp, content_type: &str, body: String) -> Reply {
    import_as(app, &app.key, content_type, "", body).await
}

async fn export_as(app: &TestApp, key: &str, query: &str) -> (u16, Option<String>, String) {
    let req = app.client.get(format!("{}/api/v1/external-users/export{query}", app.base)).header("authorization", key);
    let a = exchange(req).await.expect("request");
    (a.status, a.content_type().map(str::to_owned), a.text)
}

/// The workspace's live external users, counted by the list (its exact total).
async fn count_users(app: &TestApp, query: &str) -> i64 {
    let r = app.get(&format!("/api/v1/external-users?pageSize=1{query}")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.header("x-total-count").expect("an exact total").parse().unwrap()
}

/// (line, fields) of every listed rejection.
fn rejected_lines(report: &Value) -> BTreeMap<u64, Vec<String>> {
    report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let fields = r["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned());
            (r["line"].as_u64().unwrap(), fields.collect())
        })
        .collect()
}

/// What line `n` of the big file holds, and which field it is refused on (if it is).
fn big_row(n: u64, web: &str, email: &str) -> (String, Option<&'static str>) {
    if n > 99_000 {
        // The last thousand repeat the first thousand's keys: half renamed, half as they were.
        let of = n - 99_000;
        let channel = if of.is_multiple_of(10) { email } else { web };
        let name = if of <= 500 { format!("Renamed {of}") } else { format!("User {of}") };
        let row = json!({"channelId": channel, "externalId": format!("ext-{of}"), "name": name});
        return (row.to_string(), None);
    }
    let channel = if n.is_multiple_of(10) { email } else { web };
    let mut row = json!({"channelId": channel, "externalId": format!("ext-{n}"),
                         "identifier": format!("user{n}@example.com"), "name": format!("User {n}")});
    let bad = if n == 50_021 {
        return (json!({"channelId": web, "name": "x".repeat(70_000)}).to_string(), Some("row"));
    } else if n.is_multiple_of(10_007) {
        return ("{\"channelId\": not json".into(), Some("row"));
    } else if n.is_multiple_of(9_973) {
        row["tierId"] = json!("8f14e45f-ceea-467a-9af0-2b7d3c1e0a11");
        Some("tierId")
    } else if n.is_multiple_of(7_919) {
        row["channelId"] = json!(email);
        row["identifier"] = json!("not-an-address");
        Some("identifier")
    } else if n.is_multiple_of(6_007) {
        row["name"] = json!("n".repeat(300));
        Some("name")
    } else if n.is_multiple_of(5_003) {
        row["blocked"] = json!("yes");
        Some("blocked")
    } else if n.is_multiple_of(4_001) {
        row.as_object_mut().unwrap().remove("channelId");
        Some("channelId")
    } else if n.is_multiple_of(3_001) {
        // Line 1's identifier on line 1's channel: taken.
        row["channelId"] = json!(web);
        row["identifier"] = json!("user1@example.com");
        Some("identifier")
    } else {
        None
    };
    (row.to_string(), bad)
}

/// 100,000 rows with planted bad ones: each is reported on its line and field, the counts add up,
/// and the database holds exactly the created rows. SQLite only (the same code runs on PostgreSQL in
/// the smaller tests below; 100k rows there take long in a debug build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_row_import_reports_each_planted_bad_row_by_line_and_its_counts_match_the_database() {
    let app = TestApp::sqlite().await;
    let web = web_channel(&app, &app.key).await;
    let email = app.email_channel_id.clone();
    let mut body = String::new();
    let mut expected = BTreeMap::new();
    for n in 1..=100_000u64 {
        let (line, bad) = big_row(n, &web, &email);
        body.push_str(&line);
        body.push('\n');
        if let Some(field) = bad {
            expected.insert(n, vec![field.to_owned()]);
        }
    }
    assert!(body.len() > 8 * 1024 * 1024, "larger than any other body may be");
    let started = std::time::Instant::now();
    let r = import(&app, "application/x-ndjson", body).await;
    eprintln!("100k rows imported in {:?}", started.elapsed());
    assert_eq!(r.status, 200, "{:?}", r.body);
    let report = r.body;
    assert_eq!(rejected_lines(&report), expected, "every planted row, on its line and field, and no other");
    let rejected = expected.len() as u64;
    assert_eq!(report["rows"], 100_000);
    assert_eq!(report["rejected"], rejected);
    assert_eq!(report["created"], 99_000 - rejected);
    assert_eq!(report["updated"], 500);
    assert_eq!(report["unchanged"], 500);
    assert_eq!(report["rejectionsTruncated"], false);
    assert_eq!(report["stopped"], Value::Null);

    assert_eq!(count_users(&app, "").await, (99_000 - rejected) as i64, "the database holds the created rows");
    let on_email = (1..=99_000u64).filter(|n| n.is_multiple_of(10) && !expected.contains_key(n)).count() as i64;
    assert_eq!(count_users(&app, &format!("&channelIds={email}")).await, on_email);
    let renamed = app.get(&format!("/api/v1/external-users?search=Renamed&channelIds={web}&pageSize=100")).await;
    assert_eq!(renamed.header("x-total-count-at-least").or(renamed.header("x-total-count")), Some("450"));

    // Its last thousand rows again change nothing: keyed rows are upserts.
    let mut again = String::new();
    for n in 99_001..=100_000u64 {
        again.push_str(&big_row(n, &web, &email).0);
        again.push('\n');
    }
    let r = import(&app, "application/x-ndjson", again).await;
    assert_eq!((r.body["unchanged"].as_u64(), r.body["created"].as_u64()), (Some(1_000), Some(0)), "{:?}", r.body);
}

#[tokio::test]
async fn a_database_failure_mid_import_stops_it_with_a_report_of_what_was_written() {
    let app = TestApp::sqlite().await;
    let web = web_channel(&app, &app.key).await;
    // The database refuses one row's write as a failing disk would: its whole batch fails.
    let path = app.database.url.trim_start_matches("sqlite://").to_owned();
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "CREATE TRIGGER failing_disk BEFORE INSERT ON external_users WHEN new.external_id = 'k-4500' \
         BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;",
    )
    .unwrap();
    drop(db);
    let body: String = (1..=5_000)
        .map(|n| format!("{}\n", json!({"channelId": web, "externalId": format!("k-{n}"), "name": format!("Row {n}")})))
        .collect();
    let r = import(&app, "application/x-ndjson", body).await;
    assert_eq!(r.status, 200, "the report, not an error that hides what was written: {:?}", r.body);
    let created = r.body["created"].as_i64().unwrap();
    assert!(created > 0 && created < 4_500, "the batches before the failing one: {:?}", r.body);
    assert_eq!(r.body["rows"].as_i64(), Some(created), "nothing after the failure is counted");
    let stopped = r.body["stopped"].as_str().expect("the report says why it stopped");
    assert!(stopped.contains(&format!("line {}", created + 1)), "{stopped}");
    assert_eq!(count_users(&app, &format!("&channelIds={web}")).await, created, "the report's count is the database's");
}

on_both_backends! {
    async fn csv_rows_are_upserts_checked_by_the_api_rules_and_customers_get_their_events(app) {
        let web = web_channel(&app, &app.key).await;
        let email = &app.email_channel_id;
        let csv = format!(
            "channelId,externalId,identifier,name,blocked,extra\r\n\
             {email},c-1,ada@example.com,\"Lovelace, Ada\",false,ignored\r\n\
             {web},w-1,+15550001,\"Multi\nline \"\"quoted\"\" name\",true,\r\n\
             {email},c-2,not-an-address,Bad,,\r\n\
             {web},,,No key,,\r\n\
             {email},c-1,ada@example.com,\"Lovelace, Ada\",false,\r\n\
             {email},c-1,,Ada L.,,\r\n\
             {web},w-2,x,y\r\n\
             {web},w-3,z,\"open\r\n"
        );
        let r = import(&app, "text/csv", csv).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let report = &r.body;
        // Line 3 holds a record over two lines, so the next record starts on line 5; line 7 repeats
        // line 2 as it is; line 8 clears the identifier an e-mail channel requires; line 9 is short
        // of cells; line 10 opens a quote it never closes.
        let expected: BTreeMap<u64, Vec<String>> = [
            (5, vec!["identifier".to_owned()]),
            (8, vec!["identifier".to_owned()]),
            (9, vec!["row".to_owned()]),
            (10, vec!["row".to_owned()]),
        ].into_iter().collect();
        assert_eq!(rejected_lines(report), expected, "{report:?}");
        assert_eq!(report["rows"], 8);
        assert_eq!((report["created"].as_u64(), report["unchanged"].as_u64()), (Some(3), Some(1)), "{report:?}");
        assert_eq!(count_users(&app, "").await, 3);

        let users = app.get(&format!("/api/v1/external-users?channelIds={web}&pageSize=10")).await.body;
        let multi = users.as_array().unwrap().iter().find(|u| u["externalId"] == "w-1").expect("w-1");
        assert_eq!(multi["name"], "Multi\nline \"quoted\" name");
        assert_eq!(multi["blocked"], true);
        assert_eq!(multi["identifier"], "+15550001");
        let events = app.get("/api/v1/events?types=customer.created").await;
        assert_eq!(events.status, 200, "{:?}", events.body);
        let created: Vec<&Value> = events.body["events"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        assert_eq!(created.len(), 1, "one customer (the e-mail channel's user) was created: {:?}", events.body);
        // The import writes its events' JSON itself: each is the created user as its GET shows it.
        let events = app.get("/api/v1/events?types=external_user.created").await.body;
        let events = events["events"].as_array().expect("events");
        assert_eq!(events.len(), 3, "{events:?}");
        for event in events.iter().chain(created) {
            let id = event["data"]["id"].as_str().expect("the user's id");
            let shown = app.get(&format!("/api/v1/external-users/{id}")).await;
            assert_eq!(event["data"], shown.body, "the event shows the user as its GET does");
        }
    }

    async fn an_upsert_row_creates_then_updates_then_leaves_unchanged_without_touching_updated_at(app) {
        let email = app.email_channel_id.clone();
        let line = |name: &str| json!({"channelId": email, "externalId": "k-1", "identifier": "k@example.com", "name": name}).to_string();
        let r = import(&app, "application/x-ndjson", format!("{}\n", line("One"))).await;
        assert_eq!((r.body["created"].as_u64(), r.body["rows"].as_u64()), (Some(1), Some(1)), "{:?}", r.body);
        let first = app.get("/api/v1/external-users?search=k-1").await.body[0].clone();
        let r = import(&app, "application/x-ndjson", format!("{}\n\n{}\n", line("Two"), line("Two"))).await;
        assert_eq!((r.body["updated"].as_u64(), r.body["unchanged"].as_u64()), (Some(1), Some(1)), "{:?}", r.body);
        let second = app.get("/api/v1/external-users?search=k-1").await.body[0].clone();
        assert_eq!(second["name"], "Two");
        assert_eq!(second["id"], first["id"], "the same user, updated");
        let r = import(&app, "application/x-ndjson", format!("{}\n", line("Two"))).await;
        assert_eq!(r.body["unchanged"], 1);
        let third = app.get("/api/v1/external-users?search=k-1").await.body[0].clone();
        assert_eq!(third["updatedAt"], second["updatedAt"], "unchanged keeps updatedAt");
        // The same rules as PUT /api/v1/external-users: clearing the identifier on an e-mail channel.
        let clear = json!({"channelId": email, "externalId": "k-1", "identifier": null}).to_string();
        let r = import(&app, "application/x-ndjson", clear).await;
        assert_eq!(rejected_lines(&r.body), [(1, vec!["identifier".to_owned()])].into_iter().collect());
        let put = app.send("PUT", &format!("/api/v1/external-users?channelId={email}&externalId=k-1"), Some(&app.key),
            Some(r#"{"identifier": null}"#)).await;
        assert_eq!(put.status, 400, "the API refuses the same row: {:?}", put.body);
    }

    async fn export_then_import_elsewhere_then_export_gives_the_same_content(app) {
        let web = web_channel(&app, &app.key).await;
        let mut rows = String::new();
        for n in 1..=1_234u32 {
            let name = if n.is_multiple_of(3) { Value::Null } else { json!(format!("Name, \"{n}\"\nsecond line")) };
            rows.push_str(&json!({"channelId": web, "externalId": format!("ext{n}"), "identifier": format!("id{n}"),
                                  "name": name, "blocked": n.is_multiple_of(7)}).to_string());
            rows.push('\n');
        }
        let r = import(&app, "application/x-ndjson", rows).await;
        assert_eq!(r.body["created"], 1_234, "{:?}", r.body);
        let (_, other_key, _) = app.other_workspace().await;
        let other_web = web_channel(&app, &other_key).await;
        for format in ["csv", "ndjson"] {
            let (status, media, first) = export_as(&app, &app.key, &format!("?format={format}&channelIds={web}")).await;
            assert_eq!(status, 200);
            assert!(media.unwrap().starts_with(if format == "csv" { "text/csv" } else { "application/x-ndjson" }));
            let content_type = if format == "csv" { "text/csv" } else { "application/x-ndjson" };
            let query = format!("?channelId={other_web}");
            let r = import_as(&app, &other_key, content_type, &query, first.clone()).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let expected_created = if format == "csv" { 1_234 } else { 0 };
            assert_eq!(r.body["created"], expected_created, "{format}: {:?}", r.body);
            assert_eq!(r.body["rejected"], 0, "{format}: {:?}", r.body);
            let (_, _, second) = export_as(&app, &other_key, &format!("?format={format}")).await;
            assert_eq!(content(format, &first), content(format, &second), "{format}: the same users, in the same order");
        }
        assert_eq!(content("csv", &export_as(&app, &app.key, "?format=csv").await.2).len(), 1_234);
    }

    async fn import_and_export_are_for_admins_and_bad_requests_write_nothing(app) {
        let agent = app.post("/api/v1/api-keys", &json!({"name": "Agent", "role": "agent"})).await.body["key"]
            .as_str().unwrap().to_owned();
        let row = json!({"channelId": app.email_channel_id, "identifier": "a@example.com"}).to_string();
        let r = import_as(&app, &agent.clone(), "application/x-ndjson", "", row.clone()).await;
        assert_eq!(r.status, 403, "{:?}", r.body);
        assert_eq!(export_as(&app, &agent.clone(), "").await.0, 403);
        let r = import(&app, "application/json", row.clone()).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "Content-Type");
        let r = import_as(&app, &app.key, "application/x-ndjson", "?channelId=nope", row.clone()).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        let r = import_as(&app, &app.key, "application/x-ndjson", "?channelId=8f14e45f-ceea-467a-9af0-2b7d3c1e0a11", row).await;
        assert_eq!(r.status, 404, "{:?}", r.body);
        assert_eq!(export_as(&app, &app.key, "?format=xml").await.0, 400);
        assert_eq!(count_users(&app, "").await, 0, "nothing was written");
    }

    async fn more_than_a_thousand_rejections_are_all_counted_and_the_first_thousand_listed(app) {
        let mut rows = String::new();
        for _ in 0..1_200 {
            rows.push_str("[1, 2]\n");
        }
        rows.push_str(&json!({"channelId": app.email_channel_id, "identifier": "last@example.com"}).to_string());
        let r = import(&app, "application/x-ndjson", rows).await;
        assert_eq!((r.body["rejected"].as_u64(), r.body["created"].as_u64()), (Some(1_200), Some(1)));
        let listed = rejected_lines(&r.body);
        assert_eq!(listed.len(), 1_000);
        assert_eq!(listed.keys().next_back(), Some(&1_000));
        assert_eq!(r.body["rejectionsTruncated"], true);
    }

    async fn an_idempotency_key_replays_a_small_import_and_refuses_a_large_one(app) {
        let row = json!({"channelId": app.email_channel_id, "identifier": "once@example.com"}).to_string();
        let send = |body: String| {
            let req = app.client.post(format!("{}{IMPORT}", app.base)).header("authorization", &app.key)
                .header("content-type", "application/x-ndjson").header("idempotency-key", "import-1").body(body);
            async move { exchange(req).await.expect("request").into_reply() }
        };
        let first = send(row.clone()).await;
        let again = send(row).await;
        assert_eq!(first.body["created"], 1);
        assert_eq!(again.body, first.body, "the first report, replayed");
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(count_users(&app, "").await, 1, "created once");
        let big = format!("{}\n", "x".repeat(600)).repeat(2_000);
        let req = app.client.post(format!("{}{IMPORT}", app.base)).header("authorization", &app.key)
            .header("content-type", "application/x-ndjson").header("idempotency-key", "import-2").body(big);
        let r = exchange(req).await.expect("request").into_reply();
        assert_eq!(r.status, 400, "a keyed body is bounded to 1 MiB: {:?}", r.body);
    }
}

/// An export's users without what differs between workspaces (ids, channel, times).
fn content(format: &str, text: &str) -> Vec<Vec<Value>> {
    let keep = ["externalId", "identifier", "name", "blocked"];
    match format {
        "ndjson" => text
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                keep.iter().map(|k| v[*k].clone()).collect()
            })
            .collect(),
        _ => {
            // Parse the CSV the simple way this export writes it: quoted cells may hold breaks.
            let mut records = Vec::new();
            let mut cells = Vec::new();
            let mut cell = String::new();
            let mut quoted = false;
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                match (quoted, c) {
                    (true, '"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cell.push('"');
                    }
                    (true, '"') => quoted = false,
                    (true, c) => cell.push(c),
                    (false, '"') => quoted = true,
                    (false, ',') => cells.push(std::mem::take(&mut cell)),
                    (false, '\r') => {}
                    (false, '\n') => {
                        cells.push(std::mem::take(&mut cell));
                        records.push(std::mem::take(&mut cells));
                    }
                    (false, c) => cell.push(c),
                }
            }
            let header = records.remove(0);
            let at = |k: &str| header.iter().position(|h| h == k).unwrap();
            records.into_iter().map(|r| keep.iter().map(|k| Value::String(r[at(k)].clone())).collect()).collect()
        }
    }
}
