//! PostgreSQL, for production and for running many stateless app nodes on one database.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres, Transaction};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::StoreResult;
use super::channels::ChannelRow;
use super::dialect::{Dialect, Read};
use super::external_users::{AccessTokenRow, ExternalUserRow, ImportBatchOutcome, ImportWrite};
use super::participants::NewParticipant;
use super::postgres_reads::PgReads;
use super::sample::{SAMPLE_ROWS, Sample, Sampled};
use super::support::{Statement, contains_pattern};
use crate::domain::{Actor, TicketParticipant};

type Db = Postgres;
type Backend = PostgresStore;
// The same code as the other backend's `run`, compiled for this one: see `run/mod.rs`.
#[allow(clippy::duplicate_mod)]
#[path = "run/mod.rs"]
mod run;

/// Runs a read (a `pooled_*` function, its executor left out) on a connection lent by
/// [`PgReads`], else, when all of those are in use, on the pool.
macro_rules! lent_or_pooled {
    ($store:ident, $($read:ident)::+ ($($arg:expr),*)) => {
        match $store.reads.lend().await {
            Some(lent) => {
                let mut lent = lent?;
                let found = $($read)::+(lent.connection(), $($arg),*).await;
                match &found {
                    Ok(_) => lent.give_back(),
                    Err(e) => lent.failed(e),
                }
                found
            }
            None => $($read)::+(&$store.read, $($arg),*).await,
        }
    };
}

#[derive(Clone)]
pub struct PostgresStore {
    read: Pool<Postgres>,
    /// The hot reads' own connections, beside the pool (`postgres_reads.rs`).
    reads: Arc<PgReads>,
    write: Pool<Postgres>,
    /// How common each trigram is among external users, for planning searches.
    trigrams: Arc<Sample<TrigramCounts>>,
    /// This node's creates of external users wait here to share a commit.
    user_batches: run::user_batches::UserBatches,
    /// And its creates of tickets.
    ticket_batches: run::ticket_batches::TicketBatches,
    /// Dropped with the last handle to the store, which ends its statistics keeper.
    _keeper: Arc<oneshot::Sender<()>>,
}

/// The searched text, exactly as the trigram index of migration 5 holds it.
const SEARCHED: &str =
    "lower(coalesce(name, '') || ' ' || coalesce(identifier, '') || ' ' || coalesce(external_id, ''))";

/// How many external users hold each trigram, in a sample of the table's pages
/// (`TABLESAMPLE SYSTEM`): see [`Dialect::push_search`].
#[derive(Default)]
struct TrigramCounts {
    counts: HashMap<String, u32>,
    rows: usize,
}

impl Sampled for TrigramCounts {
    fn rows(&self) -> usize {
        self.rows
    }
}

impl TrigramCounts {
    /// Up to `n` distinct three-character windows of the term, rarest in the sample first, each
    /// with the one pg_trgm trigram a `LIKE '%window%'` looks up: three letters or digits are their
    /// own trigram; two at a word's end (`23@`) are `"23 "`, two at a word's start (`@ex`) `" ex"`.
    /// Other windows have no trigram of their own and are left out.
    fn rarest_windows(&self, term: &str, n: usize) -> Vec<String> {
        let word = |c: &char| c.is_alphanumeric();
        let chars: Vec<char> = term.to_lowercase().chars().collect();
        let mut windows: Vec<(String, String)> = chars
            .windows(3)
            .filter_map(|w| {
                let key = match (word(&w[0]), word(&w[1]), word(&w[2])) {
                    (true, true, true) => w.iter().collect(),
                    (true, true, false) => format!("{}{} ", w[0], w[1]),
                    (false, true, true) => format!(" {}{}", w[1], w[2]),
                    _ => return None,
                };
                Some((key, w.iter().collect()))
            })
            .collect();
        windows.sort();
        windows.dedup_by(|a, b| a.0 == b.0);
        windows.sort_by_key(|(key, _)| self.counts.get(key).copied().unwrap_or(0));
        windows.into_iter().take(n).map(|(_, w)| w).collect()
    }
}

async fn sample_trigrams(read: Pool<Postgres>) -> sqlx::Result<TrigramCounts> {
    let rows: f32 = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = 'external_users'::regclass")
        .fetch_one(&read)
        .await?;
    let wanted = SAMPLE_ROWS as f64;
    let percent = if rows <= 0.0 { 100.0 } else { (wanted / f64::from(rows) * 100.0).clamp(0.01, 100.0) };
    // The `LIMIT` bounds the sample when the table's size is not known yet (`reltuples` is -1 until
    // its first ANALYZE, as right after a bulk fill): sampling all of a large table then outlasted the
    // statement timeout, so the node planned without counts and every search started it again.
    let sql = format!(
        "SELECT t, CAST(COUNT(*) AS BIGINT) FROM (SELECT unnest(public.show_trgm({SEARCHED})) AS t \
         FROM (SELECT name, identifier, external_id FROM external_users TABLESAMPLE SYSTEM ($1) LIMIT $2) AS u) AS s \
         GROUP BY t"
    );
    let found: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(percent as f32)
        .bind(2 * SAMPLE_ROWS as i64)
        .fetch_all(&read)
        .await?;
    Ok(TrigramCounts {
        counts: found.into_iter().map(|(t, n)| (t, u32::try_from(n).unwrap_or(u32::MAX))).collect(),
        rows: f64::from(rows.max(0.0)).min(wanted) as usize,
    })
}

/// How to reach and use a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub max_connections: u32,
    pub statement_timeout: Duration,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
    pub migrate: bool,
    /// Shown in `pg_stat_activity`, so an operator can tell Frontdesk's connections apart.
    pub application_name: String,
    /// A schema to create and use instead of `public` (tests use one schema each).
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(3),
            migrate: true,
            application_name: "frontdesk".into(),
            schema: None,
        }
    }
}

impl PostgresStore {
    pub async fn open(url: &str, opts: &PostgresOptions) -> Result<Self, sqlx::Error> {
        let mut connect = PgConnectOptions::from_str(url)?
            .application_name(&opts.application_name)
            .options([("statement_timeout", format!("{}", opts.statement_timeout.as_millis()))]);
        if let Some(schema) = &opts.schema {
            let admin = PgPoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
            let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")))
                .execute(&admin)
                .await;
            // Nodes starting together race on `IF NOT EXISTS`; the loser's duplicate error means "exists".
            if let Err(e) = created
                && e.as_database_error().is_none_or(|d| d.kind() != sqlx::error::ErrorKind::UniqueViolation)
            {
                return Err(e);
            }
            admin.close().await;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        if opts.migrate {
            // The statement timeout guards request traffic, not schema changes: a migration may build an
            // index over millions of rows, and it first waits for the migration lock of any node (or
            // test) migrating the same database at the same moment.
            let mut conn = PgConnection::connect_with(&connect.clone().options([("statement_timeout", "0")])).await?;
            super::migrations::postgres().run(&mut conn).await?;
            conn.close().await?;
        }
        // Half the connections serve the hot reads on their own, the rest are the pool (writes, and
        // reads when those are all in use).
        let lent = (opts.max_connections / 2) as usize;
        let reads = Arc::new(PgReads::new(connect.clone(), lent, opts.acquire_timeout));
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections - lent as u32)
            .acquire_timeout(opts.acquire_timeout)
            // sqlx's own test pings before every use, a round trip per statement on top of the one
            // it makes when a connection goes back to the pool. Only a suspect one is pinged: idle
            // for long enough that the server may have ended its session (as HikariCP does), or
            // since another was found lost. One that fails in use is dropped by sqlx, and its
            // request answered 503.
            .test_before_acquire(false)
            .before_acquire({
                let reads = reads.clone();
                move |conn, meta| {
                    let reads = reads.clone();
                    Box::pin(async move {
                        if !reads.suspect(meta.idle_for) || conn.ping().await.is_ok() {
                            return Ok(true);
                        }
                        reads.lost();
                        Ok(false)
                    })
                }
            })
            .connect_with(connect)
            .await?;
        let (keeper, stop) = oneshot::channel();
        tokio::spawn(super::planner_statistics::keep_fresh(pool.clone(), stop));
        Ok(Self {
            read: pool.clone(),
            reads,
            write: pool.clone(),
            trigrams: Arc::default(),
            user_batches: run::user_batches::UserBatches::start(pool.clone()),
            ticket_batches: run::ticket_batches::TicketBatches::start(pool),
            _keeper: Arc::new(keeper),
        })
    }
}

impl Dialect for PostgresStore {
    type Db = Postgres;
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE OF d SKIP LOCKED";
    const KEYED_WORKSPACE: &'static str = "workspace_id";
    /// Every row of a transaction upserts the same counter rows (migration 17), whose versions
    /// cannot be pruned before the commit: a longer transaction makes each upsert walk a longer chain.
    const IMPORT_BATCH_ROWS: usize = 500;

    const BEGIN_WRITE: &'static str = "BEGIN";

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.write.begin_with(Self::BEGIN_WRITE).await
    }

    /// Candidates from the trigram index (migration 5) by the term's three rarest trigrams, then the
    /// exact check of the whole term on those rows only. Looking the whole term up in the index makes
    /// PostgreSQL intersect every one of its trigrams' lists, and a term like `user123@` has trigrams
    /// (`use`, `ser`) in every row: 20-40 ms at 1M users, and 400 ms for `person 9999`. Any
    /// substring of the term is a necessary condition, so which ones are looked up changes only
    /// the cost, never the answer.
    fn push_search(&self, qb: &mut Statement<Postgres>, workspace_id: Uuid, term: &str) {
        qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
        let windows = self.trigrams.get().rarest_windows(term, 3);
        if windows.is_empty() {
            // No window with a trigram of its own: the whole term, through the index as it can.
            qb.push(format!(" AND {SEARCHED} LIKE ")).push_bind(contains_pattern(term)).push(" ESCAPE '\\'");
            return;
        }
        for w in windows {
            qb.push(format!(" AND {SEARCHED} LIKE ")).push_bind(contains_pattern(&w)).push(" ESCAPE '\\'");
        }
        // `|| ''` keeps this condition out of the index: it is checked on the candidates alone.
        qb.push(format!(" AND ({SEARCHED} || '') LIKE ")).push_bind(contains_pattern(term)).push(" ESCAPE '\\'");
    }

    fn search_count(&self, workspace_id: Uuid, term: &str) -> Statement<Postgres> {
        let mut qb = Statement::new(super::external_users::COUNT_EXTERNAL_USERS);
        self.push_search(&mut qb, workspace_id, term);
        qb
    }

    async fn prepare_search(&self) {
        self.trigrams.refresh_if_old(sample_trigrams(self.read.clone())).await;
    }

    async fn external_user_row(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<ExternalUserRow>> {
        lent_or_pooled!(self, run::external_users::pooled_external_user_row(workspace_id, id))
    }

    async fn channel_row(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<ChannelRow>> {
        lent_or_pooled!(self, run::channels::pooled_channel_row(workspace_id, id))
    }

    async fn rows<R: Read<Postgres>>(&self, list: Statement<Postgres>) -> StoreResult<Vec<R>> {
        lent_or_pooled!(self, run::pooled_rows(list))
    }

    async fn access_token_row(&self, token_hash: &[u8]) -> StoreResult<Option<AccessTokenRow>> {
        lent_or_pooled!(self, run::external_users::pooled_access_token_row(token_hash))
    }

    async fn add_participant(&self, new: &NewParticipant<'_>) -> StoreResult<TicketParticipant> {
        run::participants::pooled_add_participant(self, new).await
    }

    async fn import_batch(
        &self,
        workspace_id: Uuid,
        writes: &[ImportWrite],
        actor: Actor,
    ) -> StoreResult<ImportBatchOutcome> {
        run::external_users::pooled_import(self, workspace_id, writes, actor).await
    }

    /// PostgreSQL's indexes drop dead entries on their own (vacuum); there is no separate copy to purge.
    async fn after_erasure_in(_tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
        Ok(())
    }

    /// Old row versions are reclaimed by (auto)vacuum; see docs/privacy.md for what that means.
    async fn after_erasure(&self) -> StoreResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(counts: &[(&str, u32)]) -> TrigramCounts {
        TrigramCounts { counts: counts.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect(), rows: 5_000 }
    }

    #[test]
    fn a_search_looks_up_the_rarest_windows_word_ends_included() {
        let s = sample(&[("use", 900), ("ser", 900), ("er1", 300), ("r12", 20), ("123", 15), ("23 ", 10)]);
        assert_eq!(s.rarest_windows("User123@", 3), ["23@", "123", "r12"]);
        // A window the sample never saw is the rarest of all.
        assert_eq!(s.rarest_windows("user9", 1), ["er9"]);
    }

    #[test]
    fn terms_without_a_window_of_their_own_have_none() {
        let s = sample(&[]);
        assert!(s.rarest_windows("a@b", 3).is_empty());
        assert!(s.rarest_windows("ab", 3).is_empty());
        assert_eq!(s.rarest_windows("@ex", 3), ["@ex"]);
    }
}
