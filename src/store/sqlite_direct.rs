//! SQLite reads by key, and pages of the external-user list, without sqlx's hand-off.
//!
//! sqlx runs each SQLite statement on the connection's own thread: the query crosses a channel
//! there, every column value is copied into an owned row, and the row crosses back (see
//! docs/performance.md, "Where the time goes"). For a read by key the statement itself takes a few
//! microseconds, less than that round trip, and a page of the list (a range of an index, or a
//! search's few candidates) well under a millisecond. So these reads run on the calling task, on
//! read-only rusqlite connections to the same file (rusqlite links the same libsqlite3 as sqlx): a
//! task holds the worker thread for that long, as it would to decode a large JSON body.
//!
//! Connections are opened on demand up to `bound` (the sqlx read pool's size) and kept in a
//! `Mutex<Vec<_>>`; when all are in use, [`DirectReads::with`] answers `None` and the caller reads
//! through the sqlx pool instead, so a burst waits for no one here.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OpenFlags, Row, ToSql};
use uuid::Uuid;

use super::StoreResult;
use super::channels::ChannelRow;
use super::external_users::{AccessTokenRow, ExternalUserRow};
use super::participants::ParticipantRow;
use super::staff::StaffRow;
use super::support::Bound;
use super::tickets::{ActivityRow, TicketRow};

/// Read-only connections to one SQLite file, used on the calling task.
pub(super) struct DirectReads {
    path: PathBuf,
    bound: usize,
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    connections: Vec<Connection>,
    /// Connections that exist: idle ones plus those lent out.
    open: usize,
    /// The most that ever existed at once (what the bound is checked against).
    peak: usize,
}

/// The same as the sqlx readers' settings in `SqliteStore::open` (the file is already in WAL mode,
/// which a reader does not set).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const CACHE_SIZE_KIB: i64 = -8000;

impl DirectReads {
    /// For the database file at `path`, at most `bound` connections. Opens none yet.
    pub(super) fn new(path: PathBuf, bound: usize) -> Self {
        Self { path, bound: bound.max(1), idle: Mutex::default() }
    }

    /// Runs `read` on one of the connections; `None` when all `bound` are in use.
    pub(super) fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Option<StoreResult<T>> {
        let taken = {
            let mut idle = self.lock();
            match idle.connections.pop() {
                Some(c) => Some(c),
                None if idle.open < self.bound => {
                    idle.open += 1;
                    idle.peak = idle.peak.max(idle.open);
                    None
                }
                None => return None,
            }
        };
        let connection = match taken {
            Some(c) => c,
            None => match self.connect() {
                Ok(c) => c,
                Err(e) => {
                    self.lock().open -= 1;
                    return Some(Err(e.into()));
                }
            },
        };
        let outcome = read(&connection);
        let mut idle = self.lock();
        if outcome.is_ok() {
            idle.connections.push(connection);
        } else {
            // After a failure the connection may be the cause (a file gone, I/O errors); a new one
            // costs an open.
            idle.open -= 1;
        }
        Some(outcome.map_err(Into::into))
    }

    /// The list stays consistent through a panic elsewhere (it is only pushed and popped under the
    /// lock), so a poisoned lock is taken over instead of failing every later read.
    fn lock(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let c = Connection::open_with_flags(&self.path, flags)?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        c.pragma_update(None, "cache_size", CACHE_SIZE_KIB)?;
        c.pragma_update(None, "temp_store", "memory")?;
        c.pragma_update(None, "query_only", true)?;
        // The planner does not look at bound values: else a statement whose plan could depend on one
        // (the trigram index's `MATCH` argument, a `LIKE` pattern, a value STAT4 has figures for) is
        // prepared again each time it is bound anew, which was a third of a search's time on these
        // connections (docs/performance.md, "Cached statements that were prepared again").
        c.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(c)
    }

    #[cfg(test)]
    pub(super) fn peak(&self) -> usize {
        self.lock().peak
    }
}

/// Every row of a statement whose values are `values`, in order (a list of the sqlx builder's,
/// whose `?` placeholders rusqlite numbers the same way).
pub(super) fn rows<T>(
    c: &Connection,
    sql: &str,
    values: &[Bound],
    decode: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = c.prepare_cached(sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(values), |row| decode(row))?;
    rows.collect()
}

/// As sqlx binds them: ids as 16-byte blobs.
impl ToSql for Bound {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Bound::Id(id) => ToSqlOutput::Borrowed(ValueRef::Blob(id.as_bytes())),
            Bound::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Bound::Int(n) => ToSqlOutput::Owned(Value::Integer(*n)),
        })
    }
}

/// One row by a statement that answers at most one.
pub(super) fn optional_row<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    // Each connection keeps its prepared statements: a read does not parse its SQL again.
    let mut statement = c.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    rows.next()?.map(decode).transpose()
}

/// A UUID as sqlx stores it on SQLite: a 16-byte blob.
pub(super) fn uuid(row: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    row.get::<_, [u8; 16]>(i).map(Uuid::from_bytes)
}

pub(super) fn optional_uuid(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    Ok(row.get::<_, Option<[u8; 16]>>(i)?.map(Uuid::from_bytes))
}

/// The columns of `GET_EXTERNAL_USER` (and the first ones of `ACCESS_TOKEN`), in their order.
pub(super) fn external_user_row(row: &Row<'_>) -> rusqlite::Result<ExternalUserRow> {
    Ok(ExternalUserRow {
        id: uuid(row, 0)?,
        workspace_id: uuid(row, 1)?,
        channel_id: uuid(row, 2)?,
        super_identity_id: uuid(row, 3)?,
        external_id: row.get(4)?,
        identifier: row.get(5)?,
        name: row.get(6)?,
        tier_id: optional_uuid(row, 7)?,
        group_id: optional_uuid(row, 8)?,
        blocked: row.get(9)?,
        time_zone: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}

/// A row a direct connection decodes, by position: the columns of its `SELECT`, in order.
pub(in crate::store) trait DirectRow: Sized {
    fn decode(row: &Row<'_>) -> rusqlite::Result<Self>;
}

impl DirectRow for ExternalUserRow {
    fn decode(row: &Row<'_>) -> rusqlite::Result<Self> {
        external_user_row(row)
    }
}

/// The columns of `select_staff_users!`.
impl DirectRow for StaffRow {
    fn decode(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(StaffRow {
            id: uuid(row, 0)?,
            workspace_id: uuid(row, 1)?,
            email: row.get(2)?,
            first_name: row.get(3)?,
            last_name: row.get(4)?,
            external_id: row.get(5)?,
            role: row.get(6)?,
            status: row.get(7)?,
            phone_number: row.get(8)?,
            created_at: row.get(9)?,
            updated_at: row.get(10)?,
            role_named_user: row.get(11)?,
        })
    }
}

/// The columns of `select_tickets!`.
impl DirectRow for TicketRow {
    fn decode(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(TicketRow {
            id: uuid(row, 0)?,
            workspace_id: uuid(row, 1)?,
            number: row.get(2)?,
            location_id: uuid(row, 3)?,
            text: row.get(4)?,
            kind: row.get(5)?,
            status: row.get(6)?,
            requester_staff_id: optional_uuid(row, 7)?,
            requester_external_user_id: optional_uuid(row, 8)?,
            assignee_id: optional_uuid(row, 9)?,
            version: row.get(10)?,
            created_by: uuid(row, 11)?,
            created_at: row.get(12)?,
            updated_at: row.get(13)?,
            status_updated_at: row.get(14)?,
        })
    }
}

/// The columns of `select_activities!`.
impl DirectRow for ActivityRow {
    fn decode(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(ActivityRow {
            id: uuid(row, 0)?,
            workspace_id: uuid(row, 1)?,
            ticket_id: uuid(row, 2)?,
            kind: row.get(3)?,
            actor_staff_id: optional_uuid(row, 4)?,
            actor_external_user_id: optional_uuid(row, 5)?,
            created_by: uuid(row, 6)?,
            text: row.get(7)?,
            internal: row.get(8)?,
            attachments: row.get(9)?,
            status: row.get(10)?,
            assignee_id: optional_uuid(row, 11)?,
            previous_status: row.get(12)?,
            previous_assignee_id: optional_uuid(row, 13)?,
            ticket_type: row.get(14)?,
            previous_ticket_type: row.get(15)?,
            created_at: row.get(16)?,
            comment_number: row.get(17)?,
            participant_user_id: optional_uuid(row, 18)?,
        })
    }
}

/// The columns of `select_participants!`.
impl DirectRow for ParticipantRow {
    fn decode(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(ParticipantRow {
            id: uuid(row, 0)?,
            workspace_id: uuid(row, 1)?,
            ticket_id: uuid(row, 2)?,
            external_user_id: uuid(row, 3)?,
            email: row.get(4)?,
            created_at: row.get(5)?,
            created_by: uuid(row, 6)?,
            updated_at: row.get(7)?,
            updated_by: uuid(row, 8)?,
        })
    }
}

/// The columns of `GET_CHANNEL`, in their order.
pub(super) fn channel_row(row: &Row<'_>) -> rusqlite::Result<ChannelRow> {
    Ok(ChannelRow {
        id: uuid(row, 0)?,
        workspace_id: uuid(row, 1)?,
        name: row.get(2)?,
        kind: row.get(3)?,
        builtin: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

/// The columns of `ACCESS_TOKEN`: the user's, then the token's expiry and issuing key.
pub(super) fn access_token_row(row: &Row<'_>) -> rusqlite::Result<AccessTokenRow> {
    Ok(AccessTokenRow {
        user: external_user_row(row)?,
        expires_at: row.get(13)?,
        issued_by_key_id: optional_uuid(row, 14)?,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A file with one table, in WAL mode as the store's is.
    fn database(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("direct.db");
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "journal_mode", "wal").unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one');").unwrap();
        path
    }

    fn read_one(c: &Connection) -> rusqlite::Result<Option<String>> {
        optional_row(c, "SELECT v FROM t WHERE id = $1", [1], |r| r.get(0))
    }

    #[test]
    fn concurrent_reads_never_open_more_connections_than_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Arc::new(DirectReads::new(database(&dir), 2));
        let (direct, passed) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(0)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (reads, direct, passed) = (reads.clone(), direct.clone(), passed.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        // A slow read holds its connection, so the threads do meet at the bound.
                        match reads.with(|c| {
                            std::thread::sleep(Duration::from_micros(50));
                            read_one(c)
                        }) {
                            Some(v) => {
                                assert_eq!(v.unwrap().as_deref(), Some("one"));
                                *direct.lock().unwrap() += 1;
                            }
                            None => *passed.lock().unwrap() += 1,
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(reads.peak(), 2, "as many as the bound, no more");
        assert!(*direct.lock().unwrap() > 0);
        assert!(*passed.lock().unwrap() > 0, "beyond the bound a read is handed back to the caller");
    }

    #[test]
    fn a_failed_read_gives_its_connection_up_and_the_next_opens_another() {
        let dir = tempfile::tempdir().unwrap();
        let reads = DirectReads::new(database(&dir), 1);
        let failed =
            reads.with(|c| optional_row(c, "SELECT nothing FROM t", rusqlite::params![], |r| r.get::<_, i64>(0)));
        assert!(matches!(failed, Some(Err(crate::store::StoreError::Other(_)))), "{failed:?}");
        assert_eq!(reads.with(read_one).unwrap().unwrap().as_deref(), Some("one"), "the bound is free again");
    }

    #[test]
    fn a_poisoned_lock_does_not_stop_reads() {
        let dir = tempfile::tempdir().unwrap();
        let reads = Arc::new(DirectReads::new(database(&dir), 1));
        let poisoner = reads.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.idle.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(reads.idle.is_poisoned());
        assert_eq!(reads.with(read_one).unwrap().unwrap().as_deref(), Some("one"));
    }

    #[tokio::test]
    async fn a_statement_read_directly_binds_its_values_as_sqlx_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = database(&dir);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        sqlx::query("CREATE TABLE u (id BLOB, v TEXT, n INTEGER)").execute(&pool).await.unwrap();
        for (id, v, n) in [(a, "Ada", 1_i64), (b, "Grace", 2), (a, "Adam", 3)] {
            sqlx::query("INSERT INTO u VALUES (?, ?, ?)").bind(id).bind(v).bind(n).execute(&pool).await.unwrap();
        }
        let mut list = crate::store::support::Statement::<sqlx::Sqlite>::new("SELECT v FROM u WHERE id = ");
        list.push_bind(a).push(" AND v LIKE ").push_bind("ad%".to_owned()).push(" ORDER BY n LIMIT ").push_bind(5_i64);
        let reads = DirectReads::new(path, 1);
        let direct = reads.with(|c| rows(c, list.qb.sql().as_str(), &list.values, |r| r.get::<_, String>(0)));
        let pooled: Vec<String> = list.qb.build_query_scalar().fetch_all(&pool).await.unwrap();
        assert_eq!(pooled, ["Ada", "Adam"]);
        assert_eq!(direct.unwrap().unwrap(), pooled);
    }

    #[test]
    fn the_connections_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let reads = DirectReads::new(database(&dir), 1);
        let write = reads.with(|c| c.execute("INSERT INTO t VALUES (2, 'two')", []));
        assert!(matches!(write, Some(Err(_))), "{write:?}");
    }
}
