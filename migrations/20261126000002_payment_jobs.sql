-- The payment worker's outbox: one row per charge, refund or payout asked of
-- a provider, for an invoice (charges, refunds) or a claim (payouts). Written by the payments subscription in the same transaction as
-- its checkpoint (so a requested payment is never forgotten), claimed with
-- FOR UPDATE SKIP LOCKED, and sent with the row's idempotency key, so a
-- retry after a crash never charges twice. Settled when the provider's
-- confirmation has been recorded on the invoice or claim.
CREATE TABLE payment_jobs (
    id                 uuid        PRIMARY KEY,
    kind               text        NOT NULL CHECK (kind IN ('charge', 'refund', 'payout')),
    aggregate_type     text        NOT NULL CHECK (aggregate_type IN ('Invoice', 'Claim')),
    aggregate_id       uuid        NOT NULL,
    payment_id         uuid        NOT NULL,
    provider           text        NOT NULL,
    amount             numeric     NOT NULL,
    currency           text        NOT NULL,
    idempotency_key    text        NOT NULL UNIQUE,
    payer_contact      text,
    original_reference text,
    provider_reference text,
    status             text        NOT NULL DEFAULT 'queued'
                                   CHECK (status IN ('queued', 'submitted', 'settled')),
    attempts           int         NOT NULL DEFAULT 0,
    last_error         text,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    correlation_id     text        NOT NULL,
    causation_id       text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    submitted_at       timestamptz,
    settled_at         timestamptz
);

CREATE INDEX payment_jobs_queued ON payment_jobs (next_attempt_at) WHERE status = 'queued';
CREATE INDEX payment_jobs_submitted ON payment_jobs (submitted_at) WHERE status = 'submitted';
