-- Outbox retention (docs/webhooks.md): deleting an old event cascades to its deliveries, which are
-- found by the event through this index instead of a scan of every delivery.
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);
