//! Import of external users (and so of customers, the e-mail channel's external users) in batches:
//! each row is the upsert of `PUT /api/v1/external-users` when it has an `externalId` (created,
//! updated or unchanged), else a create, checked by the same rules; a row that breaks one is
//! reported with its line and written no further. The file's reading and parsing belong to the
//! contract (docs/import-export.md); this is what happens to rows once they are parsed.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::external_users::{ExternalUserPatch, NewExternalUser, apply_patch, built_user};
use super::{App, AppError, AppResult, ExternalUserUpsert, Principal};
use crate::domain::event::external_user_changes;
use crate::domain::{
    ChannelType, DisplayName, ExternalId, ExternalUser, FieldError, Identifier, Refusal, Role, Rule, Timestamp,
    check_identifier,
};
use crate::store::{Entity, ImportBatchOutcome, ImportWrite, StoreError, Unique};

/// Rejected rows listed in a report (all are counted): the first ones, in file order.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;
/// How often a batch is planned again after a user in it changed between reading and writing.
const BATCH_ATTEMPTS: usize = 3;

/// One parsed row of an import file: the upsert's key and fields.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The row's first line in the file (1 is the first line, a CSV file's header).
    pub line: u64,
    pub channel_id: Uuid,
    /// With one the row is an upsert by (`channel_id`, `external_id`), without one a create.
    pub external_id: Option<ExternalId>,
    pub fields: ExternalUserUpsert,
}

/// A row that was not written, and every rule it broke.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub line: u64,
    pub errors: Vec<FieldError>,
}

/// What an import did. The counts cover every row; `rejections` lists the first
/// [`MAX_LISTED_REJECTIONS`] rejected rows.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub rejections: Vec<RejectedRow>,
    /// Why the import ended before the end of its file (a bound, a broken upload); rows before it
    /// are written and counted.
    pub stopped: Option<String>,
}

impl ImportReport {
    /// Rows read so far.
    pub fn rows(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.rejected
    }

    /// Whether some rejected rows are counted but not listed.
    pub fn rejections_truncated(&self) -> bool {
        self.rejected > self.rejections.len() as u64
    }
}

/// An import under way: rows are buffered into batches and written by [`ExternalUserImport::push`];
/// [`ExternalUserImport::finish`] writes the last batch and answers the report.
pub struct ExternalUserImport {
    app: App,
    who: Principal,
    pending: Vec<ImportRow>,
    /// Rows per batch, one transaction each: the store's choice (`import_batch_rows`).
    batch_rows: usize,
    /// The pending rows' keys and lower-cased identifiers: a row repeating one starts a new batch,
    /// so it sees the earlier row written (and is its update, or is refused as taken).
    keys: HashSet<(Uuid, String)>,
    identifiers: HashSet<(Uuid, String)>,
    /// Each channel's type, or `None` when the workspace has no such channel.
    channels: HashMap<Uuid, Option<ChannelType>>,
    /// The last `created_at` given: each new user's is later, so the list shows them in file order.
    last: Timestamp,
    report: ImportReport,
}

/// What a row comes to once planned against the stored users (one batch of them at a time, so
/// their size does not matter).
#[allow(clippy::large_enum_variant)]
enum Planned {
    Reject(Vec<FieldError>),
    Unchanged,
    Write(ImportWrite),
}

/// What writing a batch came to.
enum Written {
    Done,
    /// A rule the planning could not see broke at the write (a race with another writer): the rows
    /// go one by one, so only the row that broke it is refused.
    Split,
}

impl App {
    /// Starts an import into the principal's workspace (admins only: it writes many users at once).
    pub fn start_import(&self, who: &Principal) -> AppResult<ExternalUserImport> {
        who.require(Role::Admin)?;
        let batch_rows = self.store.import_batch_rows();
        Ok(ExternalUserImport {
            app: self.clone(),
            who: who.clone(),
            pending: Vec::with_capacity(batch_rows),
            batch_rows,
            keys: HashSet::new(),
            identifiers: HashSet::new(),
            channels: HashMap::new(),
            last: Timestamp::from_micros(0),
            report: ImportReport::default(),
        })
    }
}

impl ExternalUserImport {
    /// The report so far (rows already written or refused; pending rows not yet).
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// Counts a row the contract could not parse, with its reasons.
    pub fn reject(&mut self, line: u64, errors: Vec<FieldError>) {
        self.report.rejected += 1;
        if self.report.rejections.len() < MAX_LISTED_REJECTIONS {
            self.report.rejections.push(RejectedRow { line, errors });
        }
    }

    /// Says why the import ends early; [`ExternalUserImport::finish`] still writes what was read.
    pub fn stop(&mut self, why: impl Into<String>) {
        self.report.stopped.get_or_insert_with(|| why.into());
    }

    /// Takes a parsed row; writes the pending batch first when it is full or holds the row's key or
    /// identifier.
    /// Nothing more is written once the import has stopped: the caller reads no further.
    pub async fn push(&mut self, row: ImportRow) -> AppResult<()> {
        if self.report.stopped.is_some() {
            return Ok(());
        }
        let key = row.external_id.as_ref().map(|e| (row.channel_id, e.as_str().to_owned()));
        let identifier = match &row.fields.identifier {
            Some(Some(i)) => Some((row.channel_id, i.as_str().to_lowercase())),
            _ => None,
        };
        let repeats = key.as_ref().is_some_and(|k| self.keys.contains(k))
            || identifier.as_ref().is_some_and(|i| self.identifiers.contains(i));
        if repeats || self.pending.len() >= self.batch_rows {
            self.flush().await?;
        }
        self.keys.extend(key);
        self.identifiers.extend(identifier);
        self.pending.push(row);
        Ok(())
    }

    /// Writes the last batch; the whole report.
    pub async fn finish(mut self) -> AppResult<ImportReport> {
        self.flush().await?;
        Ok(self.report)
    }

    /// Writes the pending batch. When the database fails it (unreachable, a statement timeout), the
    /// import stops there instead of failing: the batches written before stay written, and the
    /// report says so and where to go on from, rather than an error that hides what was imported.
    async fn flush(&mut self) -> AppResult<()> {
        let rows = std::mem::take(&mut self.pending);
        self.keys.clear();
        self.identifiers.clear();
        let Some(first) = rows.first().map(|r| r.line) else { return Ok(()) };
        match self.write_batch(rows).await {
            Err(AppError::Unavailable | AppError::Internal(_)) => {
                let why = format!(
                    "the database failed to write the rows from line {first} on; the rows before them are \
                     written and counted, so the import can go on from that line"
                );
                tracing::warn!(line = first, "import stopped by a database failure");
                self.stop(why);
                Ok(())
            }
            other => other,
        }
    }

    async fn write_batch(&mut self, rows: Vec<ImportRow>) -> AppResult<()> {
        if let Written::Split = self.write(&rows).await? {
            for row in rows {
                let line = row.line;
                if let Written::Split = self.write(std::slice::from_ref(&row)).await? {
                    let why = Refusal::new(
                        Rule::Combination,
                        "changed by another write while it was imported; import it again",
                    );
                    self.reject(line, vec![FieldError::new("externalId", why)]);
                }
            }
        }
        Ok(())
    }

    /// Plans `rows` against the stored users and writes them in one transaction.
    async fn write(&mut self, rows: &[ImportRow]) -> AppResult<Written> {
        for _ in 0..BATCH_ATTEMPTS {
            let plans = self.plan(rows).await?;
            let mut writes = Vec::new();
            for plan in &plans {
                if let Planned::Write(w) = plan {
                    writes.push(w.clone());
                }
            }
            let outcomes = if writes.is_empty() {
                Vec::new()
            } else {
                let ws = self.who.workspace_id();
                match self.app.store.import_external_users(ws, &writes, self.who.actor()).await {
                    Ok(ImportBatchOutcome::Done(outcomes)) => outcomes,
                    Ok(ImportBatchOutcome::Stale) => continue,
                    Err(StoreError::Duplicate(_)) if rows.len() > 1 => return Ok(Written::Split),
                    Err(StoreError::Duplicate(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            let mut outcomes = outcomes.into_iter();
            for (row, plan) in rows.iter().zip(plans) {
                match plan {
                    Planned::Reject(errors) => self.reject(row.line, errors),
                    Planned::Unchanged => self.report.unchanged += 1,
                    Planned::Write(w) => match outcomes.next() {
                        Some(Ok(())) if matches!(w, ImportWrite::Create(_)) => self.report.created += 1,
                        Some(Ok(())) => self.report.updated += 1,
                        Some(Err(e)) => self.reject(row.line, vec![refused(e)]),
                        None => return Err(AppError::Internal("an import batch lost an outcome".into())),
                    },
                }
            }
            for w in &writes {
                if let ImportWrite::Update { after, .. } = w {
                    self.app.forget_external_user(after.id);
                }
            }
            return Ok(Written::Done);
        }
        Ok(Written::Split)
    }

    /// Each row as the upsert would take it: refused by a rule, unchanged, or a create or update.
    async fn plan(&mut self, rows: &[ImportRow]) -> AppResult<Vec<Planned>> {
        let ws = self.who.workspace_id();
        let mut wanted: HashMap<Uuid, Vec<String>> = HashMap::new();
        for row in rows {
            if !self.channels.contains_key(&row.channel_id) {
                let kind = match self.app.store.get_channel(ws, row.channel_id).await {
                    Ok(channel) => Some(channel.kind),
                    Err(StoreError::NotFound(_)) => None,
                    Err(e) => return Err(e.into()),
                };
                self.channels.insert(row.channel_id, kind);
            }
            if let Some(e) = &row.external_id {
                wanted.entry(row.channel_id).or_default().push(e.as_str().to_owned());
            }
        }
        let mut found: HashMap<(Uuid, String), ExternalUser> = HashMap::new();
        for (channel_id, external_ids) in wanted {
            if self.channels.get(&channel_id).copied().flatten().is_none() {
                continue;
            }
            for user in self.app.store.find_external_users_by_external_ids(ws, channel_id, &external_ids).await? {
                let key = (user.channel_id, user.external_id.clone().unwrap_or_default());
                found.insert(key, user);
            }
        }
        let mut plans = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(kind) = self.channels.get(&row.channel_id).copied().flatten() else {
                plans.push(Planned::Reject(vec![refused(StoreError::NotFound(Entity::Channel))]));
                continue;
            };
            let existing = row.external_id.as_ref().and_then(|e| found.get(&(row.channel_id, e.as_str().to_owned())));
            let plan = match existing {
                Some(before) => self.plan_update(before, &row.fields, kind),
                None => self.plan_create(row, kind),
            };
            plans.push(plan);
        }
        Ok(plans)
    }

    /// The update half of the upsert: the patch of `PATCH /api/v1/external-users/{id}`.
    fn plan_update(&self, before: &ExternalUser, f: &ExternalUserUpsert, kind: ChannelType) -> Planned {
        let patch = ExternalUserPatch {
            blocked: f.blocked,
            external_id: None,
            identifier: f.identifier.clone(),
            name: f.name.clone(),
            tier_id: f.tier_id,
            external_user_group_id: f.external_user_group_id,
        };
        let mut after = before.clone();
        match apply_patch(&mut after, patch, Some(kind)) {
            Ok(()) => {}
            Err(AppError::Invalid(errors)) => return Planned::Reject(errors),
            Err(e) => return Planned::Reject(vec![FieldError::new("row", Refusal::new(Rule::Format, e.to_string()))]),
        }
        // A row that repeats the stored user (a re-import) is unchanged without building the events'
        // JSON to compare; else unchanged is what the update's events say.
        if after == *before || external_user_changes(self.who.actor(), before, &after).is_empty() {
            return Planned::Unchanged;
        }
        after.updated_at = Timestamp::now().max(before.updated_at);
        Planned::Write(ImportWrite::Update { before: Box::new(before.clone()), after })
    }

    /// The create half of the upsert (or a plain create, for a row without an external id).
    fn plan_create(&mut self, row: &ImportRow, kind: ChannelType) -> Planned {
        let f = &row.fields;
        let identifier: Option<Identifier> = f.identifier.clone().flatten();
        if let Err(why) = check_identifier(kind, identifier.as_ref().map(Identifier::as_str)) {
            return Planned::Reject(vec![FieldError::new("identifier", why)]);
        }
        let new = NewExternalUser {
            channel_id: row.channel_id,
            external_id: row.external_id.clone(),
            identifier,
            name: None,
            tier_id: f.tier_id.flatten(),
            external_user_group_id: f.external_user_group_id.flatten(),
            time_zone: None,
        };
        let name = f.name.clone().flatten().map(DisplayName::into_string);
        let now = Timestamp::now().max(Timestamp::from_micros(self.last.micros() + 1));
        self.last = now;
        let mut user = built_user(self.who.workspace_id(), new, name, now);
        user.blocked = f.blocked.unwrap_or(false);
        Planned::Write(ImportWrite::Create(user))
    }
}

/// A rule the store found broken, as the row's field error.
fn refused(e: StoreError) -> FieldError {
    let (field, refusal) = match e {
        StoreError::NotFound(Entity::Channel) => {
            ("channelId", Refusal::new(Rule::NotFound, "names no channel of this workspace"))
        }
        StoreError::NotFound(Entity::Tier) => {
            ("tierId", Refusal::new(Rule::NotFound, "names no tier of this workspace"))
        }
        StoreError::NotFound(Entity::ExternalUserGroup) => {
            ("externalUserGroupId", Refusal::new(Rule::NotFound, "names no external user group of this workspace"))
        }
        StoreError::Duplicate(Unique::ExternalUserIdentifier) => {
            ("identifier", Refusal::new(Rule::Taken, "another external user of the channel has this identifier"))
        }
        StoreError::Duplicate(_) => {
            ("externalId", Refusal::new(Rule::Taken, "another external user of the channel has this external id"))
        }
        other => ("row", Refusal::new(Rule::Format, format!("could not be written: {other}"))),
    };
    FieldError::new(field, refusal)
}

/// Users per page of an export: each page is one indexed range read, and one chunk of the answer.
pub const EXPORT_PAGE_ROWS: i64 = 500;

impl App {
    /// The next page of an export of the filtered list: the users after `after` (the last one's
    /// `created_at` and `id`) in list order, at most [`EXPORT_PAGE_ROWS`]; admins only, as import.
    pub async fn export_external_users(
        &self,
        who: &Principal,
        filter: &crate::domain::query::ExternalUserFilter,
        after: Option<(Timestamp, Uuid)>,
    ) -> AppResult<Vec<ExternalUser>> {
        who.require(Role::Admin)?;
        Ok(self.store.export_external_users(who.workspace_id(), filter, after, EXPORT_PAGE_ROWS).await?)
    }
}
