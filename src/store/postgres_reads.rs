//! PostgreSQL reads on connections lent without sqlx's pool.
//!
//! sqlx pings every connection that goes back to its pool (a round trip to the server, which no
//! option turns off: it guards against a query cancelled half-way), so a read by key through the
//! pool is two round trips. The hot reads (`Dialect::rows` and the reads by key) borrow a
//! connection from here instead, and give it back only when the read finished: one cancelled or
//! failed is dropped with its connection, so nothing half-read is ever lent again. Here and in the
//! pool, a connection is pinged before its next use only when it is suspect ([`PgReads::suspect`]).
//!
//! Connections are opened on demand up to `bound`; when all are lent the read goes through the
//! pool instead, so a burst waits for no one here.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use super::StoreResult;
use super::error::StoreError;

/// How long a connection may sit idle before it is checked (pinged) before its next use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

pub(super) struct PgReads {
    connect: PgConnectOptions,
    bound: usize,
    /// How long opening a connection (or checking an idle one) may take, as the pool's acquire.
    timeout: Duration,
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    connections: Vec<(PgConnection, Instant)>,
    /// Connections that exist: idle ones plus those lent out.
    open: usize,
    /// When a connection, lent or pooled, was last found lost.
    lost_at: Option<Instant>,
}

/// A lent connection. [`Lent::give_back`] returns it; dropped otherwise (a read that failed or was
/// cancelled), it closes.
pub(super) struct Lent<'a> {
    connection: Option<PgConnection>,
    reads: &'a PgReads,
    kept: bool,
}

impl PgReads {
    pub(super) fn new(connect: PgConnectOptions, bound: usize, timeout: Duration) -> Self {
        Self { connect, bound, timeout, idle: Mutex::default() }
    }

    /// A connection for one read, or `None` when all `bound` are lent (the caller reads through
    /// the pool).
    pub(super) async fn lend(&self) -> Option<StoreResult<Lent<'_>>> {
        let taken = {
            let mut idle = self.lock();
            match idle.connections.pop() {
                Some(c) => Some(c),
                None if idle.open < self.bound => {
                    idle.open += 1;
                    None
                }
                None => return None,
            }
        };
        // From here on the slot counts as open; the guard gives it up if no connection comes of it.
        let mut lent = Lent { connection: None, reads: self, kept: false };
        let ready = tokio::time::timeout(self.timeout, async {
            if let Some((mut c, since)) = taken {
                if !self.suspect(since.elapsed()) {
                    return Ok(c);
                }
                if c.ping().await.is_ok() {
                    return Ok(c);
                }
                self.lost();
            }
            PgConnection::connect_with(&self.connect).await
        })
        .await;
        Some(match ready {
            Ok(Ok(c)) => {
                lent.connection = Some(c);
                Ok(lent)
            }
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(StoreError::Unavailable("timed out opening a database connection".into())),
        })
    }

    /// Whether a connection idle for `idle_for` is pinged before its next use: it sat idle long
    /// enough for the server to have ended its session, or since before a connection was found
    /// lost (a restart or a failover ends every session at once, and each would cost a request).
    pub(super) fn suspect(&self, idle_for: Duration) -> bool {
        idle_for >= PING_AFTER_IDLE || self.lock().lost_at.is_some_and(|lost| lost.elapsed() < idle_for)
    }

    /// Records that a connection was found lost.
    pub(super) fn lost(&self) {
        self.lock().lost_at = Some(Instant::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Lent<'_> {
    pub(super) fn connection(&mut self) -> &mut PgConnection {
        self.connection.as_mut().expect("a connection until it is given back")
    }

    /// Closes the connection after a read that failed; one lost (the server ended its session, or
    /// could not be reached) makes every connection idle since then suspect.
    pub(super) fn failed(self, error: &StoreError) {
        if matches!(error, StoreError::Unavailable(_)) {
            self.reads.lost();
        }
    }

    /// Returns the connection after a read that ran to its end.
    pub(super) fn give_back(mut self) {
        if let Some(c) = self.connection.take() {
            self.reads.lock().connections.push((c, Instant::now()));
            self.kept = true;
        }
    }
}

impl Drop for Lent<'_> {
    /// A connection not given back closes with the guard (dropping it closes its socket), and its
    /// slot is free again.
    fn drop(&mut self) {
        if !self.kept {
            self.reads.lock().open -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn reads(bound: usize) -> Option<PgReads> {
        let url = std::env::var("FRONTDESK_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
        Some(PgReads::new(PgConnectOptions::from_str(&url).expect("url"), bound, Duration::from_secs(5)))
    }

    /// Idle connections, and all that exist.
    fn counts(reads: &PgReads) -> (usize, usize) {
        let idle = reads.lock();
        (idle.connections.len(), idle.open)
    }

    #[test]
    fn a_connection_is_suspect_after_a_quiet_second_or_when_one_was_lost_since_it_went_idle() {
        let reads = PgReads::new(PgConnectOptions::new(), 1, Duration::from_secs(1));
        assert!(!reads.suspect(Duration::from_millis(10)));
        assert!(reads.suspect(PING_AFTER_IDLE));
        reads.lost();
        assert!(reads.suspect(Duration::from_millis(10)), "idle since before the loss");
        std::thread::sleep(Duration::from_millis(5));
        assert!(!reads.suspect(Duration::ZERO), "went idle after the loss");
    }

    #[tokio::test]
    async fn a_read_that_did_not_finish_closes_its_connection_and_frees_its_slot() {
        let Some(reads) = reads(1) else { return };
        let mut first = reads.lend().await.expect("under the bound").expect("connects");
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(first.connection()).await.unwrap();
        assert_eq!(one, 1);
        assert!(reads.lend().await.is_none(), "all lent: the caller uses the pool");
        first.give_back();
        assert_eq!(counts(&reads), (1, 1));

        // Cancelled half-way (its future dropped) or failed: never lent again.
        let cancelled = reads.lend().await.expect("the idle one").expect("ready");
        drop(cancelled);
        assert_eq!(counts(&reads), (0, 0));
        let mut failed = reads.lend().await.expect("a free slot").expect("connects anew");
        let error = sqlx::query("SELECT * FROM no_such_table").execute(failed.connection()).await.unwrap_err();
        failed.failed(&error.into());
        assert_eq!(counts(&reads), (0, 0));
        assert!(reads.lock().lost_at.is_none(), "a statement's own error is no lost connection");
    }
}
