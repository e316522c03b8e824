-- Every webhook delivery as received, kept for audit: the raw body, the
-- headers that authenticate it, whether it verified, and what the ingress
-- did with it. A provider's event id is unique per provider, so a duplicate
-- delivery is recognised and acknowledged without acting twice.
CREATE TABLE webhook_deliveries (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider          text        NOT NULL,
    config_id         uuid,
    provider_event_id text,
    verified          boolean     NOT NULL,
    outcome           text        NOT NULL,
    headers           jsonb       NOT NULL DEFAULT '{}',
    body              bytea       NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_event ON webhook_deliveries (provider, provider_event_id)
    WHERE provider_event_id IS NOT NULL;
