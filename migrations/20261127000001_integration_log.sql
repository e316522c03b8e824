-- The integration log: one row per HTTP call ifinsure makes to a provider
-- (each attempt, so retries and failovers are visible), with the request and
-- response redacted of every credential before they are written. It is the
-- audit trail of provider traffic, and the circuit breakers read their
-- state from it (so every process sees the same breaker).
CREATE TABLE integration_log (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    config_id      uuid,
    provider       text        NOT NULL,
    action         text        NOT NULL,
    request        jsonb       NOT NULL DEFAULT '{}',
    response       jsonb,
    status         int,
    ok             boolean     NOT NULL,
    latency_ms     int         NOT NULL,
    reference_type text,
    reference_id   text,
    error          text,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX integration_log_config ON integration_log (config_id, id DESC);
CREATE INDEX integration_log_provider ON integration_log (provider, id DESC);
CREATE INDEX integration_log_reference ON integration_log (reference_id) WHERE reference_id IS NOT NULL;
