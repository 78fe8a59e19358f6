//! `frontdesk import FILE` and `frontdesk export > FILE`: the same reading, rules, batches and
//! report as `POST /api/v1/external-users/import` and `GET /api/v1/external-users/export`
//! (docs/import-export.md), run by the operator on the database directly.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use frontdesk::app::{App, ExternalUserFilter, ImportReport};
use frontdesk::contracts::workspace_api::import_export::{
    Format, ReaderSource, export_first, export_rest, report_json, run_import,
};
use frontdesk::domain::parse_uuid;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::CliResult;
use super::admin::{WorkspaceArg, operator};

#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The NDJSON or CSV file to import (`-` reads standard input)
    file: PathBuf,
    #[command(flatten)]
    ws: WorkspaceArg,
    /// ndjson or csv; by default from the file's extension (.csv is CSV, anything else NDJSON)
    #[arg(long)]
    format: Option<String>,
    /// Put every row on this channel (a row's own channelId is then ignored)
    #[arg(long)]
    channel: Option<String>,
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    ws: WorkspaceArg,
    /// ndjson (the default) or csv
    #[arg(long, default_value = "ndjson")]
    format: String,
    /// Only users of this channel (repeat for several)
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// Only users of this tier (repeat for several)
    #[arg(long = "tier")]
    tiers: Vec<String>,
    /// Only users of this external user group (repeat for several)
    #[arg(long = "group")]
    groups: Vec<String>,
    /// Only users of this super identity (repeat for several)
    #[arg(long = "super-identity")]
    super_identities: Vec<String>,
    /// Only users whose name, identifier or external id contains this text
    #[arg(long)]
    search: Option<String>,
}

fn uuids(raw: &[String], what: &str) -> Result<Vec<Uuid>, String> {
    raw.iter().map(|r| parse_uuid(r.trim()).ok_or_else(|| format!("{what} must be a UUID, not {r:?}"))).collect()
}

fn format_of(flag: Option<&str>, file: &Path) -> Result<Format, String> {
    match flag {
        Some(f) => Format::parse(f).ok_or_else(|| format!("--format must be ndjson or csv, not {f:?}")),
        None if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => Ok(Format::Csv),
        None => Ok(Format::Ndjson),
    }
}

/// The progress line on standard error: rows, rows per second and, from the bytes read of the file's
/// size, how far it is and how long is left.
struct ProgressLine {
    started: Instant,
    last: Instant,
    size: Option<u64>,
    terminal: bool,
}

impl ProgressLine {
    fn show(&mut self, bytes: u64, report: &ImportReport, done: bool) {
        let now = Instant::now();
        let every = if self.terminal { Duration::from_millis(200) } else { Duration::from_secs(5) };
        if !done && now.duration_since(self.last) < every {
            return;
        }
        self.last = now;
        let secs = now.duration_since(self.started).as_secs_f64().max(0.001);
        let rows = report.rows();
        let rate = rows as f64 / secs;
        let mut line = format!("{rows} rows, {rate:.0} rows/s, {} rejected", report.rejected);
        if let Some(size) = self.size.filter(|s| *s > 0) {
            let part = (bytes as f64 / size as f64).min(1.0);
            let left = if part > 0.0 { secs * (1.0 - part) / part } else { 0.0 };
            line.push_str(&format!(", {:.0} % of the file, ETA {left:.0} s", part * 100.0));
        }
        let mut err = std::io::stderr();
        let _ = if self.terminal { write!(err, "\r{line}\x1b[K") } else { writeln!(err, "{line}") };
        if done && self.terminal {
            let _ = writeln!(err);
        }
    }
}

/// Imports the file; prints the report (JSON) on standard output. Fails (a non-zero exit) when a
/// row was rejected or the import stopped early, after printing the report all the same.
pub(crate) async fn import(app: &App, args: ImportArgs) -> CliResult {
    let who = operator(app, &args.ws).await?;
    let format = format_of(args.format.as_deref(), &args.file)?;
    let channel = match &args.channel {
        Some(raw) => Some(parse_uuid(raw.trim()).ok_or("--channel must be a channel id (UUID)")?),
        None => None,
    };
    if let Some(channel) = channel {
        app.get_channel(&who, channel).await.map_err(|e| format!("--channel: {e}"))?;
    }
    let mut progress = ProgressLine {
        started: Instant::now(),
        last: Instant::now(),
        size: None,
        terminal: std::io::stderr().is_terminal(),
    };
    let report = if args.file.as_os_str() == "-" {
        let source = ReaderSource(tokio::io::stdin());
        run_import(app, &who, format, channel, source, &mut |b, r| progress.show(b, r, false)).await
    } else {
        let file =
            tokio::fs::File::open(&args.file).await.map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
        progress.size = file.metadata().await.ok().map(|m| m.len());
        let source = ReaderSource(file);
        run_import(app, &who, format, channel, source, &mut |b, r| progress.show(b, r, false)).await
    }
    .map_err(|e| e.to_string())?;
    progress.show(0, &report, true);
    let text = serde_json::to_string_pretty(&report_json(&report)).map_err(|e| e.to_string())?;
    println!("{text}");
    if let Some(why) = &report.stopped {
        return Err(format!("the import stopped early: {why}"));
    }
    if report.rejected > 0 {
        return Err(format!("{} of {} rows were rejected (see the report)", report.rejected, report.rows()));
    }
    Ok(())
}

/// Writes the filtered list to standard output, page by page.
pub(crate) async fn export(app: &App, args: ExportArgs) -> CliResult {
    let who = operator(app, &args.ws).await?;
    let format = Format::parse(&args.format).ok_or("--format must be ndjson or csv")?;
    let filter = ExternalUserFilter {
        channel_ids: uuids(&args.channels, "--channel")?,
        external_user_group_ids: uuids(&args.groups, "--group")?,
        super_identity_ids: uuids(&args.super_identities, "--super-identity")?,
        tier_ids: uuids(&args.tiers, "--tier")?,
        search: args.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    let (first, position) = export_first(app, &who, &filter, format).await.map_err(|e| e.to_string())?;
    let mut out = tokio::io::stdout();
    let broken = |e: std::io::Error| format!("cannot write the export: {e}");
    out.write_all(&first).await.map_err(broken)?;
    let (sender, mut pages) = tokio::sync::mpsc::channel(2);
    tokio::spawn(export_rest(app.clone(), who, filter, format, position, sender));
    while let Some(page) = pages.recv().await {
        out.write_all(&page?).await.map_err(broken)?;
    }
    out.flush().await.map_err(broken)
}
