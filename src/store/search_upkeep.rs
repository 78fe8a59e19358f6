//! Merges SQLite's trigram index into one segment while no external users are being added.
//!
//! FTS5 writes each transaction's entries as a new segment and merges four of a level into the next
//! (`automerge`), so a million users added by imports and group commits sit in about a dozen
//! segments, and a search looks each of its trigrams up in every one: on one merged segment the
//! same search answers 1.3-1.45x as many requests at 1M users (docs/performance.md). A full merge
//! (`'optimize'`) holds the one writer for seconds at that size, so this merges in small steps
//! (`'merge'` with a negative page count: all segments towards one), each its own short write
//! transaction with a pause after it, and only while the table gets no new rows: under a stream of
//! creates each merge would be overtaken by new segments and rewrite the whole index again.

use std::time::{Duration, Instant};

use sqlx::{Pool, Sqlite};
use tokio::sync::oneshot::{self, error::TryRecvError};

/// How the upkeep paces itself.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pace {
    /// How long the table must have had no new row before merging starts, and how often it is looked at.
    quiet: Duration,
    /// Index pages one step writes (FTS5's unit of merge work).
    step_pages: u32,
    /// After a step, the writer is left to others this many times as long as the step took.
    rest_factor: u32,
}

pub(super) const PACE: Pace = Pace { quiet: Duration::from_secs(2), step_pages: 64, rest_factor: 4 };

/// Segments from which a merge is worth starting: fewer cost a search little more than one.
const MERGE_FROM_SEGMENTS: i64 = 3;

/// Keeps the index merged until `stop`'s sender is dropped (with the last handle to the store).
pub(super) async fn keep_merged(read: Pool<Sqlite>, write: Pool<Sqlite>, pace: Pace, mut stop: oneshot::Receiver<()>) {
    let mut seen = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(pace.quiet) => {}
            _ = &mut stop => return,
        }
        let stopped = || !matches!(stop.try_recv(), Err(TryRecvError::Empty));
        match merge_while_quiet(&read, &write, pace, &mut seen, stopped).await {
            Ok(0) => {}
            Ok(steps) => tracing::debug!(steps, "merged the search index"),
            Err(e) => tracing::warn!(error = %e, "could not merge the search index"),
        }
        if !matches!(stop.try_recv(), Err(TryRecvError::Empty)) {
            return;
        }
    }
}

/// The newest row of the table: unchanged between two looks means no user was added in between.
async fn newest_row(read: &Pool<Sqlite>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM external_users").fetch_one(read).await
}

async fn segments(read: &Pool<Sqlite>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(DISTINCT segid) FROM external_user_search_idx").fetch_one(read).await
}

/// Merge steps while the table stays as `seen` last time; answers how many ran.
async fn merge_while_quiet(
    read: &Pool<Sqlite>,
    write: &Pool<Sqlite>,
    pace: Pace,
    seen: &mut Option<i64>,
    mut stopped: impl FnMut() -> bool,
) -> sqlx::Result<u32> {
    let newest = newest_row(read).await?;
    let quiet = seen.replace(newest) == Some(newest);
    if !quiet || segments(read).await? < MERGE_FROM_SEGMENTS {
        return Ok(0);
    }
    let mut steps = 0;
    loop {
        let started = Instant::now();
        let mut conn = write.acquire().await?;
        let before: i64 = sqlx::query_scalar("SELECT total_changes()").fetch_one(&mut *conn).await?;
        sqlx::query("INSERT INTO external_user_search (external_user_search, rank) VALUES ('merge', $1)")
            .bind(-i64::from(pace.step_pages))
            .execute(&mut *conn)
            .await?;
        let after: i64 = sqlx::query_scalar("SELECT total_changes()").fetch_one(&mut *conn).await?;
        drop(conn);
        steps += 1;
        // FTS5 counts fewer than two changes when it found nothing left to merge.
        if after - before < 2 {
            return Ok(steps);
        }
        tokio::time::sleep(started.elapsed() * pace.rest_factor).await;
        if stopped() {
            return Ok(steps);
        }
        if newest_row(read).await? != newest {
            *seen = None;
            return Ok(steps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqlitePoolOptions;

    const FAST: Pace = Pace { quiet: Duration::from_millis(1), step_pages: 1, rest_factor: 0 };

    /// The table and its index as migration 5 has them, in a file both pools open.
    async fn pools(dir: &tempfile::TempDir) -> (Pool<Sqlite>, Pool<Sqlite>) {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("upkeep.db").display());
        let write = SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        sqlx::raw_sql(
            "PRAGMA journal_mode = wal; \
             CREATE TABLE external_users (seq INTEGER PRIMARY KEY, name TEXT, identifier TEXT, external_id TEXT); \
             CREATE VIRTUAL TABLE external_user_search USING fts5(name, identifier, external_id, \
                 content = 'external_users', content_rowid = 'seq', tokenize = 'trigram', detail = 'full')",
        )
        .execute(&write)
        .await
        .unwrap();
        let read = SqlitePoolOptions::new().max_connections(2).connect(&url).await.unwrap();
        (read, write)
    }

    /// One transaction, so one new segment.
    async fn add(write: &Pool<Sqlite>, seq: i64) {
        let mut tx = write.begin().await.unwrap();
        let (name, identifier) = (format!("Person {seq}"), format!("user{seq}@example.com"));
        for sql in [
            "INSERT INTO external_users (seq, name, identifier) VALUES ($1, $2, $3)",
            "INSERT INTO external_user_search (rowid, name, identifier) VALUES ($1, $2, $3)",
        ] {
            sqlx::query(sql).bind(seq).bind(&name).bind(&identifier).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }

    async fn found(read: &Pool<Sqlite>, phrase: &str) -> Vec<i64> {
        sqlx::query_scalar("SELECT rowid FROM external_user_search WHERE external_user_search MATCH $1 ORDER BY rowid")
            .bind(phrase)
            .fetch_all(read)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_quiet_table_gets_its_index_merged_into_one_segment_that_finds_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let (read, write) = pools(&dir).await;
        for seq in 1..=3 {
            add(&write, seq).await;
        }
        assert_eq!(segments(&read).await.unwrap(), 3);
        let mut seen = None;
        assert_eq!(merge_while_quiet(&read, &write, FAST, &mut seen, || false).await.unwrap(), 0, "first look");
        let steps = merge_while_quiet(&read, &write, FAST, &mut seen, || false).await.unwrap();
        assert!(steps >= 1);
        assert_eq!(segments(&read).await.unwrap(), 1);
        assert_eq!(found(&read, "\"user2@\"").await, [2]);
        assert_eq!(found(&read, "\"person\"").await, [1, 2, 3]);
    }

    #[tokio::test]
    async fn no_merge_while_users_are_being_added_or_the_index_is_nearly_merged() {
        let dir = tempfile::tempdir().unwrap();
        let (read, write) = pools(&dir).await;
        for seq in 1..=3 {
            add(&write, seq).await;
        }
        let mut seen = None;
        merge_while_quiet(&read, &write, FAST, &mut seen, || false).await.unwrap();
        add(&write, 4).await;
        assert_eq!(merge_while_quiet(&read, &write, FAST, &mut seen, || false).await.unwrap(), 0, "a user was added");
        assert_eq!(segments(&read).await.unwrap(), 4, "left as they were");

        let dir = tempfile::tempdir().unwrap();
        let (read, write) = pools(&dir).await;
        add(&write, 1).await;
        add(&write, 2).await;
        let mut seen = None;
        for _ in 0..2 {
            assert_eq!(merge_while_quiet(&read, &write, FAST, &mut seen, || false).await.unwrap(), 0);
        }
        assert_eq!(segments(&read).await.unwrap(), 2, "two segments are left as they are");
    }
}
