//! Per-node samples of the external users table that plan searches: taken in the background at a
//! node's first search and again when old, never on a request's path after the first.
//!
//! A sample only chooses how a search runs, never what it finds: a stale or missing one can make a
//! search slower, not wrong.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// About how many external users a sample reads.
pub(super) const SAMPLE_ROWS: usize = 5_000;
/// How long a node plans with one sample of a full [`SAMPLE_ROWS`] before taking the next.
const LIFETIME: Duration = Duration::from_secs(600);
/// How long a smaller sample (a young table) lasts: the table is still filling, so what it
/// holds says little about what it will hold.
const SMALL_LIFETIME: Duration = Duration::from_secs(10);
/// How long a node's first search waits for the first sample (it takes milliseconds).
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// What a sample found, and how many rows it read.
pub(super) trait Sampled: Default + Send + Sync + 'static {
    /// How many of the table's rows the sample stands for: [`SAMPLE_ROWS`] (a full sample, kept
    /// for [`LIFETIME`]) once the table is that large, however many rows the draw itself returned.
    fn rows(&self) -> usize;
}

pub(super) struct Sample<T> {
    taken: RwLock<(Option<Instant>, Arc<T>)>,
    refreshing: AtomicBool,
}

impl<T: Sampled> Default for Sample<T> {
    fn default() -> Self {
        Self { taken: RwLock::new((None, Arc::default())), refreshing: AtomicBool::new(false) }
    }
}

impl<T: Sampled> Sample<T> {
    /// The newest sample (empty before the first).
    pub(super) fn get(&self) -> Arc<T> {
        self.taken.read().map(|t| t.1.clone()).unwrap_or_default()
    }

    /// Starts `take` in the background when the sample is missing or old. The search that asked
    /// goes on with what there is, except a node's very first search, which waits up to
    /// [`FIRST_WAIT`] for it: planned blind, a common term would take the slow way.
    pub(super) async fn refresh_if_old<F>(self: &Arc<Self>, take: F)
    where
        F: Future<Output = sqlx::Result<T>> + Send + 'static,
    {
        let (sampled, fresh) = self
            .taken
            .read()
            .map(|t| {
                let lifetime = if t.1.rows() >= SAMPLE_ROWS { LIFETIME } else { SMALL_LIFETIME };
                (t.0.is_some(), t.0.is_some_and(|at| at.elapsed() < lifetime))
            })
            .unwrap_or((true, true));
        if fresh || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let sample = self.clone();
        let task = tokio::spawn(async move {
            match take.await {
                Ok(found) => {
                    if let Ok(mut t) = sample.taken.write() {
                        *t = (Some(Instant::now()), Arc::new(found));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not sample the external users for search planning"),
            }
            sample.refreshing.store(false, Ordering::Release);
        });
        if !sampled {
            let _ = tokio::time::timeout(FIRST_WAIT, task).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Rows(usize);

    impl Sampled for Rows {
        fn rows(&self) -> usize {
            self.0
        }
    }

    #[tokio::test]
    async fn the_first_search_waits_for_the_sample_and_a_fresh_one_is_not_taken_again() {
        let sample = Arc::new(Sample::<Rows>::default());
        sample.refresh_if_old(async { Ok(Rows(SAMPLE_ROWS)) }).await;
        assert_eq!(sample.get().0, SAMPLE_ROWS);
        sample.refresh_if_old(async { Ok(Rows(1)) }).await;
        tokio::task::yield_now().await;
        assert_eq!(sample.get().0, SAMPLE_ROWS, "a full sample lasts");
    }

    #[tokio::test]
    async fn a_failed_sample_leaves_the_last_one_and_lets_the_next_search_try_again() {
        let sample = Arc::new(Sample::<Rows>::default());
        sample.refresh_if_old(async { Err(sqlx::Error::PoolTimedOut) }).await;
        assert_eq!(sample.get().0, 0);
        sample.refresh_if_old(async { Ok(Rows(3)) }).await;
        assert_eq!(sample.get().0, 3);
    }
}
