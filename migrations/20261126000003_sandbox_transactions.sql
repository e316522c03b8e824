-- The built-in sandbox payment provider's own ledger, standing in for a real
-- provider's records: one row per idempotency key, so the same request never
-- charges twice, and a status query (reconciliation) finds what happened
-- even when the webhook was never delivered.
CREATE TABLE sandbox_transactions (
    reference       text        PRIMARY KEY,
    idempotency_key text        NOT NULL UNIQUE,
    kind            text        NOT NULL CHECK (kind IN ('charge', 'refund', 'payout')),
    amount          numeric     NOT NULL,
    currency        text        NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    failure_reason  text,
    metadata        jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
