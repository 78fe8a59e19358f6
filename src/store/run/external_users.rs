//! Runs the external users area's SQL on the backend `Db`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::{EventText, record, record_texts};
use super::user_batches::UserInsert;
use super::{Backend, Db, Dialect, Tx, capped_total, found_one, push_in, push_page, split_page};
use crate::domain::event::{self, EventType, NewEvent};
use crate::domain::{Actor, ExternalUser, Timestamp, match_key};
use crate::store::external_users::*;
use crate::store::identities::AUTOMATIC_MATCHING;
use crate::store::support::{Statement, convert};
use crate::store::{Entity, ExternalUserFilter, IssuedToken, Page, Paging, StoreError, StoreResult, UserKey};

/// Rows per multi-row `INSERT` of an import: 14 values each, 28,000 binds, under both backends'
/// limits (SQLite 32,766, PostgreSQL 65,535). SQLite's full-text index flushes a new segment at the
/// end of every statement and merges segments as they pile up, so a batch's users in one statement
/// (`IMPORT_BATCH_ROWS` is 2,000 on SQLite) make one segment per batch: fewer, larger segments,
/// each row's index entries rewritten by fewer merges.
pub(in crate::store) const INSERT_CHUNK: usize = 2_000;

#[async_trait]
impl ExternalUserStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_external_user(&self, u: &ExternalUser, actor: Actor) -> StoreResult<Uuid> {
        self.user_batches.submit(UserInsert { user: u.clone(), actor }).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_external_user(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<ExternalUser> {
        let row = Dialect::external_user_row(self, workspace_id, id).await?;
        row.ok_or(StoreError::NotFound(Entity::ExternalUser))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_external_user(
        &self,
        workspace_id: Uuid,
        channel_id: Uuid,
        key: UserKey<'_>,
    ) -> StoreResult<Option<ExternalUser>> {
        let condition = match key {
            UserKey::Id(_) => FIND_BY_ID,
            UserKey::ExternalId(_) => FIND_BY_EXTERNAL_ID,
            UserKey::Identifier(_) => FIND_BY_IDENTIFIER,
        };
        let sql = format!("{FIND_EXTERNAL_USER}{condition}");
        let query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workspace_id).bind(channel_id);
        let query = match key {
            UserKey::Id(id) => query.bind(id),
            UserKey::ExternalId(e) => query.bind(e.to_owned()),
            UserKey::Identifier(i) => query.bind(i.to_owned()),
        };
        let row: Option<ExternalUserRow> = query.fetch_optional(&self.read).await?;
        row.map(ExternalUser::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_external_users(
        &self,
        workspace_id: Uuid,
        filter: &ExternalUserFilter,
        paging: Paging,
    ) -> StoreResult<Page<ExternalUser>> {
        if filter.search.is_some() {
            self.prepare_search().await;
        }
        let mut list = Statement::new(LIST_EXTERNAL_USERS);
        push_user_filter(self, &mut list, workspace_id, filter);
        list.push(" ORDER BY created_at, id");
        push_page(&mut list, paging);
        let mut rows = self.rows::<ExternalUserRow>(list).await?;
        let more = split_page(&mut rows, paging);
        let page_len = rows.len() as i64;
        let (total, total_is_exact) = match counted_by(workspace_id, filter) {
            // A short page tells the total without a statement; else the counter does, exactly.
            Some(_) if !more && (page_len > 0 || paging.offset == 0) => (paging.offset + page_len, true),
            Some((kind, key)) => {
                let n: i64 = sqlx::query_scalar(COUNTED_EXTERNAL_USERS)
                    .bind(workspace_id)
                    .bind(kind)
                    .bind(key)
                    .fetch_one(&self.read)
                    .await?;
                (n, true)
            }
            None => {
                let mut count = match &filter.search {
                    Some(term) => self.search_count(workspace_id, term),
                    None => {
                        let mut count = Statement::new(COUNT_EXTERNAL_USERS);
                        count.push(" WHERE workspace_id = ").push_bind(workspace_id);
                        count
                    }
                };
                push_other_filters(&mut count, filter);
                capped_total(&self.read, paging, rows.len(), more, count.qb).await?
            }
        };
        Ok(Page { items: convert(rows)?, total, total_is_exact, more })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_external_user(&self, u: &ExternalUser, actor: Actor) -> StoreResult<ExternalUser> {
        let mut tx = self.begin_write().await?;
        let sql = format!("{GET_EXTERNAL_USER}{}", Backend::LOCK_ROW);
        let before: Option<ExternalUserRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(u.id).bind(u.workspace_id).fetch_optional(&mut *tx).await?;
        let before: ExternalUser = before.ok_or(StoreError::NotFound(Entity::ExternalUser))?.try_into()?;
        let events = event::external_user_changes(actor, &before, u);
        if events.is_empty() {
            return Ok(before);
        }
        require_user_refs(&mut tx, u).await?;
        let done = sqlx::query(UPDATE_EXTERNAL_USER)
            .bind(&u.external_id)
            .bind(&u.identifier)
            .bind(&u.name)
            .bind(u.tier_id)
            .bind(u.external_user_group_id)
            .bind(u.blocked)
            .bind(&u.time_zone)
            .bind(u.updated_at.micros())
            .bind(u.identifier.as_deref().and_then(match_key))
            .bind(u.id)
            .bind(u.workspace_id)
            .execute(&mut *tx)
            .await?;
        found_one(done.rows_affected(), Entity::ExternalUser)?;
        // Blocking ends every token at once, so unblocking revives none of them.
        if u.blocked {
            sqlx::query(DELETE_USER_ACCESS_TOKENS).bind(u.id).execute(&mut *tx).await?;
        }
        record(&mut tx, u.workspace_id, &events).await?;
        tx.commit().await?;
        Ok(u.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_access_token(
        &self,
        token_hash: &[u8],
        user: &ExternalUser,
        created_at: Timestamp,
        expires_at: Timestamp,
        issued_by_key_id: Option<Uuid>,
    ) -> StoreResult<()> {
        sqlx::query(INSERT_ACCESS_TOKEN)
            .bind(token_hash)
            .bind(user.workspace_id)
            .bind(user.id)
            .bind(created_at.micros())
            .bind(expires_at.micros())
            .bind(issued_by_key_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn access_token(&self, token_hash: &[u8]) -> StoreResult<Option<AccessToken>> {
        let row = Dialect::access_token_row(self, token_hash).await?;
        row.map(AccessToken::try_from).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn issued_tokens(&self, workspace_id: Uuid, user_ids: &[Uuid], limit: i64) -> StoreResult<Vec<IssuedToken>> {
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(ISSUED_TOKENS);
        qb.push_bind(workspace_id);
        push_in(&mut qb, "external_user_id", user_ids);
        qb.push(" ORDER BY created_at DESC LIMIT ").push_bind(limit);
        let rows: Vec<IssuedTokenRow> = qb.build_query_as().fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(IssuedToken::from).collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn find_external_users_by_external_ids(
        &self,
        workspace_id: Uuid,
        channel_id: Uuid,
        external_ids: &[String],
    ) -> StoreResult<Vec<ExternalUser>> {
        if external_ids.is_empty() {
            return Ok(Vec::new());
        }
        // By the channel alone, so both backends look the ids up in the (channel, external id) unique
        // index: with the workspace in the WHERE, SQLite picks the (workspace, channel) list index and
        // reads the channel's every user, an import batch slower the larger the channel. A channel
        // belongs to one workspace; the check below keeps the answer to it anyway.
        // It is read through `Dialect::rows`, so that on SQLite an import batch's lookup runs on
        // a direct connection rather than handing its 2,000 values to sqlx's connection thread.
        let mut list = Statement::new(LIST_EXTERNAL_USERS);
        list.push(" WHERE channel_id = ").push_bind(channel_id);
        list.push(" AND erased_at IS NULL");
        push_in(&mut list, "external_id", external_ids);
        let mut users: Vec<ExternalUser> = convert(self.rows::<ExternalUserRow>(list).await?)?;
        users.retain(|u| u.workspace_id == workspace_id);
        Ok(users)
    }

    fn import_batch_rows(&self) -> usize {
        <Backend as Dialect>::IMPORT_BATCH_ROWS
    }

    #[tracing::instrument(level = "debug", skip_all, fields(rows = writes.len()))]
    async fn import_external_users(
        &self,
        workspace_id: Uuid,
        writes: &[ImportWrite],
        actor: Actor,
    ) -> StoreResult<ImportBatchOutcome> {
        Dialect::import_batch(self, workspace_id, writes, actor).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn export_external_users(
        &self,
        workspace_id: Uuid,
        filter: &ExternalUserFilter,
        after: Option<(Timestamp, Uuid)>,
        limit: i64,
    ) -> StoreResult<Vec<ExternalUser>> {
        let mut list = Statement::new(LIST_EXTERNAL_USERS);
        push_user_filter(self, &mut list, workspace_id, filter);
        if let Some((at, id)) = after {
            list.push(" AND (created_at > ").push_bind(at.micros());
            list.push(" OR (created_at = ").push_bind(at.micros()).push(" AND id > ").push_bind(id).push("))");
        }
        list.push(" ORDER BY created_at, id LIMIT ").push_bind(limit);
        convert(self.rows::<ExternalUserRow>(list).await?)
    }
}

/// [`Dialect::import_batch`] through the sqlx write pool.
pub(in crate::store) async fn pooled_import(
    store: &Backend,
    workspace_id: Uuid,
    writes: &[ImportWrite],
    actor: Actor,
) -> StoreResult<ImportBatchOutcome> {
    let mut tx = store.begin_write().await?;
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
            Some(c) => *c,
            None => {
                let c = match require_user_refs(&mut tx, u).await {
                    Ok(b) => Ok(b),
                    Err(StoreError::NotFound(e)) => Err(e),
                    Err(e) => return Err(e),
                };
                refs.insert(key, c);
                c
            }
        };
        match checked {
            Ok(b) => builtin[i] = b,
            Err(e) => outcomes[i] = Err(StoreError::NotFound(e)),
        }
    }
    // Identifiers another user of the channel already has (the unique index would refuse them).
    let claimed = claimed_identifiers(writes, &outcomes);
    for (channel_id, wanted) in &claimed {
        let mut qb = QueryBuilder::<Db>::new(IDENTIFIER_HOLDERS);
        qb.push_bind(*channel_id).push(IDENTIFIER_HOLDERS_IN);
        let mut list = qb.separated(", ");
        for (_, identifier) in wanted {
            list.push_bind(identifier.clone());
        }
        list.push_unseparated(")");
        let holders: Vec<(Uuid, Option<String>)> = qb.build_query_as().fetch_all(&mut *tx).await?;
        let holders: HashMap<String, Uuid> =
            holders.into_iter().filter_map(|(id, identifier)| Some((identifier?, id))).collect();
        refuse_held(writes, wanted, &holders, &mut outcomes);
    }
    let matching: bool = sqlx::query_scalar(AUTOMATIC_MATCHING).bind(workspace_id).fetch_one(&mut *tx).await?;
    let mut joined: Vec<Uuid> = writes.iter().map(|w| w.user().super_identity_id).collect();
    // The created users' event resources, when written alongside their inserts.
    let mut resources: Vec<Option<Arc<str>>> = vec![None; writes.len()];
    let creates: Vec<usize> =
        (0..writes.len()).filter(|i| outcomes[*i].is_ok() && matches!(writes[*i], ImportWrite::Create(_))).collect();
    if matching {
        // Each new user may join the person of one created just before it: one at a time.
        for &i in &creates {
            let u = writes[i].user();
            joined[i] = match super::identities::matching_identity(&mut tx, u).await? {
                Some(found) => found,
                None => {
                    insert_super_identity(&mut tx, u).await?;
                    u.super_identity_id
                }
            };
            insert_user_row(&mut tx, u, joined[i]).await?;
        }
    } else {
        let users: Vec<&ExternalUser> = creates.iter().map(|&i| writes[i].user()).collect();
        let texts = insert_new_users(&mut tx, &users).await?;
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
            ImportWrite::Create(u) => {
                // Written with the insert, or here for a user that joined a matching identity.
                let resource: Arc<str> = resources[i].take().unwrap_or_else(|| {
                    event::external_user_text(&ExternalUser { super_identity_id: joined[i], ..u.clone() }).into()
                });
                push_created_events(&mut events, actor, resource, builtin[i]);
            }
            ImportWrite::Update { before, after: u } => {
                let done = sqlx::query(UPDATE_IMPORTED_USER)
                    .bind(&u.external_id)
                    .bind(&u.identifier)
                    .bind(&u.name)
                    .bind(u.tier_id)
                    .bind(u.external_user_group_id)
                    .bind(u.blocked)
                    .bind(&u.time_zone)
                    .bind(u.updated_at.micros())
                    .bind(u.identifier.as_deref().and_then(match_key))
                    .bind(u.id)
                    .bind(u.workspace_id)
                    .bind(before.updated_at.micros())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(ImportBatchOutcome::Stale);
                }
                events.extend(event::external_user_changes(actor, before, u).iter().map(EventText::of));
            }
        }
    }
    record_texts(&mut tx, workspace_id, events).await?;
    tx.commit().await?;
    Ok(ImportBatchOutcome::Done(outcomes))
}

/// [`Dialect::external_user_row`] through the sqlx read pool.
pub(in crate::store) async fn pooled_external_user_row(
    read: impl sqlx::Executor<'_, Database = Db>,
    workspace_id: Uuid,
    id: Uuid,
) -> StoreResult<Option<ExternalUserRow>> {
    Ok(sqlx::query_as(GET_EXTERNAL_USER).bind(id).bind(workspace_id).fetch_optional(read).await?)
}

/// [`Dialect::access_token_row`] through the sqlx read pool.
pub(in crate::store) async fn pooled_access_token_row(
    read: impl sqlx::Executor<'_, Database = Db>,
    token_hash: &[u8],
) -> StoreResult<Option<AccessTokenRow>> {
    Ok(sqlx::query_as(ACCESS_TOKEN).bind(token_hash).fetch_optional(read).await?)
}

/// Fails with `NotFound` for the first of the user's channel, tier and group that is not in its
/// workspace; else whether the channel is the workspace's built-in e-mail channel.
pub(in crate::store) async fn require_user_refs(tx: &mut Tx, u: &ExternalUser) -> StoreResult<bool> {
    Ok(user_refs(tx, u).await?.builtin)
}

/// What a create learns from checking a user's references (one statement).
#[derive(Debug, Clone, Copy)]
pub(in crate::store) struct UserRefs {
    /// The channel is the workspace's built-in e-mail channel.
    pub builtin: bool,
    /// The workspace matches new users automatically (else a create need not look for a match).
    pub auto_match: bool,
}

/// Fails with `NotFound` for the first of the user's channel, tier and group that is not in its
/// workspace; else what the create needs to know of them.
pub(in crate::store) async fn user_refs(tx: &mut Tx, u: &ExternalUser) -> StoreResult<UserRefs> {
    let flags: (bool, bool, bool, bool, bool) = sqlx::query_as(USER_REFS_EXIST)
        .bind(u.channel_id)
        .bind(u.tier_id)
        .bind(u.external_user_group_id)
        .bind(u.workspace_id)
        .fetch_one(&mut **tx)
        .await?;
    let (builtin, auto_match) = checked_refs(flags).map_err(StoreError::NotFound)?;
    Ok(UserRefs { builtin, auto_match })
}

/// `external_user.created`, and `customer.created` for a user of the built-in e-mail channel: seed
/// 004 calls exactly those users customers, whichever contract created them.
pub(in crate::store) async fn record_user_created(
    tx: &mut Tx,
    u: &ExternalUser,
    actor: Actor,
    on_builtin: bool,
) -> StoreResult<()> {
    let resource = event::external_user(u);
    let mut events = vec![NewEvent::new(EventType::ExternalUserCreated, actor, resource.clone())];
    if on_builtin {
        events.push(NewEvent::new(EventType::CustomerCreated, actor, resource));
    }
    record(tx, u.workspace_id, &events).await
}

/// [`record_user_created`]'s events for a user whose resource is already text, the one text shared.
pub(in crate::store) fn push_created_events(
    events: &mut Vec<EventText>,
    actor: Actor,
    resource: Arc<str>,
    builtin: bool,
) {
    let created = |kind, resource| EventText { kind, actor, resource, previous: None };
    if builtin {
        events.push(created(EventType::ExternalUserCreated, Arc::clone(&resource)));
        events.push(created(EventType::CustomerCreated, resource));
    } else {
        events.push(created(EventType::ExternalUserCreated, resource));
    }
}

/// New users, each in the new super identity it names, by multi-row inserts of [`INSERT_CHUNK`]
/// rows; answers each user's event resource, in order. The statements run on the database's side
/// (SQLite's own thread, PostgreSQL's server) while this side builds the next one and the JSON.
pub(in crate::store) async fn insert_new_users(tx: &mut Tx, users: &[&ExternalUser]) -> StoreResult<Vec<Arc<str>>> {
    let mut resources = Vec::with_capacity(users.len());
    for chunk in users.chunks(INSERT_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(INSERT_SUPER_IDENTITIES);
        qb.push_values(chunk, |mut row, u| {
            row.push_bind(u.super_identity_id).push_bind(u.workspace_id).push_bind(u.created_at.micros());
        });
        let (done, mut rows) = tokio::join!(qb.build().execute(&mut **tx), async { insert_users(chunk) });
        done?;
        let (done, texts) = tokio::join!(rows.build().execute(&mut **tx), async {
            chunk.iter().map(|u| Arc::<str>::from(event::external_user_text(u))).collect::<Vec<_>>()
        });
        done?;
        resources.extend(texts);
    }
    Ok(resources)
}

/// The one insert of a super identity: the new one a new external user names.
pub(in crate::store) async fn insert_super_identity(tx: &mut Tx, u: &ExternalUser) -> StoreResult<()> {
    sqlx::query(INSERT_SUPER_IDENTITY)
        .bind(u.super_identity_id)
        .bind(u.workspace_id)
        .bind(u.created_at.micros())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The one insert of an external user's row, in `super_identity_id` (the new one of
/// [`insert_super_identity`], or the one automatic matching found).
pub(in crate::store) async fn insert_user_row(
    tx: &mut Tx,
    u: &ExternalUser,
    super_identity_id: Uuid,
) -> StoreResult<()> {
    sqlx::query(INSERT_EXTERNAL_USER)
        .bind(u.id)
        .bind(u.workspace_id)
        .bind(u.channel_id)
        .bind(super_identity_id)
        .bind(&u.external_id)
        .bind(&u.identifier)
        .bind(&u.name)
        .bind(u.tier_id)
        .bind(u.external_user_group_id)
        .bind(u.blocked)
        .bind(&u.time_zone)
        .bind(u.created_at.micros())
        .bind(u.updated_at.micros())
        .bind(u.identifier.as_deref().and_then(match_key))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The multi-row insert of new users, each in the new super identity it names.
fn insert_users(users: &[&ExternalUser]) -> QueryBuilder<Db> {
    let mut qb = QueryBuilder::<Db>::new(INSERT_EXTERNAL_USERS);
    qb.push_values(users, |mut row, u| {
        row.push_bind(u.id)
            .push_bind(u.workspace_id)
            .push_bind(u.channel_id)
            .push_bind(u.super_identity_id)
            .push_bind(u.external_id.clone())
            .push_bind(u.identifier.clone())
            .push_bind(u.name.clone())
            .push_bind(u.tier_id)
            .push_bind(u.external_user_group_id)
            .push_bind(u.blocked)
            .push_bind(u.time_zone.clone())
            .push_bind(u.created_at.micros())
            .push_bind(u.updated_at.micros())
            .push_bind(u.identifier.as_deref().and_then(match_key));
    });
    qb
}

/// The counter (migration 17) that holds the list's exact total: the workspace's, or the one
/// channel's, tier's or group's when that is the only filter. Combined filters, super identities and
/// searches have no counter and are counted up to the cap (docs/decisions/list-counts.md).
fn counted_by(workspace_id: Uuid, f: &ExternalUserFilter) -> Option<(&'static str, Uuid)> {
    if f.search.is_some() || !f.super_identity_ids.is_empty() {
        return None;
    }
    match (f.channel_ids.as_slice(), f.tier_ids.as_slice(), f.external_user_group_ids.as_slice()) {
        ([], [], []) => Some(("workspace", workspace_id)),
        ([channel], [], []) => Some(("channel", *channel)),
        ([], [tier], []) => Some(("tier", *tier)),
        ([], [], [group]) => Some(("group", *group)),
        _ => None,
    }
}

fn push_user_filter(store: &Backend, qb: &mut Statement<Db>, workspace_id: Uuid, f: &ExternalUserFilter) {
    match &f.search {
        Some(term) => store.push_search(qb, workspace_id, term),
        None => {
            qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
        }
    }
    push_other_filters(qb, f);
}

/// The list's filters after the workspace and the search.
fn push_other_filters(qb: &mut Statement<Db>, f: &ExternalUserFilter) {
    push_in(qb, "channel_id", &f.channel_ids);
    push_in(qb, "group_id", &f.external_user_group_ids);
    push_in(qb, "super_identity_id", &f.super_identity_ids);
    push_in(qb, "tier_id", &f.tier_ids);
    qb.push(" AND erased_at IS NULL");
}
