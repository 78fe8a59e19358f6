//! Runs the outbox's SQL on the backend `Db`: [`record`] is the one way an event is written.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::{Backend, Db, Dialect, Tx};
use crate::domain::{Event, NewEvent, Timestamp};
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
    if events.is_empty() {
        return Ok(());
    }
    let last: i64 = sqlx::query_scalar(BUMP_EVENT_COUNTER)
        .bind(workspace_id)
        .bind(events.len() as i64)
        .fetch_one(&mut **tx)
        .await?;
    let first = last - events.len() as i64 + 1;
    let now = Timestamp::now();
    // One multi-row insert per chunk: a batch of writes (an import) records hundreds at once.
    for (c, chunk) in events.chunks(EVENTS_PER_INSERT).enumerate() {
        let mut qb = QueryBuilder::<Db>::new(INSERT_EVENTS);
        qb.push_values(chunk.iter().enumerate(), |mut row, (n, e)| {
            // Time-ordered (v7), so each new id lands at the end of the id index instead of on a
            // random page of it: an import's thousands of events dirty a few pages per commit, not
            // one each. The id says nothing `occurredAt` does not already.
            row.push_bind(Uuid::now_v7())
                .push_bind(workspace_id)
                .push_bind(first + (c * EVENTS_PER_INSERT + n) as i64)
                .push_bind(e.kind.as_str())
                .push_bind(now.micros())
                .push_bind(e.actor.to_json().to_string())
                .push_bind(e.resource.to_string())
                .push_bind(e.previous.as_ref().map(|p| p.to_string()));
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}
