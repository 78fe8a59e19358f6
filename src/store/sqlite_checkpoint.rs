//! Copies SQLite's write-ahead log into the database file on a thread of its own.
//!
//! Left to SQLite, the commit that makes the log longer than `wal_autocheckpoint` pages copies the
//! whole log into the file and waits for two `fsync`s before it answers, and every write queued
//! behind it waits too. Moving that work here took the p99 of creates streaming in at 1M users from
//! 82 to 52 ms, and an import's rows/s up by more than a third (docs/performance.md). A passive
//! checkpoint runs every [`EVERY`] beside the writer (WAL lets a checkpoint copy committed pages
//! while new ones are appended), so the writers' own threshold ([`WRITERS_CHECKPOINT_AFTER_PAGES`]) is
//! reached only to finish what this thread already copied: the log can start over from its beginning
//! only after a checkpoint that nothing was appended during, which under a steady stream of writes
//! only the writer's own can be.
//!
//! It also narrows what a power loss can take (docs/decisions/sqlite-durability.md): each
//! checkpoint first syncs the log, so under load the commits of the last [`EVERY`] at most.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How often the log is copied: what a writer's own checkpoint has left to copy when it lets the
/// log start over is what was appended since (at 8,700 creates/s at 1M users, 25 MiB per 100 ms).
pub(super) const EVERY: Duration = Duration::from_millis(25);

/// The writers' `wal_autocheckpoint`: the log's length (in pages, 256 MiB) from which a commit
/// checkpoints itself, so that the next write starts the log over at the beginning of its file.
/// That commit answers 30-60 ms late (it copies what this thread has not yet, and waits for two
/// `fsync`s), and so do the writes queued behind it: at 16,384 pages it came four times a second
/// under a stream of creates at 1M users, and made their p99 47 ms; at this length once a second,
/// and the p99 of a stream of creates alone is 19 ms (docs/performance.md). The price is disk: the log file keeps its longest
/// length.
pub(super) const WRITERS_CHECKPOINT_AFTER_PAGES: i64 = 65_536;

/// Stops the thread when dropped (with the last handle to the store).
pub(super) struct Checkpoints {
    _stop: mpsc::Sender<()>,
}

/// Starts checkpointing the database at `path` (in WAL mode) every `every`.
pub(super) fn start(path: PathBuf, every: Duration) -> std::io::Result<Checkpoints> {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || {
        let mut connection = None;
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            // A failure (to open, or to copy) is retried on the next round.
            if let Err(e) = checkpoint(&path, &mut connection) {
                tracing::warn!(error = %e, "copying the write-ahead log into the database failed");
                connection = None;
            }
        }
    })?;
    Ok(Checkpoints { _stop: stop })
}

/// A passive checkpoint neither waits for nor holds up anyone: it copies what no reader still
/// needs, and returns.
fn checkpoint(path: &Path, connection: &mut Option<Connection>) -> rusqlite::Result<()> {
    let c = match connection {
        Some(c) => c,
        None => {
            let c =
                Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
            // It never writes a page of its own, so it never checkpoints on commit.
            c.pragma_update(None, "wal_autocheckpoint", 0)?;
            connection.insert(c)
        }
    };
    c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_copied_into_the_file_without_a_commit_asking_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "wal").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (randomblob(100000));").unwrap();
        let file_len = || std::fs::metadata(&path).unwrap().len();
        let before = file_len();
        let _checkpoints = start(path.clone(), Duration::from_millis(10)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while file_len() <= before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(file_len() > before + 100_000, "the committed row was copied into the database file");
    }
}
