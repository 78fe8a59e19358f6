//! Outbox retention: a background task on every node deletes events older than the retention
//! window once every enabled webhook subscription has delivered them (docs/webhooks.md).

use std::time::Duration;

use tokio::sync::watch;

use super::App;
use crate::domain::Timestamp;

/// How long events are kept by default: 30 days.
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct RetentionOptions {
    /// Events older than this go (once delivered); `None`: every event is kept forever.
    pub window: Option<Duration>,
    /// How often a node looks for old events.
    pub interval: Duration,
    /// At most this many events of one workspace are deleted per transaction.
    pub batch: i64,
}

impl Default for RetentionOptions {
    fn default() -> Self {
        Self { window: Some(DEFAULT_EVENT_RETENTION), interval: Duration::from_secs(600), batch: 5_000 }
    }
}

impl App {
    /// One retention pass: deletes what is past `window` in batches until nothing more goes; answers
    /// how many events were deleted.
    pub async fn prune_events(&self, window: Duration, batch: i64) -> crate::store::StoreResult<u64> {
        let before = Timestamp::from_micros(Timestamp::now().micros().saturating_sub(window.as_micros() as i64));
        let mut total = 0;
        loop {
            let n = self.store.prune_events(before, batch).await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }
}

/// Runs retention passes until `stop` turns true; returns at once when events are kept forever.
/// Several nodes may prune at once: each deletes a prefix that only grows, so they cannot disagree.
pub async fn run_event_retention(app: App, options: RetentionOptions, mut stop: watch::Receiver<bool>) {
    let Some(window) = options.window else { return };
    loop {
        if let Err(e) = app.prune_events(window, options.batch.max(1)).await {
            tracing::warn!(error = %e, "event retention pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(options.interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
