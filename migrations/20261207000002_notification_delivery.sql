-- What the provider later reports of a sent message: `delivered` to the
-- phone or inbox, or `failed` there (a bounce, an unreachable phone), with
-- when and, for a failure, the provider's words. Reports arrive by the
-- provider's message id.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('queued', 'sent', 'delivered', 'failed', 'dead'));
ALTER TABLE notifications ADD COLUMN delivered_at timestamptz;
ALTER TABLE notifications ADD COLUMN delivery_detail text;
CREATE INDEX notifications_provider_message ON notifications (provider, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
