//! Runs the outbox's SQL on the backend `Db`: [`record`] is the one way an event is written.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Backend, Db, Dialect, Tx};
use crate::domain::{Actor, Event, EventType, NewEvent, Timestamp};
use crate::store::StoreResult;
use crate::store::events::*;
use crate::store::support::convert;

#[async_trait]
impl EventStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_events(
        &self,
        workspace_id: Uuid,
        after: i64,
        types: &[String],
        limit: i64,
    ) -> StoreResult<Vec<Event>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = "));
        qb.push_bind(workspace_id).push(" AND sequence > ").push_bind(after);
        if !types.is_empty() {
            qb.push(" AND type IN (");
            let mut list = qb.separated(", ");
            for t in types {
                list.push_bind(t.clone());
            }
            list.push_unseparated(")");
        }
        qb.push(" ORDER BY sequence LIMIT ").push_bind(limit);
        let rows: Vec<EventRow> = qb.build_query_as().fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn prune_events(&self, before: Timestamp, batch: i64) -> StoreResult<u64> {
        let workspaces: Vec<Uuid> = sqlx::query_scalar(EVENT_WORKSPACES).fetch_all(&self.read).await?;
        let mut deleted = 0;
        for workspace_id in workspaces {
            let mut tx = self.begin_write().await?;
            let (oldest, bound): (Option<i64>, Option<i64>) =
                sqlx::query_as(RETENTION_RANGE).bind(workspace_id).bind(before.micros()).fetch_one(&mut *tx).await?;
            let (Some(oldest), Some(bound)) = (oldest, bound) else { continue };
            let upto = bound.min(oldest + batch - 1);
            if upto < oldest {
                continue;
            }
            let done = sqlx::query(DELETE_OLD_EVENTS).bind(workspace_id).bind(upto).execute(&mut *tx).await?;
            tx.commit().await?;
            deleted += done.rows_affected();
        }
        Ok(deleted)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn latest_event_sequence(&self, workspace_id: Uuid) -> StoreResult<i64> {
        let n: Option<i64> =
            sqlx::query_scalar(LATEST_EVENT_SEQUENCE).bind(workspace_id).fetch_optional(&self.read).await?;
        Ok(n.unwrap_or(0))
    }
}

/// Records `events` in the writing transaction `tx`, numbered on from the workspace's last sequence.
/// Called by every store method that changes data, as its last statement before the commit, so the
/// counter row's lock is held as briefly as possible and a rolled-back change leaves no event.
pub(in crate::store) async fn record(tx: &mut Tx, workspace_id: Uuid, events: &[NewEvent]) -> StoreResult<()> {
    record_texts(tx, workspace_id, events.iter().map(EventText::of).collect()).await
}

/// An event with its resource already JSON text: what [`record`] makes of a [`NewEvent`], and what a
/// batch of writes builds itself, writing the text straight from the record and sharing one text
/// between the events of one record (an import's `external_user.created` and `customer.created`).
pub(in crate::store) struct EventText {
    pub kind: EventType,
    pub actor: Actor,
    pub resource: Arc<str>,
    pub previous: Option<String>,
}

impl EventText {
    pub fn of(e: &NewEvent) -> Self {
        Self {
            kind: e.kind,
            actor: e.actor,
            resource: Arc::from(e.resource.to_string()),
            previous: e.previous.as_ref().map(Value::to_string),
        }
    }
}

/// [`record`] of events whose resources are already text.
pub(in crate::store) async fn record_texts(tx: &mut Tx, workspace_id: Uuid, events: Vec<EventText>) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let last: i64 = sqlx::query_scalar(BUMP_EVENT_COUNTER)
        .bind(workspace_id)
        .bind(events.len() as i64)
        .fetch_one(&mut **tx)
        .await?;
    let mut sequence = last - events.len() as i64;
    let now = Timestamp::now();
    // A batch's events mostly share one actor: its JSON is written once per run of them.
    let mut actor: Option<(Actor, Arc<str>)> = None;
    let mut events = events.into_iter().peekable();
    // One multi-row insert per chunk: a batch of writes (an import) records thousands at once.
    while events.peek().is_some() {
        let mut qb = QueryBuilder::<Db>::new(INSERT_EVENTS);
        qb.push_values(events.by_ref().take(EVENTS_PER_INSERT), |mut row, e| {
            sequence += 1;
            let actor_json = match &actor {
                Some((a, json)) if *a == e.actor => Arc::clone(json),
                _ => {
                    let json: Arc<str> = Arc::from(e.actor.to_json().to_string());
                    actor = Some((e.actor, Arc::clone(&json)));
                    json
                }
            };
            // Time-ordered (v7), so each new id lands at the end of the id index instead of on a
            // random page of it: an import's thousands of events dirty a few pages per commit, not
            // one each. The id says nothing `occurredAt` does not already.
            row.push_bind(Uuid::now_v7())
                .push_bind(workspace_id)
                .push_bind(sequence)
                .push_bind(e.kind.as_str())
                .push_bind(now.micros())
                .push_bind(actor_json)
                .push_bind(e.resource)
                .push_bind(e.previous);
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}
