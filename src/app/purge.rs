//! The background purge: every node deletes expired access tokens, web sessions, sign-in attempt
//! rows and idempotency keys, a bounded batch of each per tick, so no table grows with time and no
//! purge holds the database's writer for long.

use std::time::Duration;

use tokio::sync::watch;

use super::{App, AppResult, SIGN_IN_WINDOW_SECONDS};
use crate::domain::Timestamp;
use crate::store::{PurgeCutoffs, Purged};

/// How often the purge runs, and how many rows of each table one run deletes at most.
#[derive(Debug, Clone)]
pub struct PurgeOptions {
    pub interval: Duration,
    pub batch: i64,
    /// Idempotency keys older than this are gone.
    pub idempotency_key_ttl: Duration,
}

impl Default for PurgeOptions {
    fn default() -> Self {
        Self { interval: Duration::from_secs(60), batch: 1000, idempotency_key_ttl: super::IDEMPOTENCY_KEY_TTL }
    }
}

impl App {
    /// One purge: at most `batch` expired rows of each table, as of `now`.
    pub async fn purge_expired(&self, now: Timestamp, options: &PurgeOptions) -> AppResult<Purged> {
        let ttl_micros = i64::try_from(options.idempotency_key_ttl.as_micros()).unwrap_or(i64::MAX);
        let cutoffs = PurgeCutoffs {
            now,
            sign_in_windows_before: now.plus_seconds(-SIGN_IN_WINDOW_SECONDS),
            idempotency_keys_before: Timestamp::from_micros(now.micros().saturating_sub(ttl_micros)),
        };
        Ok(self.store.purge_expired(cutoffs, options.batch.max(1)).await?)
    }
}

/// Purges every `interval` until `stop`; a full batch runs the next purge at once.
pub async fn run_purge(app: App, options: PurgeOptions, mut stop: watch::Receiver<bool>) {
    loop {
        let full = match app.purge_expired(Timestamp::now(), &options).await {
            Ok(p) => {
                if p.total() > 0 {
                    tracing::debug!(?p, "purged expired rows");
                }
                [p.access_tokens, p.web_sessions, p.sign_in_attempts, p.idempotency_keys]
                    .iter()
                    .any(|n| *n as i64 >= options.batch)
            }
            Err(e) => {
                tracing::warn!(error = %e, "purge of expired rows failed");
                false
            }
        };
        if *stop.borrow() {
            return;
        }
        let pause = if full { Duration::from_millis(50) } else { options.interval };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}
