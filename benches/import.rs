//! Import throughput into SQLite (docs/performance.md, "Import"): rows per second of
//! `run_import` (the code behind `POST /api/v1/external-users/import` and `frontdesk import`) on a
//! fresh database, and a floor measured in the same run: the same users created one by one through
//! the create use case by 32 concurrent callers (what a client looping over the API gets, without
//! HTTP). `BENCH_IMPORT_ROWS` sets the rows (200,000 by default). Prints figures; never fails on speed.
//! `BENCH_IMPORT_FLOOR_SECONDS` sets how long the floor runs (3 by default); 0 leaves it out, so a run
//! under an instruction counter counts the same work every time (a timed phase would not).
//! Beside each import's wall time it prints the process's CPU time over it (Linux `/proc`), which a
//! busy shared machine stretches less than the wall time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use frontdesk::app::{App, ChannelInput, NewExternalUser, Principal};
use frontdesk::contracts::workspace_api::import_export::{Format, ReaderSource, run_import};
use frontdesk::domain::{ChannelType, DisplayName, ExternalId, Identifier};
use frontdesk::{PostgresOptions, open_store};

fn main() {
    let rows: u64 = std::env::var("BENCH_IMPORT_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let floor_secs: u64 = std::env::var("BENCH_IMPORT_FLOOR_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run(rows, Duration::from_secs(floor_secs)));
}

async fn run(rows: u64, floor_for: Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("import.db").display());
    let store = open_store(&url, &PostgresOptions::default()).await.expect("store");
    let app = App::new(Arc::clone(&store));
    let created = app.create_workspace("Import bench").await.expect("workspace");
    let who = Principal::Operator { workspace_id: created.workspace.id };
    let web = app
        .create_channel(&who, ChannelInput { name: DisplayName::parse("Web").expect("name"), kind: ChannelType::Web })
        .await
        .expect("channel");

    // The floor: creates through the use case, 32 at a time, for `floor_for`.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..if floor_for.is_zero() { 0 } else { 32u64 } {
        let (app, who, channel) = (app.clone(), who.clone(), web.id);
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < floor_for {
                let new = NewExternalUser {
                    channel_id: channel,
                    external_id: Some(ExternalId::parse(&format!("floor-{t}-{n}")).expect("id")),
                    identifier: Some(Identifier::parse(&format!("floor{t}x{n}@example.com")).expect("identifier")),
                    name: Some(DisplayName::parse(&format!("Floor {n}")).expect("name")),
                    tier_id: None,
                    external_user_group_id: None,
                    time_zone: None,
                };
                app.create_external_user(&who, new).await.expect("create");
                n += 1;
            }
            n
        }));
    }
    let mut floor_rows = 0;
    for t in tasks {
        floor_rows += t.await.expect("task");
    }
    let floor = floor_rows as f64 / started.elapsed().as_secs_f64();
    if !floor_for.is_zero() {
        println!("floor: create external user (use case, 32 callers): {floor:.0} rows/s ({floor_rows} rows)");
    }

    for (label, channel, email) in
        [("web channel", web.id, false), ("e-mail channel (customers)", created.email_channel.id, true)]
    {
        let mut body = Vec::with_capacity(rows as usize * 160);
        for n in 0..rows {
            let row = serde_json::json!({
                "channelId": channel,
                "externalId": format!("imp-{email}-{n}"),
                "identifier": format!("user{n}.{email}@example.com"),
                "name": format!("Imported user {n}"),
            });
            body.extend_from_slice(row.to_string().as_bytes());
            body.push(b'\n');
        }
        let started = Instant::now();
        let cpu = cpu_seconds();
        let source = ReaderSource(&body[..]);
        let report = run_import(&app, &who, Format::Ndjson, None, source, &mut |_, _| {}).await.expect("import");
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu).map(|(end, start)| end - start);
        assert_eq!(report.created, rows, "every row created: {:?}", report.rejections.first());
        let rate = rows as f64 / secs;
        println!(
            "import, {label}: {rows} rows in {secs:.2} s = {rate:.0} rows/s{} (target 20,000 rows/s: {}){}",
            if floor > 0.0 { format!(" = {:.1}x the floor", rate / floor) } else { String::new() },
            if rate >= 20_000.0 { "met" } else { "NOT met" },
            cpu.map(|c| format!("; CPU {c:.2} s = {:.0} rows per CPU second", rows as f64 / c)).unwrap_or_default()
        );
        // Re-importing the same file: every row read, compared and left unchanged.
        let started = Instant::now();
        let cpu = cpu_seconds();
        let report = run_import(&app, &who, Format::Ndjson, None, ReaderSource(&body[..]), &mut |_, _| {})
            .await
            .expect("import");
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds().zip(cpu).map(|(end, start)| end - start);
        assert_eq!(report.unchanged, rows);
        println!(
            "re-import, {label}: {rows} unchanged rows in {secs:.2} s = {:.0} rows/s{}",
            rows as f64 / secs,
            cpu.map(|c| format!("; CPU {c:.2} s = {:.0} rows per CPU second", rows as f64 / c)).unwrap_or_default()
        );
    }
}

/// User plus system CPU time of this process so far, from `/proc/self/stat` (fields 14 and 15, in
/// clock ticks of 1/100 s on Linux); `None` elsewhere. Never inlined, so a profiler can cut its
/// profile where each import starts and ends (valgrind's `--dump-before=import::cpu_seconds`).
#[inline(never)]
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}
