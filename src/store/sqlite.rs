//! The embedded default: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one connection (no
//! `SQLITE_BUSY` storms, and `BEGIN IMMEDIATE` takes the write lock up front) while reads use a pool of
//! their own that WAL lets run beside the writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

// `impl_store!` also brings `QueryBuilder` and `contains_pattern` into this module.
use super::sql::impl_store;
use super::staff::impl_staff_store;

#[derive(Clone)]
pub struct SqliteStore {
    read: Pool<Sqlite>,
    write: Pool<Sqlite>,
}

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
            .pragma("cache_size", "-32000")
            .pragma("temp_store", "memory");
        let write =
            SqlitePoolOptions::new().max_connections(1).min_connections(1).connect_with(options.clone()).await?;
        super::migrations::sqlite().run(&write).await?;
        let read =
            SqlitePoolOptions::new().max_connections(readers.max(1)).connect_with(options.read_only(true)).await?;
        Ok(Self { read, write })
    }
}

impl_store!(SqliteStore, Sqlite, |s| s.write.begin_with("BEGIN IMMEDIATE"), search = push_search);
super::tickets::impl_ticket_store!(SqliteStore, Sqlite, |s| s.write.begin_with("BEGIN IMMEDIATE"));
impl_staff_store!(SqliteStore, Sqlite, |s| s.write.begin_with("BEGIN IMMEDIATE"));
super::web::impl_web_store!(SqliteStore, Sqlite, |s| s.write.begin_with("BEGIN IMMEDIATE"));
super::request_participants::impl_request_participant_store!(SqliteStore, Sqlite, |s| s
    .write
    .begin_with("BEGIN IMMEDIATE"));

/// A term of three or more characters is looked up in the trigram index (migration 5), where a quoted
/// phrase matches exactly the rows containing it as a substring, in any case; shorter terms have no
/// trigram to look up and are matched by scanning.
fn push_search(qb: &mut QueryBuilder<Sqlite>, term: &str) {
    if term.chars().count() >= 3 {
        let phrase = format!("\"{}\"", term.replace('"', "\"\""));
        qb.push(" AND seq IN (SELECT rowid FROM external_user_search WHERE external_user_search MATCH ")
            .push_bind(phrase)
            .push(")");
    } else {
        let p = contains_pattern(term);
        qb.push(" AND (lower(name) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
        qb.push(" OR lower(identifier) LIKE ").push_bind(p.clone()).push(" ESCAPE '\\'");
        qb.push(" OR lower(external_id) LIKE ").push_bind(p).push(" ESCAPE '\\')");
    }
}
