//! SQLite write transactions on the calling thread, without sqlx's per-value and per-statement costs.
//!
//! An import batch binds tens of thousands of values (a created row 25: its user, its super identity
//! and its event) in a handful of statements. Through sqlx each value costs about 1,000 instructions
//! (a placeholder formatted, an owned argument, its bind on the connection's thread) and every
//! statement crosses to that thread and back (docs/performance.md, "Import"). Here the same SQL text
//! runs through rusqlite on the calling thread, each value bound straight from the user.
//!
//! The connection is a second read-write connection to the file, not the sqlx writer's own handle:
//! reaching that handle needs `unsafe`, which the crate forbids. A transaction here runs only while
//! the caller holds the one connection of the sqlx write pool, idle, so the store still has one
//! writer at a time and `BEGIN IMMEDIATE` never waits for the other connection. An in-memory database
//! has no file to open again and keeps the sqlx path.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection, OpenFlags, Row, TransactionBehavior};
use sqlx::{Pool, Sqlite};
use uuid::Uuid;

use super::run::events::EventText;
use super::run::external_users::{INSERT_CHUNK, UserRefs, push_created_events};
use super::run::ticket_batches;
use super::run::user_batches::{self, UserInsert};
use crate::domain::event::{self, EventType, participant_event};
use crate::domain::{
    ActivityKind, Actor, ExternalUser, MemberRef, TicketActivity, TicketParticipant, TicketStatus, Timestamp, match_key,
};
use crate::store::ParticipantKey;
use crate::store::channels::BUILTIN_CHANNEL_ID;
use crate::store::events::{BUMP_EVENT_COUNTER, EVENTS_PER_INSERT, INSERT_EVENTS};
use crate::store::external_users::*;
use crate::store::identities::{AUTOMATIC_MATCHING, LOCK_SUPER_IDENTITY, MATCHING_IDENTITY};
use crate::store::participants::{INSERT_PARTICIPANT, NewParticipant, PARTICIPANT_BY_ID, ParticipantRow};
use crate::store::sqlite_checkpoint::WRITERS_CHECKPOINT_AFTER_PAGES;
use crate::store::sqlite_direct::{DirectRow, optional_uuid, uuid};
use crate::store::tickets::{self, *};
use crate::store::{Entity, StoreError, StoreResult};

/// The second writer connection, opened on first use.
pub(super) struct DirectWriter {
    path: PathBuf,
    cache_size_kib: i64,
    connection: Mutex<Option<Connection>>,
}

/// A direct write that took longer than this, waiting for the writer included, is logged (at debug
/// level): a create's p99 is made of them.
const SLOW_WRITE: Duration = Duration::from_millis(10);

/// As the sqlx connections' (`SqliteStore::open`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The statements kept prepared: an import batch's fixed ones and the multi-row ones of a full
/// batch and of a last, shorter one; a batch of creates' (users' and tickets') multi-row ones in
/// each of its sizes (powers of two up to 256, see `group_commit.rs`).
const STATEMENTS_KEPT: usize = 96;

impl DirectWriter {
    /// For the database file at `path` (already migrated, in WAL mode), with the sqlx writer's page
    /// cache size (negative: KiB).
    pub(super) fn new(path: PathBuf, cache_size_kib: i64) -> Self {
        Self { path, cache_size_kib, connection: Mutex::new(None) }
    }

    /// Runs `write` in a `BEGIN IMMEDIATE` transaction, committed when it answers `Ok` and `keep`
    /// says so, else rolled back. The caller holds the sqlx writer, as [`Self::holding`] does (see the
    /// module's docs).
    pub(super) fn transaction<T>(
        &self,
        write: impl FnOnce(&Connection) -> StoreResult<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> StoreResult<T> {
        let mut slot = self.lock();
        let connection = match slot.take() {
            Some(c) => c,
            None => self.connect()?,
        };
        let mut connection = connection;
        let outcome = {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match write(&tx) {
                Ok(value) if keep(&value) => tx.commit().map(|()| value).map_err(StoreError::from),
                other => {
                    if let Err(e) = tx.rollback() {
                        tracing::warn!(error = %e, "rolling back a direct write failed");
                    }
                    other
                }
            }
        };
        // A connection still inside a transaction (its rollback failed) would hold the write lock:
        // it is closed, and the next write opens another.
        if connection.is_autocommit() {
            *slot = Some(connection);
        }
        outcome
    }

    /// [`Self::transaction`] while holding the one connection of `sqlx_writer` idle, so that no
    /// other write runs meanwhile, on this thread (1 ms for a batch of creates, 0.1-0.2 s for an
    /// import batch): on the multi-threaded runtime the worker's other tasks move to another thread
    /// meanwhile. A single-threaded runtime (tests) has no other.
    pub(super) async fn holding<T>(
        &self,
        sqlx_writer: &Pool<Sqlite>,
        write: impl FnOnce(&Connection) -> StoreResult<T>,
        keep: impl FnOnce(&T) -> bool,
    ) -> StoreResult<T> {
        let asked = Instant::now();
        let _held = sqlx_writer.acquire().await?;
        let started = Instant::now();
        let run = || self.transaction(write, keep);
        let outcome = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(run),
            _ => run(),
        };
        let (waited, ran) = (started - asked, started.elapsed());
        if waited + ran > SLOW_WRITE {
            tracing::debug!(waited_ms = waited.as_millis(), ran_ms = ran.as_millis(), "a slow direct write");
        }
        outcome
    }

    /// Only taken while the sqlx writer is held, so never contended; a panic inside `write` leaves
    /// no connection behind (it was taken out of the slot), so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Option<Connection>> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let c = Connection::open_with_flags(&self.path, flags)?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        c.set_prepared_statement_cache_capacity(STATEMENTS_KEPT);
        // The sqlx writer's settings: these are per connection, not stored in the file.
        c.pragma_update(None, "foreign_keys", true)?;
        c.pragma_update(None, "synchronous", "NORMAL")?;
        c.pragma_update(None, "secure_delete", true)?;
        c.pragma_update(None, "temp_store", "memory")?;
        c.pragma_update(None, "cache_size", self.cache_size_kib)?;
        c.pragma_update(None, "wal_autocheckpoint", WRITERS_CHECKPOINT_AFTER_PAGES)?;
        Ok(c)
    }
}

/// Binds `values` to a statement written for sqlx: `$N` and `?N` placeholders by their number (as
/// sqlx does; SQLite numbers named parameters in order of appearance), a plain `?` by its position.
fn bind(statement: &mut CachedStatement<'_>, values: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for k in 1..=statement.parameter_count() {
        let n = statement.parameter_name(k).and_then(|name| name.get(1..)?.parse::<usize>().ok()).unwrap_or(k);
        let value = n.checked_sub(1).and_then(|i| values.get(i));
        statement.raw_bind_parameter(k, value.ok_or(rusqlite::Error::InvalidParameterCount(n, values.len()))?)?;
    }
    Ok(())
}

/// Runs a statement that answers no rows; how many rows it changed.
fn execute(c: &Connection, sql: &str, values: &[&dyn ToSql]) -> rusqlite::Result<usize> {
    let mut statement = c.prepare_cached(sql)?;
    bind(&mut statement, values)?;
    statement.raw_execute()
}

/// The first row a statement answers, if any.
fn first_row<T>(
    c: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    decode: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = c.prepare_cached(sql)?;
    bind(&mut statement, values)?;
    let mut rows = statement.raw_query();
    rows.next()?.map(decode).transpose()
}

/// The one row a statement always answers (as sqlx's `fetch_one`).
fn one_row<T>(
    c: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    decode: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<T> {
    first_row(c, sql, values, decode)?.ok_or_else(|| StoreError::Other(format!("no row answered: {sql}")))
}

/// A multi-row statement: `prefix`, then `rows` lists of `columns` plain `?`, as sqlx's
/// `push_values` writes them, bound one value after another.
struct Values<'c> {
    statement: CachedStatement<'c>,
    next: usize,
}

impl<'c> Values<'c> {
    fn new(c: &'c Connection, prefix: &str, columns: usize, rows: usize) -> rusqlite::Result<Self> {
        let mut list = String::with_capacity(columns * 3);
        list.push('(');
        for i in 0..columns {
            list.push_str(if i == 0 { "?" } else { ", ?" });
        }
        list.push(')');
        let mut sql = String::with_capacity(prefix.len() + 7 + rows * (list.len() + 2));
        sql.push_str(prefix);
        sql.push_str("VALUES ");
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&list);
        }
        Ok(Self { statement: c.prepare_cached(&sql)?, next: 0 })
    }

    fn put(&mut self, value: impl ToSql) -> rusqlite::Result<&mut Self> {
        self.next += 1;
        self.statement.raw_bind_parameter(self.next, value)?;
        Ok(self)
    }

    fn execute(mut self) -> rusqlite::Result<usize> {
        self.statement.raw_execute()
    }
}

fn id(u: &Uuid) -> &[u8; 16] {
    u.as_bytes()
}

fn optional_id(u: &Option<Uuid>) -> Option<&[u8; 16]> {
    u.as_ref().map(Uuid::as_bytes)
}

/// The SQLite twin of the pooled `import_external_users` (`run/external_users.rs`): the same checks
/// and statements, in the same order, on `c` inside its transaction.
pub(super) fn import_batch(
    c: &Connection,
    workspace_id: Uuid,
    writes: &[ImportWrite],
    actor: Actor,
) -> StoreResult<ImportBatchOutcome> {
    let mut outcomes: Vec<Result<(), StoreError>> = writes.iter().map(|_| Ok(())).collect();
    // References: checked once per distinct channel, tier and group of the batch.
    let mut refs = CheckedRefs::new();
    let mut builtin = vec![false; writes.len()];
    for (i, w) in writes.iter().enumerate() {
        let u = w.user();
        if u.workspace_id != workspace_id {
            return Err(StoreError::Other("an import write names another workspace".into()));
        }
        let key = (u.channel_id, u.tier_id, u.external_user_group_id);
        let checked = match refs.get(&key) {
            Some(checked) => *checked,
            None => {
                let checked = user_refs(c, u)?.map(|r| r.builtin);
                refs.insert(key, checked);
                checked
            }
        };
        match checked {
            Ok(b) => builtin[i] = b,
            Err(e) => outcomes[i] = Err(StoreError::NotFound(e)),
        }
    }
    // Identifiers another user of the channel already has (the unique index would refuse them).
    for (channel_id, wanted) in &claimed_identifiers(writes, &outcomes) {
        let holders = identifier_holders(c, *channel_id, wanted)?;
        refuse_held(writes, wanted, &holders, &mut outcomes);
    }
    let matching: bool = one_row(c, AUTOMATIC_MATCHING, &[&id(&workspace_id)], |r| r.get(0))?;
    // The created users' event resources, written alongside their inserts.
    let mut resources: Vec<Option<Arc<str>>> = vec![None; writes.len()];
    let creates: Vec<usize> =
        (0..writes.len()).filter(|i| outcomes[*i].is_ok() && matches!(writes[*i], ImportWrite::Create(_))).collect();
    if matching {
        // Each new user may join the person of one created just before it: one at a time.
        for &i in &creates {
            let u = writes[i].user();
            let (_, resource) = create_one(c, u, UserRefs { builtin: builtin[i], auto_match: true })?;
            resources[i] = Some(resource);
        }
    } else {
        let users: Vec<&ExternalUser> = creates.iter().map(|&i| writes[i].user()).collect();
        let texts = insert_new_users(c, &users)?;
        for (&i, text) in creates.iter().zip(texts) {
            resources[i] = Some(text);
        }
    }
    let mut events = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        if outcomes[i].is_err() {
            continue;
        }
        match w {
            ImportWrite::Create(_) => {
                if let Some(resource) = resources[i].take() {
                    push_created_events(&mut events, actor, resource, builtin[i]);
                }
            }
            ImportWrite::Update { before, after: u } => {
                let changed = execute(
                    c,
                    UPDATE_IMPORTED_USER,
                    &[
                        &u.external_id,
                        &u.identifier,
                        &u.name,
                        &optional_id(&u.tier_id),
                        &optional_id(&u.external_user_group_id),
                        &u.blocked,
                        &u.time_zone,
                        &u.updated_at.micros(),
                        &u.identifier.as_deref().and_then(match_key),
                        &id(&u.id),
                        &id(&u.workspace_id),
                        &before.updated_at.micros(),
                    ],
                )?;
                if changed == 0 {
                    return Ok(ImportBatchOutcome::Stale);
                }
                events.extend(event::external_user_changes(actor, before, u).iter().map(EventText::of));
            }
        }
    }
    record_texts(c, workspace_id, events)?;
    Ok(ImportBatchOutcome::Done(outcomes))
}

/// The SQLite twin of the pooled `write_batch` (`run/user_batches.rs`): a batch of creates in one
/// transaction on `c`, by the same plan and statements, each create's own outcome in order (or an
/// error that ended the transaction).
pub(super) fn create_batch(c: &Connection, batch: &[UserInsert]) -> StoreResult<Vec<StoreResult<Uuid>>> {
    let mut outcomes: Vec<StoreResult<Uuid>> = Vec::with_capacity(batch.len());
    // Checked once per workspace, channel, tier and group, as on the pooled path.
    let mut checked: HashMap<user_batches::RefsKey, Result<UserRefs, Entity>> = HashMap::new();
    let mut refs = Vec::with_capacity(batch.len());
    for insert in batch {
        let u = &insert.user;
        let key = (u.workspace_id, u.channel_id, u.tier_id, u.external_user_group_id);
        let found = match checked.entry(key) {
            Entry::Occupied(known) => *known.get(),
            Entry::Vacant(slot) => *slot.insert(user_refs(c, u)?),
        };
        outcomes.push(found.map(|_| u.super_identity_id).map_err(StoreError::NotFound));
        refs.push(found.ok());
    }
    let (together, mut one_by_one) = user_batches::plan(batch, &refs);
    let mut resources: Vec<Option<Arc<str>>> = vec![None; batch.len()];
    let mut written_together = false;
    if together.len() > 1 {
        execute(c, "SAVEPOINT user_batch", &[])?;
        let users: Vec<&ExternalUser> = together.iter().map(|&i| &batch[i].user).collect();
        match insert_new_users(c, &users).map_err(StoreError::from) {
            Ok(texts) => {
                for (&i, text) in together.iter().zip(texts) {
                    resources[i] = Some(text);
                }
                written_together = true;
            }
            Err(StoreError::Duplicate(_)) => {
                execute(c, "ROLLBACK TO SAVEPOINT user_batch", &[])?;
            }
            Err(e) => return Err(e),
        }
        execute(c, "RELEASE SAVEPOINT user_batch", &[])?;
    }
    if !written_together {
        one_by_one.extend(together);
    }
    for i in one_by_one {
        let (insert, refs) = (&batch[i], refs[i].expect("only users whose references were found"));
        execute(c, "SAVEPOINT user_create", &[])?;
        match create_one(c, &insert.user, refs) {
            Ok((joined, resource)) => {
                outcomes[i] = Ok(joined);
                resources[i] = Some(resource);
            }
            Err(e @ (StoreError::Duplicate(_) | StoreError::NotFound(_))) => {
                execute(c, "ROLLBACK TO SAVEPOINT user_create", &[])?;
                outcomes[i] = Err(e);
            }
            Err(e) => return Err(e),
        }
        execute(c, "RELEASE SAVEPOINT user_create", &[])?;
    }
    for (workspace_id, events) in user_batches::batch_events(batch, &refs, resources) {
        record_texts(c, workspace_id, events)?;
    }
    Ok(outcomes)
}

/// The pooled `user_refs` on `c`: the first of the user's channel, tier and group not in its
/// workspace, or what a create needs to know of them.
fn user_refs(c: &Connection, u: &ExternalUser) -> StoreResult<Result<UserRefs, Entity>> {
    let flags = one_row(
        c,
        USER_REFS_EXIST,
        &[&id(&u.channel_id), &optional_id(&u.tier_id), &optional_id(&u.external_user_group_id), &id(&u.workspace_id)],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    Ok(checked_refs(flags).map(|(builtin, auto_match)| UserRefs { builtin, auto_match }))
}

/// One create of [`create_batch`]: the super identity the user is in (a match's, or its new one)
/// and its event resource.
fn create_one(c: &Connection, u: &ExternalUser, refs: UserRefs) -> StoreResult<(Uuid, Arc<str>)> {
    let matched = if refs.auto_match { matching_identity(c, u)? } else { None };
    let joined = match matched {
        Some(found) => found,
        None => {
            execute(
                c,
                INSERT_SUPER_IDENTITY,
                &[&id(&u.super_identity_id), &id(&u.workspace_id), &u.created_at.micros()],
            )?;
            u.super_identity_id
        }
    };
    insert_user_row(c, u, joined)?;
    let shown = ExternalUser { super_identity_id: joined, ..u.clone() };
    Ok((joined, event::external_user_text(&shown).into()))
}

/// Who on the channel holds these lower-cased identifiers: identifier to user id.
fn identifier_holders(
    c: &Connection,
    channel_id: Uuid,
    wanted: &[(usize, String)],
) -> rusqlite::Result<HashMap<String, Uuid>> {
    let mut sql = String::with_capacity(IDENTIFIER_HOLDERS.len() + IDENTIFIER_HOLDERS_IN.len() + 3 * wanted.len() + 4);
    sql.push_str(IDENTIFIER_HOLDERS);
    sql.push('?');
    sql.push_str(IDENTIFIER_HOLDERS_IN);
    for i in 0..wanted.len() {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
    }
    sql.push(')');
    let mut statement = c.prepare_cached(&sql)?;
    statement.raw_bind_parameter(1, id(&channel_id))?;
    for (k, (_, identifier)) in wanted.iter().enumerate() {
        statement.raw_bind_parameter(k + 2, identifier.as_str())?;
    }
    let mut rows = statement.raw_query();
    let mut holders = HashMap::new();
    while let Some(row) = rows.next()? {
        if let Some(identifier) = row.get::<_, Option<String>>(1)? {
            holders.insert(identifier, uuid(row, 0)?);
        }
    }
    Ok(holders)
}

/// The super identity a new user joins by automatic matching, if any, locked as the pooled
/// `matching_identity` locks it.
fn matching_identity(c: &Connection, u: &ExternalUser) -> StoreResult<Option<Uuid>> {
    let Some(key) = u.identifier.as_deref().and_then(match_key) else { return Ok(None) };
    let found = first_row(c, MATCHING_IDENTITY, &[&id(&u.workspace_id), &key, &id(&u.channel_id)], |r| uuid(r, 0))?;
    let Some(found) = found else { return Ok(None) };
    let merged_into = first_row(c, LOCK_SUPER_IDENTITY, &[&id(&found), &id(&u.workspace_id)], |r| optional_uuid(r, 0))?
        .ok_or(StoreError::NotFound(Entity::SuperIdentity))?;
    Ok(Some(merged_into.unwrap_or(found)))
}

/// The one insert of an external user's row, in `super_identity_id`.
fn insert_user_row(c: &Connection, u: &ExternalUser, super_identity_id: Uuid) -> rusqlite::Result<usize> {
    execute(
        c,
        INSERT_EXTERNAL_USER,
        &[
            &id(&u.id),
            &id(&u.workspace_id),
            &id(&u.channel_id),
            &id(&super_identity_id),
            &u.external_id,
            &u.identifier,
            &u.name,
            &optional_id(&u.tier_id),
            &optional_id(&u.external_user_group_id),
            &u.blocked,
            &u.time_zone,
            &u.created_at.micros(),
            &u.updated_at.micros(),
            &u.identifier.as_deref().and_then(match_key),
        ],
    )
}

/// New users, each in the new super identity it names, by multi-row inserts of [`INSERT_CHUNK`]
/// rows (one full-text segment per statement); answers each user's event resource, in order.
///
/// The resources' JSON is written on a second thread while SQLite inserts on this one, as the
/// pooled path writes it while sqlx's thread runs the insert: the batch would otherwise use one
/// core of two. A few users are not worth a thread.
fn insert_new_users(c: &Connection, users: &[&ExternalUser]) -> rusqlite::Result<Vec<Arc<str>>> {
    let texts = || users.iter().map(|u| Arc::<str>::from(event::external_user_text(u))).collect::<Vec<_>>();
    if users.len() < TEXTS_APART_FROM {
        insert_users(c, users)?;
        return Ok(texts());
    }
    std::thread::scope(|s| {
        let written = s.spawn(texts);
        insert_users(c, users)?;
        Ok(written.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// From this many new users in a batch their JSON is written on a thread of its own: starting one
/// costs about as much as writing a few dozen.
const TEXTS_APART_FROM: usize = 256;

fn insert_users(c: &Connection, users: &[&ExternalUser]) -> rusqlite::Result<()> {
    for chunk in users.chunks(INSERT_CHUNK) {
        let mut identities = Values::new(c, INSERT_SUPER_IDENTITIES, 3, chunk.len())?;
        for u in chunk {
            identities.put(id(&u.super_identity_id))?.put(id(&u.workspace_id))?.put(u.created_at.micros())?;
        }
        identities.execute()?;
        let mut rows = Values::new(c, INSERT_EXTERNAL_USERS, 14, chunk.len())?;
        for u in chunk {
            rows.put(id(&u.id))?
                .put(id(&u.workspace_id))?
                .put(id(&u.channel_id))?
                .put(id(&u.super_identity_id))?
                .put(u.external_id.as_deref())?
                .put(u.identifier.as_deref())?
                .put(u.name.as_deref())?
                .put(optional_id(&u.tier_id))?
                .put(optional_id(&u.external_user_group_id))?
                .put(u.blocked)?
                .put(u.time_zone.as_deref())?
                .put(u.created_at.micros())?
                .put(u.updated_at.micros())?
                .put(u.identifier.as_deref().and_then(match_key))?;
        }
        rows.execute()?;
    }
    Ok(())
}

/// The pooled `record_texts` (`run/events.rs`) on `c`: the workspace's counter moved on by as many
/// events, then the events by multi-row inserts.
fn record_texts(c: &Connection, workspace_id: Uuid, events: Vec<EventText>) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let last: i64 = one_row(c, BUMP_EVENT_COUNTER, &[&id(&workspace_id), &(events.len() as i64)], |r| r.get(0))?;
    let mut sequence = last - events.len() as i64;
    let now = Timestamp::now().micros();
    // A batch's events mostly share one actor: its JSON is written once per run of them.
    let mut actor: Option<(Actor, Arc<str>)> = None;
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let mut insert = Values::new(c, INSERT_EVENTS, 8, chunk.len())?;
        for e in chunk {
            sequence += 1;
            let actor_json = match &actor {
                Some((a, json)) if *a == e.actor => Arc::clone(json),
                _ => {
                    let json: Arc<str> = Arc::from(e.actor.to_json().to_string());
                    actor = Some((e.actor, Arc::clone(&json)));
                    json
                }
            };
            // Time-ordered (v7), as the pooled writer's: see there.
            insert
                .put(Uuid::now_v7().as_bytes())?
                .put(id(&workspace_id))?
                .put(sequence)?
                .put(e.kind.as_str())?
                .put(now)?
                .put(&*actor_json)?
                .put(&*e.resource)?
                .put(e.previous.as_deref())?;
        }
        insert.execute()?;
    }
    Ok(())
}

/// The SQLite twin of the pooled `write_tickets` (`run/ticket_batches.rs`): a batch of ticket
/// creates in one transaction on `c`, by the same plan and statements.
pub(super) fn create_tickets(c: &Connection, batch: &[NewTicket]) -> StoreResult<Vec<StoreResult<Opened>>> {
    let mut requesters = Vec::with_capacity(batch.len());
    for new in batch {
        let found: FoundRefs = one_row(
            c,
            TICKET_REFS,
            &[&id(&new.location_id), &id(&new.requester_id), &optional_id(&new.assignee_id), &id(&new.workspace_id)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        requesters.push(tickets::requester(new, found));
    }
    let mut first = BTreeMap::new();
    for (workspace_id, count) in numbers_needed(batch, &requesters) {
        execute(c, START_TICKET_COUNTER, &[&id(&workspace_id)])?;
        let last: i64 = one_row(c, ADVANCE_TICKET_NUMBERS, &[&id(&workspace_id), &count], |r| r.get(0))?;
        first.insert(workspace_id, last - count + 1);
    }
    let opened = open(batch, requesters, first);
    let written: Vec<&Opened> = opened.iter().filter_map(|o| o.as_ref().ok()).collect();
    if !written.is_empty() {
        let mut tickets = Values::new(c, INSERT_TICKETS, NEW_TICKET_COLUMNS, written.len())?;
        for (t, _) in &written {
            let (requester_staff, requester_user) = MemberRef::columns(Some(t.requester));
            let at = t.created_at.micros();
            tickets
                .put(id(&t.id))?
                .put(id(&t.workspace_id))?
                .put(t.number)?
                .put(id(&t.location_id))?
                .put(t.text.as_str())?
                .put(t.kind.as_deref())?
                .put(t.status.stored())?
                .put(optional_id(&requester_staff))?
                .put(optional_id(&requester_user))?
                .put(optional_id(&t.assignee_id))?
                .put(t.version)?
                .put(id(&t.created_by))?
                .put(at)?
                .put(at)?
                .put(at)?;
        }
        tickets.execute()?;
        let mut activities = Values::new(c, INSERT_CREATED_ACTIVITIES, CREATED_ACTIVITY_COLUMNS, written.len())?;
        for (_, a) in &written {
            let (actor_staff, actor_user) = MemberRef::columns(a.actor);
            activities
                .put(id(&a.id))?
                .put(id(&a.workspace_id))?
                .put(id(&a.ticket_id))?
                .put(a.kind.as_str())?
                .put(optional_id(&actor_staff))?
                .put(optional_id(&actor_user))?
                .put(id(&a.created_by))?
                .put(a.text.as_deref())?
                .put(a.internal)?
                .put(NO_ATTACHMENTS)?
                .put(a.status.map(TicketStatus::stored))?
                .put(optional_id(&a.assignee_id))?
                .put(a.created_at.micros())?;
        }
        activities.execute()?;
        for (workspace_id, events) in ticket_batches::ticket_events(batch, &opened) {
            record_texts(c, workspace_id, events)?;
        }
    }
    Ok(opened.into_iter().map(|o| o.map_err(StoreError::NotFound)).collect())
}

/// The SQLite twin of the pooled `pooled_add_participant` (`run/participants.rs`): the same checks
/// and statements on `c` inside its transaction, the events recorded together at the end.
pub(super) fn add_participant(c: &Connection, new: &NewParticipant<'_>) -> StoreResult<TicketParticipant> {
    let ws = new.workspace_id;
    require(c, "tickets", Entity::Ticket, ws, new.ticket_id)?;
    let mut events = Vec::new();
    let user = match new.key {
        ParticipantKey::ExternalUser(user) => {
            require(c, "external_users", Entity::ExternalUser, ws, user)?;
            user
        }
        ParticipantKey::Email(email) => email_user(c, new, email, &mut events)?,
        ParticipantKey::Id(_) => return Err(StoreError::Other("a new participant has no id yet".into())),
    };
    let at = new.at.micros();
    execute(c, INSERT_PARTICIPANT, &[&id(&new.id), &id(&ws), &id(&new.ticket_id), &id(&user), &at, &id(&new.by)])?;
    let added: TicketParticipant = one_row(c, PARTICIPANT_BY_ID, &[&id(&new.id)], ParticipantRow::decode)?.into();
    let activity =
        TicketActivity::participant_change(ActivityKind::ParticipantAdded, &added, new.actor, added.created_at);
    insert_activity(c, &activity)?;
    events.push(EventText::of(&participant_event(EventType::TicketParticipantAdded, new.actor, &added)));
    record_texts(c, ws, events)?;
    Ok(added)
}

/// `NotFound(entity)` unless `id` names a row of `table` in the workspace (the pooled `require`).
fn require(c: &Connection, table: &str, entity: Entity, workspace_id: Uuid, row: Uuid) -> StoreResult<()> {
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1 AND workspace_id = $2");
    match first_row(c, &sql, &[&id(&row), &id(&workspace_id)], |_| Ok(()))? {
        Some(()) => Ok(()),
        None => Err(StoreError::NotFound(entity)),
    }
}

/// The pooled `email_user`: the built-in channel's external user with this address, or a new one
/// (a new customer), whose events go into `events`.
fn email_user(c: &Connection, new: &NewParticipant<'_>, email: &str, events: &mut Vec<EventText>) -> StoreResult<Uuid> {
    let channel = first_row(c, BUILTIN_CHANNEL_ID, &[&id(&new.workspace_id)], |r| uuid(r, 0))?
        .ok_or(StoreError::NotFound(Entity::Channel))?;
    if let Some(found) = first_row(c, USER_BY_IDENTIFIER, &[&id(&channel), &email], |r| uuid(r, 0))? {
        return Ok(found);
    }
    let user = new.new_customer(channel, email);
    let (_, resource) = create_one(c, &user, UserRefs { builtin: true, auto_match: true })?;
    push_created_events(events, new.actor, resource, true);
    Ok(user.id)
}

/// The pooled `insert_activity` (`run/tickets.rs`) on `c`.
fn insert_activity(c: &Connection, a: &TicketActivity) -> StoreResult<()> {
    let (actor_staff, actor_user) = MemberRef::columns(a.actor);
    execute(
        c,
        INSERT_ACTIVITY,
        &[
            &id(&a.id),
            &id(&a.workspace_id),
            &id(&a.ticket_id),
            &a.kind.as_str(),
            &optional_id(&actor_staff),
            &optional_id(&actor_user),
            &id(&a.created_by),
            &a.text,
            &a.internal,
            &attachments_json(&a.attachments)?,
            &a.status.map(TicketStatus::stored),
            &optional_id(&a.assignee_id),
            &a.previous_status.map(TicketStatus::stored),
            &optional_id(&a.previous_assignee_id),
            &a.ticket_type,
            &a.previous_ticket_type,
            &a.created_at.micros(),
            &a.comment_number,
            &optional_id(&a.participant),
        ],
    )?;
    Ok(())
}
