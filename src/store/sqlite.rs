//! The embedded default: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one connection (no
//! `SQLITE_BUSY` storms, and `BEGIN IMMEDIATE` takes the write lock up front) while reads use a pool of
//! their own that WAL lets run beside the writer.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::StoreResult;
use super::channels::{ChannelRow, GET_CHANNEL};
use super::dialect::{Dialect, Read};
use super::external_users::{
    ACCESS_TOKEN, AccessTokenRow, ExternalUserRow, GET_EXTERNAL_USER, ImportBatchOutcome, ImportWrite,
};
use super::group_commit::Commit;
use super::participants::NewParticipant;
use super::sample::{SAMPLE_ROWS, Sample, Sampled};
use super::search_upkeep;
use super::sqlite_checkpoint;
use super::sqlite_direct::{self, DirectReads};
use super::support::{Statement, contains_pattern};
use super::tickets::{NewTicket, Opened};
use crate::domain::{Actor, TicketParticipant};
use write::DirectWriter;

type Db = Sqlite;
type Backend = SqliteStore;
// The same code as the other backend's `run`, compiled for this one: see `run/mod.rs`.
#[allow(clippy::duplicate_mod)]
#[path = "run/mod.rs"]
mod run;
// A child of this module, as it runs `run`'s batch logic on its own connection.
#[path = "sqlite_write.rs"]
mod write;

use run::ticket_batches::TicketBatches;
use run::user_batches::UserBatches;

#[derive(Clone)]
pub struct SqliteStore {
    read: Pool<Sqlite>,
    write: Pool<Sqlite>,
    /// New external users wait here for the next shared commit.
    user_batches: UserBatches,
    /// And new tickets.
    ticket_batches: TicketBatches,
    /// Some users' searched text, to tell a common search term from a rare one.
    texts: Arc<Sample<TextSample>>,
    /// Reads by key on the calling task (none for an in-memory database, which has no file to
    /// open again): see `sqlite_direct.rs`.
    direct: Option<Arc<DirectReads>>,
    /// Dropped with the last handle to the store, which ends the search index's upkeep.
    _upkeep: Option<Arc<oneshot::Sender<()>>>,
    /// Import batches on the calling thread (none for an in-memory database): see `sqlite_write.rs`.
    direct_write: Option<Arc<DirectWriter>>,
    /// Copies the log into the file beside the writers (none for an in-memory database): see
    /// `sqlite_checkpoint.rs`. Stops with the last handle to the store.
    _checkpoints: Option<Arc<sqlite_checkpoint::Checkpoints>>,
}

/// `PRAGMA cache_size` of the writer (negative: KiB): 32 MiB, against 8 MiB per reader.
const WRITER_CACHE_KIB: i64 = -32_768;

impl SqliteStore {
    /// Opens (creating it if needed) the database at `url` (`sqlite://path` or `sqlite::memory:`) and
    /// brings its schema up to date.
    pub async fn open(url: &str, readers: u32) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL never corrupts the database and loses nothing on a process crash; see
            // docs/decisions/sqlite-durability.md for the power-loss trade-off and how to change it.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .statement_cache_capacity(256)
            .pragma("cache_size", "-8000")
            .pragma("temp_store", "memory")
            // Deleted and overwritten content is zeroed, so an erased person's data is not left in
            // free pages of the file (docs/privacy.md).
            .pragma("secure_delete", "on");
        // The one writer gets a larger page cache than the readers: a transaction's dirty pages stay
        // in it until the commit (an import batch dirties a few thousand, see `IMPORT_BATCH_ROWS`);
        // when they do not fit, SQLite writes them to the log early and reads them back.
        let writer = options
            .clone()
            .pragma("cache_size", WRITER_CACHE_KIB.to_string())
            .pragma("wal_autocheckpoint", sqlite_checkpoint::WRITERS_CHECKPOINT_AFTER_PAGES.to_string());
        // No ping before each use: a connection to a file cannot be cut off the way a network one
        // can, and the ping is a round trip to the connection's thread, as costly as a small read.
        let pool = || SqlitePoolOptions::new().test_before_acquire(false);
        let write = pool().max_connections(1).min_connections(1).connect_with(writer).await?;
        super::migrations::sqlite().run(&write).await?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let direct = (!in_memory)
            .then(|| Arc::new(DirectReads::new(options.get_filename().to_owned(), readers.max(1) as usize)));
        let direct_write =
            (!in_memory).then(|| Arc::new(DirectWriter::new(options.get_filename().to_owned(), WRITER_CACHE_KIB)));
        let checkpoints = if in_memory {
            None
        } else {
            Some(Arc::new(sqlite_checkpoint::start(options.get_filename().to_owned(), sqlite_checkpoint::EVERY)?))
        };
        let read = pool().max_connections(readers.max(1)).connect_with(options.read_only(true)).await?;
        let (user_batches, ticket_batches) = match &direct_write {
            Some(writer) => {
                let direct = DirectBatches { write: write.clone(), writer: Arc::clone(writer) };
                (UserBatches::start(direct.clone()), TicketBatches::start(direct))
            }
            None => (UserBatches::start(write.clone()), TicketBatches::start(write.clone())),
        };
        // An in-memory database is a test's or a trial's: its index stays small.
        let upkeep = (!in_memory).then(|| {
            let (keeper, stop) = oneshot::channel();
            tokio::spawn(search_upkeep::keep_merged(read.clone(), write.clone(), search_upkeep::PACE, stop));
            Arc::new(keeper)
        });
        Ok(Self {
            read,
            write,
            user_batches,
            ticket_batches,
            texts: Arc::default(),
            direct,
            direct_write,
            _upkeep: upkeep,
            _checkpoints: checkpoints,
        })
    }

    /// `read` on a direct connection (`sqlite_direct.rs`); `None` when there is none (an in-memory
    /// database) or every one is in use, and the caller reads through the sqlx pool.
    fn read_directly<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Option<StoreResult<T>> {
        self.direct.as_ref().and_then(|d| d.with(read))
    }
}

/// Batches of creates on the direct writer, while the one sqlx writer is held idle (see
/// `sqlite_write.rs`): through sqlx, each of a batch's ten or so statements crossed to the
/// connection's thread and back, and those hand-offs were a third of a user create's CPU and
/// held ticket creates to 1,400/s with the cores half idle.
#[derive(Clone)]
struct DirectBatches {
    write: Pool<Sqlite>,
    writer: Arc<DirectWriter>,
}

impl DirectBatches {
    /// `write` of a batch on the direct writer; an error that ended its transaction fails every write.
    async fn run<T, O>(
        &self,
        batch: &[T],
        write: impl FnOnce(&rusqlite::Connection) -> StoreResult<Vec<StoreResult<O>>>,
    ) -> Vec<StoreResult<O>> {
        match self.writer.holding(&self.write, write, |_| true).await {
            Ok(outcomes) => outcomes,
            Err(e) => batch.iter().map(|_| Err(e.same_kind())).collect(),
        }
    }
}

impl Commit<run::user_batches::UserInsert> for DirectBatches {
    type Done = Uuid;

    async fn commit(&self, batch: &[run::user_batches::UserInsert]) -> Vec<StoreResult<Uuid>> {
        self.run(batch, |c| write::create_batch(c, batch)).await
    }
}

impl Commit<NewTicket> for DirectBatches {
    type Done = Opened;

    async fn commit(&self, batch: &[NewTicket]) -> Vec<StoreResult<Opened>> {
        self.run(batch, |c| write::create_tickets(c, batch)).await
    }
}

impl Dialect for SqliteStore {
    type Db = Sqlite;
    const LOCK_ROW: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    const KEYED_WORKSPACE: &'static str = "+workspace_id";
    /// Each import row writes a new entry on a random page of three indexes (the user's v4 id, and
    /// its super identity's in both tables): the larger the transaction, the more rows share each
    /// dirtied page, and a commit writes each page once. 2,000 rows hold the one writer for 0.1-0.2 s;
    /// the writer's page cache (`WRITER_CACHE_KIB`) holds a batch's dirty pages.
    const IMPORT_BATCH_ROWS: usize = 2_000;

    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.write.begin_with(Self::BEGIN_WRITE).await
    }

    /// A term of three or more characters is looked up in the trigram index (migration 5); then the
    /// matches are sorted into the list's order. That costs as many rows as match, which for a term
    /// that a large share of the users hold (`example`, a common name) is most of the table, while
    /// walking the list in order finds a page of them within a few rows each: such a term, when the
    /// sample says so (and it is ASCII, where `LIKE`'s case folding is the index's), is checked row by
    /// row in list order instead, as shorter terms (no trigram to look up) always are.
    ///
    /// An ASCII term is looked up by its rarest trigrams only ([`TextSample::rarest_windows`]), and
    /// the candidates are checked with `LIKE`: a quoted phrase of the whole term reads every one of its
    /// trigrams' lists, and in `user123@` the lists of `use` and `ser` hold every user. Any substring
    /// of the term is a necessary condition, so which ones are looked up changes the cost, never the
    /// answer. Other terms keep the phrase, whose Unicode case folding `LIKE` does not have.
    ///
    /// With the index, the workspace is compared as `+workspace_id`, which keeps SQLite from using the
    /// workspace's index: the query then starts from the few rows the search found, instead of walking
    /// the workspace's users in list order and testing each against the search (50x slower at 100k users).
    fn push_search(&self, qb: &mut Statement<Sqlite>, workspace_id: Uuid, term: &str) {
        let texts = self.texts.get();
        if term.chars().count() < 3 || (term.is_ascii() && texts.is_common(term)) {
            push_contains(qb, workspace_id, term);
        } else {
            qb.push(" WHERE seq IN (SELECT rowid FROM external_user_search WHERE external_user_search MATCH ")
                .push_bind(index_query(&texts, term))
                .push(") AND +workspace_id = ")
                .push_bind(workspace_id);
            push_exact_check(qb, term);
        }
    }

    /// From the trigram index, row by row (`CROSS JOIN` keeps it the outer loop even when another
    /// filter has an index of its own), so the count stops at its cap after as many index entries
    /// instead of collecting every match first: 2 ms rather than 1 s for `example` at 1M users.
    fn search_count(&self, workspace_id: Uuid, term: &str) -> Statement<Sqlite> {
        if term.chars().count() < 3 {
            let mut qb = Statement::new(super::external_users::COUNT_EXTERNAL_USERS);
            push_contains(&mut qb, workspace_id, term);
            return qb;
        }
        let mut qb = Statement::new(
            "SELECT COUNT(*) FROM (SELECT 1 FROM external_user_search CROSS JOIN external_users \
             ON external_users.seq = external_user_search.rowid WHERE external_user_search MATCH ",
        );
        qb.push_bind(index_query(&self.texts.get(), term)).push(" AND +workspace_id = ").push_bind(workspace_id);
        push_exact_check(&mut qb, term);
        qb
    }

    async fn prepare_search(&self) {
        self.texts.refresh_if_old(sample_texts(self.read.clone())).await;
    }

    /// On a direct connection when one is free, else through the sqlx pool.
    async fn external_user_row(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<ExternalUserRow>> {
        let key = (id.as_bytes(), workspace_id.as_bytes());
        match self
            .read_directly(|c| sqlite_direct::optional_row(c, GET_EXTERNAL_USER, key, sqlite_direct::external_user_row))
        {
            Some(found) => found,
            None => run::external_users::pooled_external_user_row(&self.read, workspace_id, id).await,
        }
    }

    /// On a direct connection when one is free, else through the sqlx pool.
    async fn channel_row(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<ChannelRow>> {
        let key = (id.as_bytes(), workspace_id.as_bytes());
        match self.read_directly(|c| sqlite_direct::optional_row(c, GET_CHANNEL, key, sqlite_direct::channel_row)) {
            Some(found) => found,
            None => run::channels::pooled_channel_row(&self.read, workspace_id, id).await,
        }
    }

    /// On a direct connection when one is free, else through the sqlx pool.
    async fn rows<R: Read<Sqlite>>(&self, list: Statement<Sqlite>) -> StoreResult<Vec<R>> {
        let sql = list.qb.sql();
        match self.read_directly(|c| sqlite_direct::rows(c, sql.as_str(), &list.values, R::decode)) {
            Some(found) => found,
            None => run::pooled_rows(&self.read, list).await,
        }
    }

    /// On a direct connection when one is free, else through the sqlx pool.
    async fn access_token_row(&self, token_hash: &[u8]) -> StoreResult<Option<AccessTokenRow>> {
        match self.read_directly(|c| {
            sqlite_direct::optional_row(c, ACCESS_TOKEN, [token_hash], sqlite_direct::access_token_row)
        }) {
            Some(found) => found,
            None => run::external_users::pooled_access_token_row(&self.read, token_hash).await,
        }
    }

    /// On the direct writer when there is one (a database file), else through the sqlx pool.
    /// On the direct writer while the sqlx writer is held (a database file), else through sqlx.
    async fn add_participant(&self, new: &NewParticipant<'_>) -> StoreResult<TicketParticipant> {
        match &self.direct_write {
            Some(writer) => writer.holding(&self.write, |c| write::add_participant(c, new), |_| true).await,
            None => run::participants::pooled_add_participant(self, new).await,
        }
    }

    async fn import_batch(
        &self,
        workspace_id: Uuid,
        writes: &[ImportWrite],
        actor: Actor,
    ) -> StoreResult<ImportBatchOutcome> {
        let Some(writer) = &self.direct_write else {
            return run::external_users::pooled_import(self, workspace_id, writes, actor).await;
        };
        writer
            .holding(
                &self.write,
                |c| write::import_batch(c, workspace_id, writes, actor),
                |outcome| matches!(outcome, ImportBatchOutcome::Done(_)),
            )
            .await
    }

    /// Merges the full-text index's segments into one, which drops the deleted entries for good.
    async fn after_erasure_in(tx: &mut Transaction<'static, Sqlite>) -> StoreResult<()> {
        sqlx::query("INSERT INTO external_user_search (external_user_search) VALUES ('optimize')")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Copies the log into the database file and truncates it. With `secure_delete` the pages the
    /// erasure freed were zeroed, so afterwards neither file holds the erased text. A reader still on an
    /// older snapshot can hold the log back; it is truncated at the next checkpoint then.
    async fn after_erasure(&self) -> StoreResult<()> {
        let (busy, _, _): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&self.write).await?;
        if busy != 0 {
            tracing::warn!("write-ahead log still in use after an erasure; it is truncated at the next checkpoint");
        }
        Ok(())
    }
}

/// The term as an FTS5 phrase: quoted, its own quotes doubled.
fn phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// What the trigram index is asked for `term`: its rarest windows, each a phrase of one trigram
/// (FTS5 ANDs them), when it is ASCII; else the whole term as one phrase.
fn index_query(texts: &TextSample, term: &str) -> String {
    if !term.is_ascii() {
        return phrase(term);
    }
    let windows: Vec<String> = texts.rarest_windows(term, RAREST_WINDOWS).iter().map(|w| phrase(w)).collect();
    windows.join(" ")
}

/// How many of a term's trigrams a search looks up: each one more narrows the candidates (three
/// rare ones leave a handful at 1M users) and costs one more list read in every index segment.
const RAREST_WINDOWS: usize = 3;

/// ` AND` the term is in a field: the exact check of the index's candidates for an ASCII term (its
/// trigrams alone can match across fields or out of order); a phrase is exact already.
fn push_exact_check(qb: &mut Statement<Sqlite>, term: &str) {
    if term.is_ascii() {
        qb.push(" AND");
        push_in_a_field(qb, term);
    }
}

/// The workspace's users with `term` in a field, checked row by row.
fn push_contains(qb: &mut Statement<Sqlite>, workspace_id: Uuid, term: &str) {
    qb.push(" WHERE workspace_id = ").push_bind(workspace_id).push(" AND");
    push_in_a_field(qb, term);
}

/// ` (name, identifier or external id holds term)`, case-insensitively as `LIKE` is (ASCII). The
/// columns are qualified: the search count joins the index, whose columns have the same names.
fn push_in_a_field(qb: &mut Statement<Sqlite>, term: &str) {
    let p = contains_pattern(term);
    qb.push(" (lower(external_users.name) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
    qb.push(" OR lower(external_users.identifier) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
    qb.push(" OR lower(external_users.external_id) LIKE ").push_bind(p).push(" ESCAPE '\\')");
}

/// The searched fields of about [`SAMPLE_ROWS`] random users, lowercased, each user's fields
/// joined by a NUL (which no term is looked for across), and how many of them hold each trigram.
#[derive(Default)]
struct TextSample {
    texts: Vec<String>,
    /// How many sampled users hold each three-character window in a field.
    trigrams: HashMap<[char; 3], u32>,
    /// How many users the sample stands for: the table's size up to [`SAMPLE_ROWS`] (repeated picks
    /// leave `texts` a little shorter even from a large table).
    rows: usize,
}

/// From this share of the sampled users up, a term is common: walking the list in order meets a
/// match every hundred rows or sooner, while the index would hand over 10,000 matches per million users.
const COMMON_SHARE: f64 = 0.01;

impl Sampled for TextSample {
    fn rows(&self) -> usize {
        self.rows
    }
}

impl TextSample {
    fn new(texts: Vec<String>, rows: usize) -> Self {
        let mut trigrams = HashMap::new();
        let mut seen = Vec::new();
        for text in &texts {
            seen.clear();
            seen.extend(windows(text).filter(|w| !w.contains(&'\0')));
            seen.sort_unstable();
            seen.dedup();
            for w in &seen {
                *trigrams.entry(*w).or_insert(0) += 1;
            }
        }
        Self { texts, trigrams, rows }
    }

    fn is_common(&self, term: &str) -> bool {
        if self.texts.is_empty() || term.contains('\0') {
            return false;
        }
        let term = term.to_lowercase();
        let needed = COMMON_SHARE * self.texts.len() as f64;
        // A term is held by no more users than its rarest trigram: most terms are rare by that alone.
        if windows(&term).map(|w| self.held_by(&w)).min().is_some_and(|rarest| f64::from(rarest) < needed) {
            return false;
        }
        let holding = self.texts.iter().filter(|t| t.contains(&term)).count();
        holding as f64 >= needed
    }

    /// Up to `n` distinct three-character windows of the lowercased term, rarest in the sample
    /// first (a window it never saw is the rarest of all).
    fn rarest_windows(&self, term: &str, n: usize) -> Vec<String> {
        let mut found: Vec<[char; 3]> = windows(&term.to_lowercase()).collect();
        found.sort_unstable();
        found.dedup();
        found.sort_by_key(|w| self.held_by(w));
        found.into_iter().take(n).map(|w| w.iter().collect()).collect()
    }

    fn held_by(&self, window: &[char; 3]) -> u32 {
        self.trigrams.get(window).copied().unwrap_or(0)
    }
}

/// Every three-character window of `text`, as the trigram index splits it.
fn windows(text: &str) -> impl Iterator<Item = [char; 3]> + '_ {
    let mut chars = text.chars();
    let (mut a, mut b) = (chars.next(), chars.next());
    chars.map(move |c| {
        let w = [a.unwrap_or_default(), b.unwrap_or_default(), c];
        (a, b) = (b, Some(c));
        w
    })
}

/// Random rows by random `seq` values (gaps and repeats make it a little fewer than asked).
async fn sample_texts(read: Pool<Sqlite>) -> sqlx::Result<TextSample> {
    let highest: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM external_users").fetch_one(&read).await?;
    if highest == 0 {
        return Ok(TextSample::default());
    }
    let rows: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "WITH RECURSIVE pick (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM pick WHERE n < $1) \
         SELECT name, identifier, external_id FROM external_users WHERE seq IN \
         (SELECT (random() & 9223372036854775807) % $2 + 1 FROM pick)",
    )
    .bind(SAMPLE_ROWS as i64)
    .bind(highest)
    .fetch_all(&read)
    .await?;
    let texts = rows
        .into_iter()
        .map(|(name, identifier, external_id)| {
            let fields = [name, identifier, external_id].map(Option::unwrap_or_default);
            fields.join("\0").to_lowercase()
        })
        .collect();
    Ok(TextSample::new(texts, usize::try_from(highest).unwrap_or(usize::MAX).min(SAMPLE_ROWS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(texts: &[&str]) -> TextSample {
        TextSample::new(texts.iter().map(|t| (*t).to_owned()).collect(), texts.len())
    }

    /// The plan SQLite chooses for the rows of `select` with these many ids, on the migrated schema
    /// and without statistics, as a fresh database has.
    async fn plan_by_ids(select: &str, ids: usize) -> String {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("plan.db").display()), 1).await.unwrap();
        let mut qb = sqlx::QueryBuilder::<Sqlite>::new(format!("EXPLAIN QUERY PLAN {select}"));
        let ids: Vec<Uuid> = (0..ids).map(|_| Uuid::new_v4()).collect();
        run::push_keys(&mut qb, Uuid::new_v4(), &ids);
        let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(&store.read).await.unwrap();
        rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
    }

    #[tokio::test]
    async fn people_read_by_their_ids_are_looked_up_by_key_however_many() {
        for ids in [1, 26, 100] {
            let users = plan_by_ids(crate::store::tickets::MEMBER_EXTERNAL_USERS, ids).await;
            assert!(users.contains("sqlite_autoindex_external_users_1 (id=?)"), "{ids} ids: {users}");
            let staff = plan_by_ids(crate::store::staff::MEMBER_STAFF, ids).await;
            assert!(staff.contains("sqlite_autoindex_staff_users_1 (id=?)"), "{ids} ids: {staff}");
        }
    }

    #[tokio::test]
    async fn a_large_table_gives_a_full_sample_though_repeated_picks_draw_fewer_rows() {
        let pool = SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        sqlx::query(
            "CREATE TABLE external_users (seq INTEGER PRIMARY KEY, name TEXT, identifier TEXT, external_id TEXT)",
        )
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(sample_texts(pool.clone()).await.unwrap().rows(), 0, "an empty table");
        sqlx::query(
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) \
             INSERT INTO external_users SELECT i, 'Person ' || i, 'user' || i || '@example.com', NULL FROM n",
        )
        .execute(&pool)
        .await
        .unwrap();
        let s = sample_texts(pool).await.unwrap();
        assert!(s.texts.len() < SAMPLE_ROWS, "picks repeat");
        assert_eq!(s.rows(), SAMPLE_ROWS, "so it lasts as a full sample, not as a young table's");
        assert!(s.is_common("@example.com"));
    }

    /// A user of the import tests: a new one in a new super identity.
    fn imported(
        workspace_id: Uuid,
        channel_id: Uuid,
        external_id: &str,
        identifier: &str,
    ) -> crate::domain::ExternalUser {
        let now = crate::domain::Timestamp::now();
        crate::domain::ExternalUser {
            id: Uuid::new_v4(),
            workspace_id,
            channel_id,
            super_identity_id: Uuid::new_v4(),
            external_id: Some(external_id.to_owned()),
            identifier: Some(identifier.to_owned()),
            name: Some(format!("Imported {external_id}")),
            tier_id: None,
            external_user_group_id: None,
            blocked: false,
            time_zone: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Rows of every table an import writes, and the full-text index's, and the event counter.
    async fn written(store: &SqliteStore) -> Vec<i64> {
        let mut counts = Vec::new();
        for sql in [
            "SELECT count(*) FROM external_users",
            "SELECT count(*) FROM super_identities",
            "SELECT count(*) FROM events",
            "SELECT coalesce(sum(n), 0) FROM event_counters",
            "SELECT count(*) FROM external_user_search WHERE external_user_search MATCH '\"imported\"'",
        ] {
            counts.push(sqlx::query_scalar(sql).fetch_one(&store.read).await.unwrap());
        }
        counts
    }

    #[tokio::test]
    async fn the_direct_writer_has_the_sqlx_writers_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&format!("sqlite://{}", dir.path().join("settings.db").display()), 1).await.unwrap();
        let mut sqlx_writer = store.write.acquire().await.unwrap();
        let pragmas = ["foreign_keys", "synchronous", "secure_delete", "temp_store", "cache_size", "journal_mode"];
        let mut expected = Vec::new();
        for p in pragmas {
            let row: (String,) =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT CAST(({}) AS TEXT)", pragma_select(p))))
                    .fetch_one(&mut *sqlx_writer)
                    .await
                    .unwrap();
            expected.push(row.0);
        }
        let direct = store.direct_write.as_ref().unwrap();
        let found = direct
            .transaction(
                |c| {
                    pragmas
                        .iter()
                        .map(|p| c.query_row(&format!("SELECT CAST(({}) AS TEXT)", pragma_select(p)), [], |r| r.get(0)))
                        .collect::<rusqlite::Result<Vec<String>>>()
                        .map_err(Into::into)
                },
                |_| false,
            )
            .unwrap();
        assert_eq!(found, expected, "{pragmas:?}");
        assert_eq!(expected[..3], ["1", "1", "1"], "foreign keys, NORMAL, secure delete");
        // Not a table-valued pragma: read on its own.
        let checkpoint = "PRAGMA wal_autocheckpoint";
        let sqlx_pages: i64 = sqlx::query_scalar(checkpoint).fetch_one(&mut *sqlx_writer).await.unwrap();
        let direct_pages: i64 =
            direct.transaction(|c| Ok(c.query_row(checkpoint, [], |r| r.get(0))?), |_| false).unwrap();
        let pages = sqlite_checkpoint::WRITERS_CHECKPOINT_AFTER_PAGES;
        assert_eq!((sqlx_pages, direct_pages), (pages, pages), "both writers checkpoint from the same length");
    }

    /// `PRAGMA name` as a scalar subquery.
    fn pragma_select(name: &str) -> String {
        format!("SELECT * FROM pragma_{name}")
    }

    /// One batch of creates, through `commit`: a stored user holds `one@example.com` (in any case),
    /// and two creates of the batch share an external id.
    async fn commit_a_batch_breaking_two_rules(
        store: &SqliteStore,
        commit: impl Commit<run::user_batches::UserInsert, Done = Uuid>,
    ) -> Vec<StoreResult<Uuid>> {
        use crate::store::ExternalUserStore;
        use run::user_batches::UserInsert;
        let app = crate::app::App::new(Arc::new(store.clone()));
        let created = app.create_workspace("Batch").await.unwrap();
        let (ws, channel) = (created.workspace.id, created.email_channel.id);
        let stored = imported(ws, channel, "ext-1", "one@example.com");
        store.import_external_users(ws, &[ImportWrite::Create(stored)], Actor::Operator).await.unwrap();
        let creates = [
            ("ext-2", "two@example.com"),
            ("ext-3", "ONE@example.com"),
            ("ext-2", "five@example.com"),
            ("ext-4", "four@example.com"),
        ];
        let batch: Vec<UserInsert> = creates
            .into_iter()
            .map(|(external_id, identifier)| UserInsert {
                user: imported(ws, channel, external_id, identifier),
                actor: Actor::Operator,
            })
            .collect();
        let outcomes = commit.commit(&batch).await;
        for (insert, outcome) in batch.iter().zip(&outcomes) {
            if let Ok(joined) = outcome {
                assert_eq!(*joined, insert.user.super_identity_id, "no automatic matching: its own new person");
                store.get_external_user(ws, insert.user.id).await.expect("an acknowledged create is stored");
            }
        }
        outcomes
    }

    fn broken_rules(outcomes: &[StoreResult<Uuid>]) -> Vec<Option<crate::store::Unique>> {
        use crate::store::StoreError;
        outcomes.iter().map(|o| if let Err(StoreError::Duplicate(which)) = o { Some(*which) } else { None }).collect()
    }

    /// `rows` of `st` read directly and through sqlx, each converted to its record.
    async fn read_both_ways<R, T>(store: &SqliteStore, st: impl Fn() -> Statement<Sqlite>) -> (Vec<T>, Vec<T>)
    where
        R: Read<Sqlite>,
        T: TryFrom<R, Error = crate::store::StoreError>,
    {
        let direct: Vec<R> = store.rows(st()).await.unwrap();
        let pooled: Vec<R> = run::pooled_rows(&store.read, st()).await.unwrap();
        (crate::store::support::convert(direct).unwrap(), crate::store::support::convert(pooled).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_ticket_its_timeline_and_its_people_decode_the_same_directly_as_through_sqlx() {
        use crate::app::{CommentInput, NewStaffUser, NewTicketInput, Principal};
        use crate::domain::{
            Attachment, EmailAddress, LocationName, Role, StaffUser, Ticket, TicketActivity, TicketStatus, TicketText,
            TicketType,
        };
        use crate::store::staff::{MEMBER_STAFF, StaffRow};
        use crate::store::tickets::{ACTIVITIES, ActivityRow, LIST_TICKETS, TicketRow};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("rows.db").display()), 1).await.unwrap();
        let app = crate::app::App::new(Arc::new(store.clone()));
        let ws = app.create_workspace("Rows").await.unwrap().workspace.id;
        let who = Principal::Operator { workspace_id: ws };
        let staff = |email: &str, role| NewStaffUser {
            email: EmailAddress::parse(email).unwrap(),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            external_id: Some(format!("ext-{email}")),
            role,
            phone_number: Some("+15550100".into()),
        };
        let agent = app.create_staff_user(&who, staff("agent@example.com", Role::Agent)).await.unwrap().id;
        let admin = app.create_staff_user(&who, staff("admin@example.com", Role::Admin)).await.unwrap().id;
        let location = app.create_location(&who, LocationName::parse("Desk").unwrap()).await.unwrap().id;
        let input = NewTicketInput {
            location_id: location,
            text: TicketText::parse("Badge does not open").unwrap(),
            kind: Some(TicketType::parse("access").unwrap()),
            requester_id: Some(agent),
            assignee_id: Some(admin),
        };
        let ticket = app.create_ticket(&who, input).await.unwrap().ticket.id;
        app.change_ticket_status(&who, ticket, TicketStatus::Solved).await.unwrap();
        app.change_ticket_type(&who, ticket, None).await.unwrap();
        app.assign_ticket(&who, ticket, Some(agent)).await.unwrap();
        let attachment = Attachment {
            key: "k".into(),
            mime: Some("image/png".into()),
            name: Some("a.png".into()),
            size: Some(7),
            url: Some("https://example.com/a.png".into()),
            height: Some(2),
            width: Some(3),
        };
        let comment = CommentInput {
            text: TicketText::parse("Internal note").unwrap(),
            internal: true,
            attachments: vec![attachment],
        };
        app.comment_on_ticket(&who, ticket, comment).await.unwrap();

        let (direct, pooled) = read_both_ways::<TicketRow, Ticket>(&store, || {
            let mut st = Statement::new(LIST_TICKETS);
            st.push_bind(ws);
            st
        })
        .await;
        assert_eq!((direct.len(), &direct), (1, &pooled));
        let (direct, pooled) = read_both_ways::<ActivityRow, TicketActivity>(&store, || {
            let mut st = Statement::new(ACTIVITIES);
            st.push_bind(ticket).push(" ORDER BY created_at, id");
            st
        })
        .await;
        assert_eq!((direct.len(), &direct), (5, &pooled));
        assert!(direct.iter().any(|a| a.internal && !a.attachments.is_empty() && a.previous_status.is_none()));
        assert!(direct.iter().any(|a| a.previous_status.is_some() && a.previous_ticket_type.is_none()));
        let (direct, pooled) = read_both_ways::<StaffRow, StaffUser>(&store, || {
            let mut st = Statement::new(MEMBER_STAFF);
            run::push_keys(&mut st, ws, &[agent, admin]);
            st
        })
        .await;
        assert_eq!((direct.len(), &direct), (2, &pooled));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_of_creates_fails_only_the_creates_that_break_a_rule_on_either_writer() {
        use crate::store::Unique;
        let expected = [None, Some(Unique::ExternalUserIdentifier), Some(Unique::ExternalUserExternalId), None];
        let dir = tempfile::tempdir().unwrap();
        let file = SqliteStore::open(&format!("sqlite://{}", dir.path().join("batch.db").display()), 1).await.unwrap();
        let writer = Arc::clone(file.direct_write.as_ref().expect("a database file has the direct writer"));
        let outcomes =
            commit_a_batch_breaking_two_rules(&file, DirectBatches { write: file.write.clone(), writer }).await;
        assert_eq!(broken_rules(&outcomes), expected, "the direct writer: {outcomes:?}");
        assert_eq!(written(&file).await[0], 3, "the stored user and the batch's two good creates");

        let memory = SqliteStore::open("sqlite::memory:", 1).await.unwrap();
        let outcomes = commit_a_batch_breaking_two_rules(&memory, memory.write.clone()).await;
        assert_eq!(broken_rules(&outcomes), expected, "the sqlx writer: {outcomes:?}");
        assert_eq!(written(&memory).await[0], 3);
    }

    /// On several worker threads, as the server runs: the batch leaves its worker meanwhile.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_import_batch_failing_midway_on_the_direct_writer_leaves_nothing_behind() {
        use crate::store::{ExternalUserStore, StoreError, Unique};
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&format!("sqlite://{}", dir.path().join("import.db").display()), 1).await.unwrap();
        assert!(store.direct_write.is_some(), "a database file imports on the direct writer");
        let app = crate::app::App::new(Arc::new(store.clone()));
        let created = app.create_workspace("Import").await.unwrap();
        let (ws, channel) = (created.workspace.id, created.email_channel.id);
        let actor = Actor::Operator;
        let first = imported(ws, channel, "ext-1", "one@example.com");
        let done = store.import_external_users(ws, &[ImportWrite::Create(first)], actor).await.unwrap();
        assert!(matches!(done, ImportBatchOutcome::Done(ref o) if o.len() == 1 && o[0].is_ok()), "{done:?}");
        let before = written(&store).await;
        assert_eq!(before[0], 1);

        // The second user repeats the first one's external id: the batch's super identities are in
        // when the users' insert fails on the unique index.
        let batch = [
            ImportWrite::Create(imported(ws, channel, "ext-2", "two@example.com")),
            ImportWrite::Create(imported(ws, channel, "ext-1", "three@example.com")),
        ];
        let failed = store.import_external_users(ws, &batch, actor).await;
        assert!(matches!(failed, Err(StoreError::Duplicate(Unique::ExternalUserExternalId))), "{failed:?}");
        assert_eq!(written(&store).await, before, "nothing of the failed batch is left");

        // The writer is free and usable again, by both paths.
        let again = [ImportWrite::Create(imported(ws, channel, "ext-2", "two@example.com"))];
        let done = store.import_external_users(ws, &again, actor).await.unwrap();
        assert!(matches!(done, ImportBatchOutcome::Done(ref o) if o[0].is_ok()), "{done:?}");
        let created = app
            .create_external_user(
                &crate::app::Principal::Operator { workspace_id: ws },
                crate::app::NewExternalUser {
                    channel_id: channel,
                    external_id: Some(crate::domain::ExternalId::parse("ext-3").unwrap()),
                    identifier: Some(crate::domain::Identifier::parse("four@example.com").unwrap()),
                    name: None,
                    tier_id: None,
                    external_user_group_id: None,
                    time_zone: None,
                },
            )
            .await;
        assert!(created.is_ok(), "{created:?}");
        let after = written(&store).await;
        assert_eq!(after[0], 3);
        // Each created user of the built-in e-mail channel records two events.
        assert_eq!(after[3], before[3] + 4);
    }

    #[test]
    fn a_search_looks_up_the_terms_rarest_trigrams() {
        let mut texts = vec!["person 1\0user1@example.com\0ext-1"; 50];
        texts.extend(["person 123\0user123@example.com\0ext-123"; 3]);
        let s = sample(&texts);
        assert_eq!(s.rarest_windows("User123@", 3), ["123", "23@", "r12"], "each held by 3 users, the rest by 53");
        assert_eq!(s.rarest_windows("user9", 1), ["er9"], "a window the sample never saw is the rarest");
        assert_eq!(index_query(&s, "user123@"), "\"123\" \"23@\" \"r12\"");
        assert_eq!(index_query(&s, "Müller"), "\"Müller\"", "a non-ASCII term stays one phrase");
        assert_eq!(index_query(&s, "a\"bc"), "\"\"\"bc\" \"a\"\"b\"", "quotes are doubled");
    }

    #[test]
    fn a_term_held_by_one_sampled_user_in_a_hundred_is_common() {
        let mut texts = vec!["person 1\0user1@example.com\0ext-1"; 99];
        texts.push("grace\0grace@other.org\0ext-2");
        let s = sample(&texts);
        assert!(s.is_common("EXAMPLE"));
        assert!(s.is_common("grace@"), "one in a hundred");
        assert!(!s.is_common("nobody"));
        assert!(!s.is_common("1\0user"), "no term spans two fields");
        assert!(!TextSample::default().is_common("example"), "without a sample every term takes the index");
    }

    /// A search's statement stays prepared on a direct connection whatever it is bound to: the
    /// planner must not plan it again for each new term (docs/performance.md, "Cached statements that
    /// were prepared again"), and list pages by tier likewise for each tier.
    #[tokio::test]
    async fn searches_and_lists_for_new_values_reuse_their_prepared_statements() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&format!("sqlite://{}", dir.path().join("prepared.db").display()), 1).await.unwrap();
        let workspace_id = Uuid::new_v4();
        let search = |term: &str| {
            let mut list = Statement::new(crate::store::external_users::LIST_EXTERNAL_USERS);
            store.push_search(&mut list, workspace_id, term);
            list.push(" ORDER BY created_at, id LIMIT 20");
            list
        };
        let by_tier = |tier: Uuid| {
            let mut list = Statement::new(crate::store::external_users::LIST_EXTERNAL_USERS);
            list.push(" WHERE workspace_id = ").push_bind(workspace_id);
            list.push(" AND tier_id = ").push_bind(tier);
            list.push(" ORDER BY created_at, id LIMIT 20");
            list
        };
        let statements = [
            [search("user123@"), search("grace@ex"), search("person 9")],
            [by_tier(Uuid::new_v4()), by_tier(Uuid::new_v4()), by_tier(Uuid::new_v4())],
        ];
        for [first, second, third] in &statements {
            let sql = first.qb.sql();
            let sql = sql.as_str();
            assert_eq!(sql, second.qb.sql().as_str(), "one statement, bound to other values");
            let prepared_again = store
                .read_directly(|c| {
                    for list in [first, second, third] {
                        sqlite_direct::rows(c, sql, &list.values, sqlite_direct::external_user_row)?;
                    }
                    Ok(c.prepare_cached(sql)?.get_status(rusqlite::StatementStatus::RePrepare))
                })
                .expect("a direct connection")
                .unwrap();
            assert_eq!(prepared_again, 0, "{sql}");
        }
    }
}
