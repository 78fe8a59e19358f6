//! Group commit (`group_commit.rs`) for external-user creates, the hot write path of both backends.
//!
//! A batch's users go in as one multi-row insert of super identities, one of users and one of
//! events, the way an import writes them: the cost of a statement (SQLite's full-text index flushes
//! a segment at the end of each one; PostgreSQL pays a round trip and the workspace's event-counter
//! lock) and of the commit is shared instead of paid per user.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use sqlx::Pool;
use uuid::Uuid;

use super::events::{EventText, record_texts};
use super::external_users::{
    UserRefs, insert_new_users, insert_super_identity, insert_user_row, push_created_events, user_refs,
};
use super::identities::matching_identity;
use super::{Backend, Db, Dialect, Tx};
use crate::domain::{Actor, ExternalUser, event};
use crate::store::group_commit::{Batches, Commit, retried};
use crate::store::{StoreError, StoreResult};

/// The queue to a store's one writer of external-user creates.
pub(in crate::store) type UserBatches = Batches<UserInsert, Uuid>;

/// A create waiting for its batch.
pub(in crate::store) struct UserInsert {
    pub user: ExternalUser,
    pub actor: Actor,
}

impl Commit<UserInsert> for Pool<Db> {
    type Done = Uuid;

    fn commit(&self, batch: &[UserInsert]) -> impl Future<Output = Vec<StoreResult<Uuid>>> + Send {
        commit_batch(self, batch)
    }
}

/// Runs the batch in one transaction; the outcome of each create, in order.
async fn commit_batch(write: &Pool<Db>, batch: &[UserInsert]) -> Vec<StoreResult<Uuid>> {
    retried(batch.len(), || try_batch(write, batch)).await
}

async fn try_batch(write: &Pool<Db>, batch: &[UserInsert]) -> StoreResult<Vec<StoreResult<Uuid>>> {
    let mut tx = write.begin_with(Backend::BEGIN_WRITE).await?;
    let outcomes = write_batch(&mut tx, batch).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The references a user's check is about: workspace, channel, tier and group.
pub(in crate::store) type RefsKey = (Uuid, Uuid, Option<Uuid>, Option<Uuid>);

/// The batch's writes in `tx`: each create's own outcome, or an error that ended the transaction.
/// The events go last, in one statement per workspace, so the workspace's event counter is held
/// only from there to the commit.
async fn write_batch(tx: &mut Tx, batch: &[UserInsert]) -> StoreResult<Vec<StoreResult<Uuid>>> {
    let mut outcomes: Vec<StoreResult<Uuid>> = Vec::with_capacity(batch.len());
    // Creates of one batch mostly name the same channel, tier and group: each is checked once, and
    // what the check found holds for the others in the transaction.
    let mut checked: HashMap<RefsKey, StoreResult<UserRefs>> = HashMap::new();
    let mut refs = Vec::with_capacity(batch.len());
    for insert in batch {
        let u = &insert.user;
        let key = (u.workspace_id, u.channel_id, u.tier_id, u.external_user_group_id);
        if let Entry::Vacant(slot) = checked.entry(key) {
            slot.insert(match user_refs(tx, u).await {
                Err(e @ StoreError::NotFound(_)) => Err(e),
                Err(e) => return Err(e),
                found => found,
            });
        }
        let found = &checked[&key];
        outcomes.push(found.as_ref().map(|_| u.super_identity_id).map_err(StoreError::same_kind));
        refs.push(found.as_ref().ok().copied());
    }
    let (together, mut one_by_one) = plan(batch, &refs);
    let mut resources: Vec<Option<Arc<str>>> = vec![None; batch.len()];
    let written_together = together.len() > 1 && insert_together(tx, batch, &together, &mut resources).await?;
    if !written_together {
        one_by_one.extend(together);
    }
    for i in one_by_one {
        let (insert, refs) = (&batch[i], refs[i].expect("only users whose references were found"));
        // A create alone in its batch needs no savepoint: its failure is the batch's.
        let written = if batch.len() == 1 {
            Ok(write_one(tx, &insert.user, refs).await?)
        } else {
            insert_one(tx, &insert.user, refs).await
        };
        match written {
            Ok((joined, resource)) => {
                outcomes[i] = Ok(joined);
                resources[i] = Some(resource);
            }
            Err(e @ (StoreError::Duplicate(_) | StoreError::NotFound(_))) => outcomes[i] = Err(e),
            Err(e) => return Err(e),
        }
    }
    for (workspace_id, events) in batch_events(batch, &refs, resources) {
        record_texts(tx, workspace_id, events).await?;
    }
    Ok(outcomes)
}

/// Which of the batch's creates (those whose references were found) go in together, by one
/// multi-row insert, and which one at a time, each after the one before: users that may join
/// another's person, and a create that repeats an identifier or external id of an earlier one in the
/// batch (it fails on its own then, rather than making the whole batch fall back).
///
/// In one order on every node, so that two nodes' batches take the same unique index entries in the
/// same order and wait for each other rather than deadlock (almost always; see `group_commit::retried`).
/// Identifiers compare in any case, as their unique index does.
pub(in crate::store) fn plan(batch: &[UserInsert], refs: &[Option<UserRefs>]) -> (Vec<usize>, Vec<usize>) {
    let lowered: Vec<Option<String>> =
        batch.iter().map(|b| b.user.identifier.as_deref().map(str::to_lowercase)).collect();
    let mut order: Vec<usize> = (0..batch.len()).filter(|&i| refs[i].is_some()).collect();
    order.sort_by_key(|&i| (batch[i].user.channel_id, lowered[i].as_deref()));
    let mut keys = HashSet::new();
    order.into_iter().partition(|&i| {
        let u = &batch[i].user;
        let identifier = lowered[i].as_deref().map(|id| (u.channel_id, 'i', id));
        let external_id = u.external_id.as_deref().map(|id| (u.channel_id, 'e', id));
        let first = [identifier, external_id].into_iter().flatten().all(|key| keys.insert(key));
        first && refs[i].is_some_and(|r| !r.auto_match)
    })
}

/// The events of the batch's written creates (those with a `resource`), by workspace, in the
/// batch's order: events are numbered per workspace.
pub(in crate::store) fn batch_events(
    batch: &[UserInsert],
    refs: &[Option<UserRefs>],
    resources: Vec<Option<Arc<str>>>,
) -> HashMap<Uuid, Vec<EventText>> {
    let mut events: HashMap<Uuid, Vec<EventText>> = HashMap::new();
    for (i, resource) in resources.into_iter().enumerate() {
        if let Some(resource) = resource {
            let (insert, builtin) = (&batch[i], refs[i].is_some_and(|r| r.builtin));
            let list = events.entry(insert.user.workspace_id).or_default();
            push_created_events(list, insert.actor, resource, builtin);
        }
    }
    events
}

/// The users `together` in one multi-row insert each of super identities and users, under a
/// savepoint: when any of them breaks a unique rule (an identifier or external id another user of
/// the channel holds, or two of the batch share), nothing of it stays and the answer is `false`, so
/// each is written on its own and only the offending ones fail.
async fn insert_together(
    tx: &mut Tx,
    batch: &[UserInsert],
    together: &[usize],
    resources: &mut [Option<Arc<str>>],
) -> StoreResult<bool> {
    sqlx::query("SAVEPOINT user_batch").execute(&mut **tx).await?;
    let users: Vec<&ExternalUser> = together.iter().map(|&i| &batch[i].user).collect();
    let written = match insert_new_users(tx, &users).await {
        Ok(texts) => {
            for (&i, text) in together.iter().zip(texts) {
                resources[i] = Some(text);
            }
            true
        }
        Err(StoreError::Duplicate(_)) => {
            sqlx::query("ROLLBACK TO SAVEPOINT user_batch").execute(&mut **tx).await?;
            false
        }
        // Anything else ends the whole batch (and a rolled-back one runs again).
        Err(e) => return Err(e),
    };
    sqlx::query("RELEASE SAVEPOINT user_batch").execute(&mut **tx).await?;
    Ok(written)
}

/// One create on its own, under a savepoint: a duplicate undoes only this create, and the
/// transaction goes on for the others (PostgreSQL would otherwise refuse every later statement).
/// Answers the super identity the user is in and its event resource.
async fn insert_one(tx: &mut Tx, u: &ExternalUser, refs: UserRefs) -> StoreResult<(Uuid, Arc<str>)> {
    sqlx::query("SAVEPOINT user_create").execute(&mut **tx).await?;
    let written = write_one(tx, u, refs).await;
    if let Err(StoreError::Duplicate(_) | StoreError::NotFound(_)) = &written {
        sqlx::query("ROLLBACK TO SAVEPOINT user_create").execute(&mut **tx).await?;
    } else if written.is_err() {
        return written;
    }
    sqlx::query("RELEASE SAVEPOINT user_create").execute(&mut **tx).await?;
    written
}

async fn write_one(tx: &mut Tx, u: &ExternalUser, refs: UserRefs) -> StoreResult<(Uuid, Arc<str>)> {
    let matched = if refs.auto_match { matching_identity(tx, u).await? } else { None };
    let joined = match matched {
        Some(found) => found,
        None => {
            insert_super_identity(tx, u).await?;
            u.super_identity_id
        }
    };
    insert_user_row(tx, u, joined).await?;
    let shown = ExternalUser { super_identity_id: joined, ..u.clone() };
    Ok((joined, event::external_user_text(&shown).into()))
}
