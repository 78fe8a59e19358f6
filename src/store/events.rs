//! The transactional outbox: events written inside each change's own transaction, and read in order.

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use crate::domain::{Event, Timestamp};

#[async_trait]
pub trait EventStore: Send + Sync {
    /// Up to `limit` of the workspace's events after `after` (a sequence), oldest first, only of
    /// `types` when it is not empty.
    async fn list_events(
        &self,
        workspace_id: Uuid,
        after: i64,
        types: &[String],
        limit: i64,
    ) -> StoreResult<Vec<Event>>;
}

pub(super) const START_EVENT_COUNTER: &str =
    "INSERT INTO event_counters (workspace_id, n) VALUES ($1, 0) ON CONFLICT (workspace_id) DO NOTHING";
/// Takes the counter row's lock until the writing transaction ends, so the next sequence is decided
/// by exactly one transaction at a time and given back if it rolls back.
pub(super) const BUMP_EVENT_COUNTER: &str = "UPDATE event_counters SET n = n + $2 WHERE workspace_id = $1 RETURNING n";
/// The insert of events, followed by one `VALUES` list per event.
pub(super) const INSERT_EVENTS: &str =
    "INSERT INTO events (id, workspace_id, sequence, type, occurred_at, actor, resource, previous) ";
/// Events per multi-row insert (8 values each).
pub(super) const EVENTS_PER_INSERT: usize = 500;
pub(super) const EVENT_COLUMNS: &str = "id, workspace_id, sequence, type, occurred_at, actor, resource, previous";

#[derive(FromRow)]
pub(super) struct EventRow {
    id: Uuid,
    workspace_id: Uuid,
    sequence: i64,
    #[sqlx(rename = "type")]
    kind: String,
    occurred_at: i64,
    actor: String,
    resource: String,
    previous: Option<String>,
}

fn json(text: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Other(format!("unexpected event JSON in database: {e}")))
}

impl EventRow {
    pub(super) fn sequence(&self) -> i64 {
        self.sequence
    }
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(Event {
            id: r.id,
            workspace_id: r.workspace_id,
            sequence: r.sequence,
            kind: r.kind,
            occurred_at: Timestamp::from_micros(r.occurred_at),
            actor: json(&r.actor)?,
            resource: json(&r.resource)?,
            previous: r.previous.as_deref().map(json).transpose()?,
        })
    }
}
