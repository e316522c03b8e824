-- Responses to POST commands, kept by (caller, Idempotency-Key) so a retried
-- request returns the first response and appends nothing. request_hash is
-- SHA-256 of method, path and body: the same key with another body is refused.
-- A row with status NULL is a request still in progress.
CREATE TABLE idempotency_keys
(
    scope         text        NOT NULL,
    key           text        NOT NULL,
    request_hash  bytea       NOT NULL,
    status        smallint,
    headers       jsonb,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
