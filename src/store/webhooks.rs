//! Webhook subscriptions, their delivery queue and its log (docs/webhooks.md).

use async_trait::async_trait;
use sqlx::FromRow;
use uuid::Uuid;

use super::{StoreError, StoreResult};
use crate::domain::webhook::{DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery, WebhookSecret, WebhookUrl};
use crate::domain::{Actor, Event, EventType, Timestamp};

/// A delivery a node has claimed: what it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery_id: Uuid,
    pub webhook: Webhook,
    pub event: Event,
    /// Attempts made since it was queued, before this one.
    pub tries: i64,
}

/// How an attempt ends a claim.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Try again at this time.
    Retry(Timestamp),
    /// No more tries; the subscription is disabled when this makes `disable_after` final failures
    /// in a row.
    Failed {
        disable_after: i64,
    },
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new subscription; it receives the events recorded after this one's own
    /// `webhook.created`.
    async fn insert_webhook(&self, webhook: &Webhook, actor: Actor) -> StoreResult<()>;
    async fn list_webhooks(&self, workspace_id: Uuid) -> StoreResult<Vec<Webhook>>;
    async fn get_webhook(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Webhook>;
    /// Writes every changeable field of `webhook`; records `webhook.updated` when one changed.
    async fn update_webhook(&self, webhook: &Webhook, actor: Actor) -> StoreResult<Webhook>;
    async fn delete_webhook(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()>;
    /// The subscription's latest `limit` deliveries, newest event first, each with its attempts.
    async fn list_deliveries(
        &self,
        workspace_id: Uuid,
        webhook_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// Queues a delivery again, due now, with a fresh count of tries.
    async fn redeliver(
        &self,
        workspace_id: Uuid,
        webhook_id: Uuid,
        delivery_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<WebhookDelivery>;

    /// Turns up to `per_webhook` new events of each enabled subscription into pending deliveries;
    /// answers how many were queued. Safe on many nodes at once: each subscription's cursor moves
    /// by a conditional update, so an event is queued once.
    async fn enqueue_deliveries(&self, now: Timestamp, per_webhook: i64) -> StoreResult<u64>;
    /// Claims up to `limit` due deliveries for `node` until `lease_until`: per subscription only
    /// the pending delivery with the lowest sequence, so a subscription's events go one at a time
    /// and in order. A claim whose lease expired (its node died) is free to take again.
    async fn claim_deliveries(
        &self,
        node: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Logs `attempt` and ends `node`'s claim with `outcome`; nothing changes but the log when the
    /// claim was lost to another node meanwhile.
    async fn finish_delivery(
        &self,
        node: &str,
        delivery_id: Uuid,
        attempt: &DeliveryAttempt,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()>;
}

pub(super) const WEBHOOK_COLUMNS: &str = "id, workspace_id, url, types, secret, previous_secret, \
     previous_secret_until, secret_rotated_at, enabled, disabled_reason, consecutive_failures, created_at, updated_at";
pub(super) const INSERT_WEBHOOK: &str = "INSERT INTO webhooks (id, workspace_id, url, types, secret, \
     previous_secret, previous_secret_until, secret_rotated_at, enabled, disabled_reason, consecutive_failures, \
     last_sequence, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";
pub(super) const UPDATE_WEBHOOK: &str = "UPDATE webhooks SET url = $1, types = $2, secret = $3, previous_secret = $4, \
     previous_secret_until = $5, secret_rotated_at = $6, enabled = $7, disabled_reason = $8, \
     consecutive_failures = $9, updated_at = $10 WHERE id = $11 AND workspace_id = $12";
pub(super) const DELETE_WEBHOOK: &str = "DELETE FROM webhooks WHERE id = $1 AND workspace_id = $2";
pub(super) const ENABLED_WEBHOOK_CURSORS: &str =
    "SELECT id, workspace_id, types, last_sequence FROM webhooks WHERE enabled ORDER BY id";
pub(super) const MOVE_WEBHOOK_CURSOR: &str =
    "UPDATE webhooks SET last_sequence = $1 WHERE id = $2 AND last_sequence = $3 AND enabled";
pub(super) const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, webhook_id, event_id, sequence, \
     status, tries, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5) \
     ON CONFLICT (webhook_id, event_id) DO NOTHING";
pub(super) const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.event_id, e.type AS event_type, d.sequence, \
     d.status, d.tries, d.next_attempt_at, d.created_at, d.updated_at";
/// The head of each enabled subscription's queue, when it is due and not claimed by a live node.
/// Read from the subscriptions down (one index probe each into the queue's `(webhook_id, status,
/// sequence)` index), so the cost follows the number of subscriptions, not of deliveries ever made:
/// starting from the deliveries made every claim read the whole delivery log under the write lock.
pub(super) const DUE_DELIVERIES: &str = "SELECT d.id FROM webhooks w JOIN webhook_deliveries d \
     ON d.id = (SELECT p.id FROM webhook_deliveries p WHERE p.webhook_id = w.id AND p.status = 'pending' \
                ORDER BY p.sequence LIMIT 1) \
     WHERE w.enabled AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until < $1) \
     ORDER BY d.next_attempt_at LIMIT $2";
pub(super) const CLAIM_DELIVERY: &str = "UPDATE webhook_deliveries SET claimed_by = $1, lease_until = $2 \
     WHERE id = $3 AND status = 'pending' AND (lease_until IS NULL OR lease_until < $4)";
pub(super) const CLAIMED_DELIVERY: &str =
    "SELECT d.webhook_id, d.event_id, d.tries FROM webhook_deliveries d WHERE d.id = $1";
pub(super) const INSERT_ATTEMPT: &str = "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, \
     latency_ms, response_excerpt, error) VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const DELIVERY_CLAIMED_BY: &str =
    "SELECT webhook_id FROM webhook_deliveries WHERE id = $1 AND claimed_by = $2 AND status = 'pending'";
pub(super) const END_DELIVERY: &str = "UPDATE webhook_deliveries SET status = $1, tries = tries + 1, \
     next_attempt_at = $2, claimed_by = NULL, lease_until = NULL, updated_at = $3 WHERE id = $4";
/// Writes the subscription only when it had failures: a healthy one is not rewritten per delivery.
pub(super) const RESET_FAILURES: &str =
    "UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0";
pub(super) const COUNT_FAILURE: &str =
    "UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = $1 RETURNING consecutive_failures";
pub(super) const DISABLE_WEBHOOK: &str =
    "UPDATE webhooks SET enabled = FALSE, disabled_reason = $1, updated_at = $2 WHERE id = $3";
pub(super) const REQUEUE_DELIVERY: &str = "UPDATE webhook_deliveries SET status = 'pending', tries = 0, \
     next_attempt_at = $1, claimed_by = NULL, lease_until = NULL, updated_at = $1 WHERE id = $2 AND webhook_id = $3";
pub(super) const ATTEMPT_COLUMNS: &str = "delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error";

#[derive(FromRow)]
pub(super) struct WebhookRow {
    id: Uuid,
    workspace_id: Uuid,
    url: String,
    types: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    secret_rotated_at: Option<i64>,
    enabled: bool,
    disabled_reason: Option<String>,
    consecutive_failures: i64,
    created_at: i64,
    updated_at: i64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Other(format!("unexpected webhook {what} in database"))
}

/// Reads the stored JSON array of event type names.
pub(super) fn parse_stored_types(text: &str) -> StoreResult<Vec<EventType>> {
    let names: Vec<String> = serde_json::from_str(text).map_err(|_| corrupt("types"))?;
    names.iter().map(|n| EventType::parse(n).ok_or_else(|| corrupt("type"))).collect()
}

pub(super) fn stored_types(types: &[EventType]) -> String {
    serde_json::to_string(&types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;
    fn try_from(r: WebhookRow) -> Result<Self, StoreError> {
        let secret = |s: &str| WebhookSecret::from_stored(s).ok_or_else(|| corrupt("secret"));
        Ok(Webhook {
            id: r.id,
            workspace_id: r.workspace_id,
            url: WebhookUrl::parse(&r.url).map_err(|_| corrupt("URL"))?,
            types: parse_stored_types(&r.types)?,
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            secret: secret(&r.secret)?,
            previous_secret: r.previous_secret.as_deref().map(secret).transpose()?,
            previous_secret_until: r.previous_secret_until.map(Timestamp::from_micros),
            secret_rotated_at: r.secret_rotated_at.map(Timestamp::from_micros),
            consecutive_failures: r.consecutive_failures,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct DeliveryRow {
    id: Uuid,
    webhook_id: Uuid,
    event_id: Uuid,
    event_type: String,
    sequence: i64,
    status: String,
    tries: i64,
    next_attempt_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<DeliveryRow> for WebhookDelivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        let status = DeliveryStatus::parse(&r.status).ok_or_else(|| corrupt("delivery status"))?;
        Ok(WebhookDelivery {
            id: r.id,
            webhook_id: r.webhook_id,
            event_id: r.event_id,
            event_type: r.event_type,
            sequence: r.sequence,
            status,
            tries: r.tries,
            next_attempt_at: (status == DeliveryStatus::Pending).then(|| Timestamp::from_micros(r.next_attempt_at)),
            attempts: Vec::new(),
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
        })
    }
}

#[derive(FromRow)]
pub(super) struct AttemptRow {
    pub(super) delivery_id: Uuid,
    attempted_at: i64,
    status_code: Option<i64>,
    latency_ms: i64,
    response_excerpt: Option<String>,
    error: Option<String>,
}

impl From<AttemptRow> for DeliveryAttempt {
    fn from(r: AttemptRow) -> Self {
        DeliveryAttempt {
            attempted_at: Timestamp::from_micros(r.attempted_at),
            status_code: r.status_code.and_then(|c| u16::try_from(c).ok()),
            latency_ms: r.latency_ms,
            response_excerpt: r.response_excerpt,
            error: r.error,
        }
    }
}
