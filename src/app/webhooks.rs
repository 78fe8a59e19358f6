//! Webhook subscriptions: the admin's use cases (docs/webhooks.md). Delivery is in `webhook_worker`.

use uuid::Uuid;

use super::{App, AppResult, Principal};
use crate::domain::webhook::{PREVIOUS_SECRET_GRACE_SECONDS, Webhook, WebhookDelivery, WebhookSecret, WebhookUrl};
use crate::domain::{EventType, Role, Timestamp};

/// A subscription with its secret, shown once: at creation and at rotation.
pub struct WebhookWithSecret {
    pub webhook: Webhook,
    pub secret: String,
}

/// The fields a `PATCH` may change; `None` keeps the value.
#[derive(Default)]
pub struct WebhookChanges {
    pub url: Option<WebhookUrl>,
    pub types: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
}

impl App {
    pub async fn create_webhook(
        &self,
        who: &Principal,
        url: WebhookUrl,
        types: Vec<EventType>,
        enabled: bool,
        secret: Option<WebhookSecret>,
    ) -> AppResult<WebhookWithSecret> {
        who.require(Role::Admin)?;
        let now = Timestamp::now();
        // The operator may choose it (automation that configures both ends); else a new random one.
        let secret = secret.unwrap_or_else(WebhookSecret::generate);
        let webhook = Webhook {
            id: Uuid::new_v4(),
            workspace_id: who.workspace_id(),
            url,
            types,
            enabled,
            disabled_reason: None,
            secret: secret.clone(),
            previous_secret: None,
            previous_secret_until: None,
            secret_rotated_at: None,
            consecutive_failures: 0,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_webhook(&webhook, who.actor()).await?;
        Ok(WebhookWithSecret { webhook, secret: secret.expose().to_owned() })
    }

    pub async fn list_webhooks(&self, who: &Principal) -> AppResult<Vec<Webhook>> {
        who.require(Role::Admin)?;
        Ok(self.store.list_webhooks(who.workspace_id()).await?)
    }

    pub async fn get_webhook(&self, who: &Principal, id: Uuid) -> AppResult<Webhook> {
        who.require(Role::Admin)?;
        Ok(self.store.get_webhook(who.workspace_id(), id).await?)
    }

    /// Enabling a subscription again clears why it was disabled and its count of failures.
    pub async fn update_webhook(&self, who: &Principal, id: Uuid, changes: WebhookChanges) -> AppResult<Webhook> {
        who.require(Role::Admin)?;
        let mut w = self.store.get_webhook(who.workspace_id(), id).await?;
        if let Some(url) = changes.url {
            w.url = url;
        }
        if let Some(types) = changes.types {
            w.types = types;
        }
        if let Some(enabled) = changes.enabled {
            if enabled && !w.enabled {
                w.disabled_reason = None;
                w.consecutive_failures = 0;
            }
            w.enabled = enabled;
        }
        w.updated_at = Timestamp::now();
        Ok(self.store.update_webhook(&w, who.actor()).await?)
    }

    /// A new secret; the one it replaces keeps signing deliveries beside it for 24 hours, so
    /// receivers can switch without dropping any.
    pub async fn rotate_webhook_secret(&self, who: &Principal, id: Uuid) -> AppResult<WebhookWithSecret> {
        who.require(Role::Admin)?;
        let mut w = self.store.get_webhook(who.workspace_id(), id).await?;
        let now = Timestamp::now();
        let secret = WebhookSecret::generate();
        w.previous_secret = Some(std::mem::replace(&mut w.secret, secret.clone()));
        w.previous_secret_until = Some(now.plus_seconds(PREVIOUS_SECRET_GRACE_SECONDS));
        w.secret_rotated_at = Some(now);
        w.updated_at = now;
        let webhook = self.store.update_webhook(&w, who.actor()).await?;
        Ok(WebhookWithSecret { webhook, secret: secret.expose().to_owned() })
    }

    pub async fn delete_webhook(&self, who: &Principal, id: Uuid) -> AppResult<()> {
        who.require(Role::Admin)?;
        Ok(self.store.delete_webhook(who.workspace_id(), id, who.actor()).await?)
    }

    pub async fn list_webhook_deliveries(
        &self,
        who: &Principal,
        webhook_id: Uuid,
        limit: i64,
    ) -> AppResult<Vec<WebhookDelivery>> {
        who.require(Role::Admin)?;
        Ok(self.store.list_deliveries(who.workspace_id(), webhook_id, limit).await?)
    }

    /// Queues a delivery again, due now; the subscription's pending deliveries still go out in
    /// sequence order, so it goes before the later ones.
    pub async fn redeliver_webhook(
        &self,
        who: &Principal,
        webhook_id: Uuid,
        delivery_id: Uuid,
    ) -> AppResult<WebhookDelivery> {
        who.require(Role::Admin)?;
        Ok(self.store.redeliver(who.workspace_id(), webhook_id, delivery_id, Timestamp::now()).await?)
    }
}
