//! Group commit: every write of one kind waiting when its writer is free goes into one transaction.
//!
//! The hot writes (external-user creates, ticket creates) queue here instead of each opening its own
//! transaction: a batch shares the commit, the workspace's counter rows and, on SQLite, the hand-off
//! to the writer, so the writer's time per write falls as the load grows. Each write's outcome is
//! reported only after the commit that made it durable, so nothing acknowledged is lost.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use super::{StoreError, StoreResult};

/// At most this many writes share one commit.
pub(super) const MAX_BATCH: usize = 256;

/// What commits a batch of `T`: the sqlx pool, or SQLite's direct writer (`sqlite_write.rs`).
pub(super) trait Commit<T>: Send + Sync + 'static {
    /// What each write answers once committed.
    type Done: Send + 'static;

    /// Runs the batch in one transaction; the outcome of each write, in order.
    fn commit(&self, batch: &[T]) -> impl Future<Output = Vec<StoreResult<Self::Done>>> + Send;
}

/// The queue to one batch writer.
pub(super) struct Batches<T, O> {
    queue: mpsc::Sender<(T, oneshot::Sender<StoreResult<O>>)>,
}

impl<T, O> Clone for Batches<T, O> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone() }
    }
}

impl<T: Send + 'static, O: Send + 'static> Batches<T, O> {
    /// Starts the writer on `writer`; it stops when the last handle to the queue is dropped.
    pub fn start(writer: impl Commit<T, Done = O>) -> Self {
        let (queue, waiting) = mpsc::channel(MAX_BATCH * 4);
        tokio::spawn(commit_batches(writer, waiting));
        Self { queue }
    }

    /// Hands `write` to the writer and waits for the commit that includes it.
    pub async fn submit(&self, write: T) -> StoreResult<O> {
        let (done, outcome) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the database writer has stopped".into());
        self.queue.send((write, done)).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn commit_batches<T, W: Commit<T>>(
    writer: W,
    mut waiting: mpsc::Receiver<(T, oneshot::Sender<StoreResult<W::Done>>)>,
) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut answers = Vec::with_capacity(MAX_BATCH);
    loop {
        if queued.is_empty() && waiting.recv_many(&mut queued, MAX_BATCH).await == 0 {
            return;
        }
        while queued.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(write) => queued.push(write),
                Err(_) => break,
            }
        }
        // A power of two, the rest first in the next batch: a batch's multi-row statements then come
        // in a few sizes, each prepared once and kept, where preparing one of a new size was 5 % of
        // a create's CPU.
        let later = queued.split_off(1 << queued.len().ilog2());
        for (write, done) in queued.drain(..) {
            batch.push(write);
            answers.push(done);
        }
        queued.extend(later);
        let outcomes = writer.commit(&batch).await;
        for (done, outcome) in answers.drain(..).zip(outcomes) {
            // The requester may have gone away; its write is stored all the same.
            let _ = done.send(outcome);
        }
        batch.clear();
    }
}

/// A batch that PostgreSQL rolled back to break a deadlock (batches on several nodes taking the same
/// index entries or counter rows in another order) runs again, up to this many times in all.
const ATTEMPTS: usize = 3;

/// The outcome of each of `len` writes, by `attempt` (one transaction) run again after a deadlock;
/// an error that ended the transaction fails every write.
pub(super) async fn retried<O, F: Future<Output = StoreResult<Vec<StoreResult<O>>>>>(
    len: usize,
    mut attempt: impl FnMut() -> F,
) -> Vec<StoreResult<O>> {
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(StoreError::RolledBack(_)) if attempts < ATTEMPTS => attempts += 1,
            Err(e) => return (0..len).map(|_| Err(e.same_kind())).collect(),
            Ok(outcomes) => return outcomes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records each batch's size and answers every write doubled.
    #[derive(Default)]
    struct Doubling {
        sizes: Mutex<Vec<usize>>,
    }

    impl Commit<u32> for std::sync::Arc<Doubling> {
        type Done = u32;

        async fn commit(&self, batch: &[u32]) -> Vec<StoreResult<u32>> {
            self.sizes.lock().unwrap().push(batch.len());
            batch.iter().map(|n| Ok(n * 2)).collect()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_waiting_together_share_batches_cut_to_powers_of_two_and_each_gets_its_own_answer() {
        let writer = std::sync::Arc::new(Doubling::default());
        let batches = Batches::start(writer.clone());
        let writes: Vec<_> = (0..300u32)
            .map(|n| {
                let batches = batches.clone();
                tokio::spawn(async move { (n, batches.submit(n).await) })
            })
            .collect();
        for write in writes {
            let (n, answer) = write.await.unwrap();
            assert_eq!(answer.unwrap(), n * 2);
        }
        let sizes = writer.sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 300);
        assert!(sizes.iter().all(|s| s.is_power_of_two() && *s <= MAX_BATCH), "{sizes:?}");
    }
}
