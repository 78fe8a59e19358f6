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
    /// The sequence of the workspace's latest committed event (0 before its first): where a reader
    /// that wants only what happens from now on starts.
    async fn latest_event_sequence(&self, workspace_id: Uuid) -> StoreResult<i64>;

    /// Retention (docs/webhooks.md): deletes, oldest first and at most `batch` per workspace, the
    /// events that occurred before `before` and that no enabled subscription still has to queue or
    /// deliver, so every workspace keeps one gap-free run of sequences up to its newest event;
    /// answers how many went.
    async fn prune_events(&self, before: Timestamp, batch: i64) -> StoreResult<u64>;
}

/// Creates the workspace's counter or bumps it by `$2`, in one statement; takes the counter row's
/// lock until the writing transaction ends, so the next sequence is decided by exactly one
/// transaction at a time and given back if it rolls back.
pub(super) const BUMP_EVENT_COUNTER: &str = "INSERT INTO event_counters (workspace_id, n) VALUES ($1, $2) \
     ON CONFLICT (workspace_id) DO UPDATE SET n = event_counters.n + excluded.n RETURNING n";
/// Followed by one `VALUES` row per event (all of one change in one statement).
pub(super) const INSERT_EVENTS: &str =
    "INSERT INTO events (id, workspace_id, sequence, type, occurred_at, actor, resource, previous) ";
/// Every workspace that ever recorded an event.
pub(super) const EVENT_WORKSPACES: &str = "SELECT workspace_id FROM event_counters";
/// The workspace's oldest kept event and the highest sequence retention may delete up to: below the
/// first event that is still young enough (`$2`), below every enabled subscription's queue cursor
/// and below its oldest pending delivery, and never past the newest event.
pub(super) const RETENTION_RANGE: &str = "SELECT (SELECT MIN(sequence) FROM events WHERE workspace_id = $1), \
     (SELECT MIN(x) FROM ( \
        SELECT n AS x FROM event_counters WHERE workspace_id = $1 \
        UNION ALL SELECT last_sequence FROM webhooks WHERE workspace_id = $1 AND enabled \
        UNION ALL SELECT d.sequence - 1 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
            WHERE w.workspace_id = $1 AND w.enabled AND d.status = 'pending' \
        UNION ALL SELECT x FROM (SELECT sequence - 1 AS x FROM events WHERE workspace_id = $1 AND occurred_at >= $2 \
            ORDER BY sequence LIMIT 1) AS young \
     ) AS bounds)";
/// Deletes the workspace's events up to sequence `$2` (their deliveries and attempts go with them).
pub(super) const DELETE_OLD_EVENTS: &str = "DELETE FROM events WHERE workspace_id = $1 AND sequence <= $2";
/// The newest sequence the workspace's counter handed out.
pub(super) const LATEST_EVENT_SEQUENCE: &str = "SELECT n FROM event_counters WHERE workspace_id = $1";
/// Events per multi-row insert (8 values each: 16,000 binds, under both backends' limits): an
/// import's batch records its events in one or two statements.
pub(super) const EVENTS_PER_INSERT: usize = 2_000;
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
