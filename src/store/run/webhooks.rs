//! Runs the webhooks area's SQL on the backend `Db`.

use async_trait::async_trait;
use sqlx::QueryBuilder;
use uuid::Uuid;

use super::events::record;
use super::{Backend, Db, Dialect, Tx, found_one, locked, push_in};
use crate::domain::webhook::{DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery, webhook_json};
use crate::domain::{Actor, Event, EventType, NewEvent, Timestamp};
use crate::store::events::{EVENT_COLUMNS, EventRow, LATEST_EVENT_SEQUENCE};
use crate::store::support::convert;
use crate::store::webhooks::*;
use crate::store::{Entity, StoreError, StoreResult};

fn get_sql() -> String {
    format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND workspace_id = $2")
}

async fn write_webhook(tx: &mut Tx, w: &Webhook) -> StoreResult<()> {
    let done = sqlx::query(UPDATE_WEBHOOK)
        .bind(w.url.as_str())
        .bind(stored_types(&w.types))
        .bind(w.secret.expose())
        .bind(w.previous_secret.as_ref().map(|s| s.expose().to_owned()))
        .bind(w.previous_secret_until.map(Timestamp::micros))
        .bind(w.secret_rotated_at.map(Timestamp::micros))
        .bind(w.enabled)
        .bind(w.disabled_reason.as_deref())
        .bind(w.consecutive_failures)
        .bind(w.updated_at.micros())
        .bind(w.id)
        .bind(w.workspace_id)
        .execute(&mut **tx)
        .await?;
    found_one(done.rows_affected(), Entity::Webhook)
}

async fn event_by_id(tx: &mut Tx, id: Uuid) -> StoreResult<Event> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
    let row: EventRow = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut **tx).await?;
    row.try_into()
}

async fn delivery(tx: &mut Tx, webhook_id: Uuid, id: Uuid) -> StoreResult<WebhookDelivery> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id \
         WHERE d.id = $1 AND d.webhook_id = $2"
    );
    let row: Option<DeliveryRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(webhook_id).fetch_optional(&mut **tx).await?;
    row.ok_or(StoreError::NotFound(Entity::WebhookDelivery))?.try_into()
}

#[async_trait]
impl WebhookStore for Backend {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn insert_webhook(&self, w: &Webhook, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let last: Option<i64> =
            sqlx::query_scalar(LATEST_EVENT_SEQUENCE).bind(w.workspace_id).fetch_optional(&mut *tx).await?;
        // The cursor starts at the last event so far, and `webhook.created` below is numbered after
        // it: a new subscription's first delivery is its own creation, a ready-made test ping.
        sqlx::query(INSERT_WEBHOOK)
            .bind(w.id)
            .bind(w.workspace_id)
            .bind(w.url.as_str())
            .bind(stored_types(&w.types))
            .bind(w.secret.expose())
            .bind(w.previous_secret.as_ref().map(|s| s.expose().to_owned()))
            .bind(w.previous_secret_until.map(Timestamp::micros))
            .bind(w.secret_rotated_at.map(Timestamp::micros))
            .bind(w.enabled)
            .bind(w.disabled_reason.as_deref())
            .bind(w.consecutive_failures)
            .bind(last.unwrap_or(0))
            .bind(w.created_at.micros())
            .bind(w.updated_at.micros())
            .execute(&mut *tx)
            .await?;
        record(&mut tx, w.workspace_id, &[NewEvent::new(EventType::WebhookCreated, actor, webhook_json(w))]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_webhooks(&self, workspace_id: Uuid) -> StoreResult<Vec<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE workspace_id = $1 ORDER BY created_at, id");
        let rows: Vec<WebhookRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(workspace_id).fetch_all(&self.read).await?;
        convert(rows)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_webhook(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Webhook> {
        let row: Option<WebhookRow> = sqlx::query_as(sqlx::AssertSqlSafe(get_sql()))
            .bind(id)
            .bind(workspace_id)
            .fetch_optional(&self.read)
            .await?;
        row.ok_or(StoreError::NotFound(Entity::Webhook))?.try_into()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_webhook(&self, w: &Webhook, actor: Actor) -> StoreResult<Webhook> {
        let mut tx = self.begin_write().await?;
        let before: Webhook =
            locked::<WebhookRow, _>(&mut tx, &get_sql(), w.workspace_id, w.id, Entity::Webhook).await?;
        let changed = NewEvent::updated(EventType::WebhookUpdated, actor, &webhook_json(&before), webhook_json(w));
        if changed.is_none() && before.secret == w.secret {
            return Ok(before);
        }
        write_webhook(&mut tx, w).await?;
        record(&mut tx, w.workspace_id, changed.as_slice()).await?;
        tx.commit().await?;
        Ok(w.clone())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_webhook(&self, workspace_id: Uuid, id: Uuid, actor: Actor) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let gone: Webhook = locked::<WebhookRow, _>(&mut tx, &get_sql(), workspace_id, id, Entity::Webhook).await?;
        sqlx::query(DELETE_WEBHOOK).bind(id).bind(workspace_id).execute(&mut *tx).await?;
        record(&mut tx, workspace_id, &[NewEvent::new(EventType::WebhookDeleted, actor, webhook_json(&gone))]).await?;
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn list_deliveries(
        &self,
        workspace_id: Uuid,
        webhook_id: Uuid,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.get_webhook(workspace_id, webhook_id).await?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id \
             WHERE d.webhook_id = $1 ORDER BY d.sequence DESC LIMIT $2"
        );
        let rows: Vec<DeliveryRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(webhook_id).bind(limit).fetch_all(&self.read).await?;
        let mut deliveries: Vec<WebhookDelivery> = convert(rows)?;
        let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
        if ids.is_empty() {
            return Ok(deliveries);
        }
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE 1 = 1"));
        push_in(&mut qb, "delivery_id", &ids);
        qb.push(" ORDER BY attempted_at, id");
        let attempts: Vec<AttemptRow> = qb.build_query_as().fetch_all(&self.read).await?;
        for a in attempts {
            if let Some(d) = deliveries.iter_mut().find(|d| d.id == a.delivery_id) {
                d.attempts.push(a.into());
            }
        }
        Ok(deliveries)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn redeliver(
        &self,
        workspace_id: Uuid,
        webhook_id: Uuid,
        delivery_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<WebhookDelivery> {
        let mut tx = self.begin_write().await?;
        locked::<WebhookRow, Webhook>(&mut tx, &get_sql(), workspace_id, webhook_id, Entity::Webhook).await?;
        let done = sqlx::query(REQUEUE_DELIVERY)
            .bind(now.micros())
            .bind(delivery_id)
            .bind(webhook_id)
            .execute(&mut *tx)
            .await?;
        found_one(done.rows_affected(), Entity::WebhookDelivery)?;
        let queued = delivery(&mut tx, webhook_id, delivery_id).await?;
        tx.commit().await?;
        Ok(queued)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn enqueue_deliveries(&self, now: Timestamp, per_webhook: i64) -> StoreResult<u64> {
        let cursors: Vec<(Uuid, Uuid, String, i64)> =
            sqlx::query_as(ENABLED_WEBHOOK_CURSORS).fetch_all(&self.read).await?;
        let mut queued = 0;
        for (webhook_id, workspace_id, types, last) in cursors {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE workspace_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3"
            );
            let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(workspace_id)
                .bind(last)
                .bind(per_webhook)
                .fetch_all(&self.read)
                .await?;
            let Some(newest) = rows.last().map(|r| r.sequence()) else { continue };
            let types = parse_stored_types(&types)?;
            let events: Vec<Event> = convert(rows)?;
            let mut tx = self.begin_write().await?;
            let moved =
                sqlx::query(MOVE_WEBHOOK_CURSOR).bind(newest).bind(webhook_id).bind(last).execute(&mut *tx).await?;
            if moved.rows_affected() == 0 {
                // Another node queued these, or the subscription changed meanwhile.
                continue;
            }
            for e in events.iter().filter(|e| types.is_empty() || types.iter().any(|t| t.as_str() == e.kind)) {
                let done = sqlx::query(INSERT_DELIVERY)
                    .bind(Uuid::new_v4())
                    .bind(webhook_id)
                    .bind(e.id)
                    .bind(e.sequence)
                    .bind(now.micros())
                    .execute(&mut *tx)
                    .await?;
                queued += done.rows_affected();
            }
            tx.commit().await?;
        }
        Ok(queued)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim_deliveries(
        &self,
        node: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let mut tx = self.begin_write().await?;
        // PostgreSQL skips the rows another node is claiming right now instead of waiting for it;
        // the conditional update below is what makes a claim exclusive on both backends.
        let sql = format!("{DUE_DELIVERIES}{}", Backend::SKIP_LOCKED);
        let due: Vec<Uuid> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(now.micros()).bind(limit).fetch_all(&mut *tx).await?;
        let mut claimed = Vec::new();
        for id in due {
            let done = sqlx::query(CLAIM_DELIVERY)
                .bind(node)
                .bind(lease_until.micros())
                .bind(id)
                .bind(now.micros())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            let (webhook_id, event_id, tries): (Uuid, Uuid, i64) =
                sqlx::query_as(CLAIMED_DELIVERY).bind(id).fetch_one(&mut *tx).await?;
            let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
            let row: WebhookRow = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(webhook_id).fetch_one(&mut *tx).await?;
            let event = event_by_id(&mut tx, event_id).await?;
            claimed.push(ClaimedDelivery { delivery_id: id, webhook: row.try_into()?, event, tries });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn finish_delivery(
        &self,
        node: &str,
        delivery_id: Uuid,
        attempt: &DeliveryAttempt,
        outcome: DeliveryOutcome,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let now = Timestamp::now();
        sqlx::query(INSERT_ATTEMPT)
            .bind(Uuid::new_v4())
            .bind(delivery_id)
            .bind(attempt.attempted_at.micros())
            .bind(attempt.status_code.map(i64::from))
            .bind(attempt.latency_ms)
            .bind(attempt.response_excerpt.as_deref())
            .bind(attempt.error.as_deref())
            .execute(&mut *tx)
            .await?;
        let holder: Option<Uuid> =
            sqlx::query_scalar(DELIVERY_CLAIMED_BY).bind(delivery_id).bind(node).fetch_optional(&mut *tx).await?;
        let Some(webhook_id) = holder else {
            // The lease ran out and another node took the delivery over: its outcome counts.
            tx.commit().await?;
            return Ok(());
        };
        let (status, next) = match outcome {
            DeliveryOutcome::Delivered => (DeliveryStatus::Delivered, now),
            DeliveryOutcome::Retry(at) => (DeliveryStatus::Pending, at),
            DeliveryOutcome::Failed { .. } => (DeliveryStatus::Failed, now),
        };
        sqlx::query(END_DELIVERY)
            .bind(status.as_str())
            .bind(next.micros())
            .bind(now.micros())
            .bind(delivery_id)
            .execute(&mut *tx)
            .await?;
        match outcome {
            DeliveryOutcome::Delivered => {
                sqlx::query(RESET_FAILURES).bind(webhook_id).execute(&mut *tx).await?;
            }
            DeliveryOutcome::Failed { disable_after } => {
                let failures: i64 = sqlx::query_scalar(COUNT_FAILURE).bind(webhook_id).fetch_one(&mut *tx).await?;
                if failures >= disable_after {
                    let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
                    let row: WebhookRow =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(webhook_id).fetch_one(&mut *tx).await?;
                    let before: Webhook = row.try_into()?;
                    let last_error = match (&attempt.error, attempt.status_code) {
                        (Some(e), _) => e.clone(),
                        (None, Some(code)) => format!("HTTP status {code}"),
                        (None, None) => "no answer".to_owned(),
                    };
                    let reason = format!("{failures} deliveries in a row failed every retry (the last: {last_error})");
                    let after = Webhook {
                        enabled: false,
                        disabled_reason: Some(reason.clone()),
                        updated_at: now,
                        ..before.clone()
                    };
                    sqlx::query(DISABLE_WEBHOOK)
                        .bind(reason)
                        .bind(now.micros())
                        .bind(webhook_id)
                        .execute(&mut *tx)
                        .await?;
                    let disabled = NewEvent::updated(
                        EventType::WebhookUpdated,
                        Actor::Operator,
                        &webhook_json(&before),
                        webhook_json(&after),
                    );
                    record(&mut tx, before.workspace_id, disabled.as_slice()).await?;
                }
            }
            DeliveryOutcome::Retry(_) => {}
        }
        tx.commit().await?;
        Ok(())
    }
}
