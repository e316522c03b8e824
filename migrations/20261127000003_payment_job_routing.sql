-- Which configuration carried a payment job (routing and failover pick one
-- per attempt), and when a provider's unsigned callback asked for the
-- outcome to be confirmed by a status query (M-Pesa) before it is recorded,
-- with the receipt that callback carried (M-Pesa's transaction id, which a
-- reversal needs and people quote).
ALTER TABLE payment_jobs
    ADD COLUMN config_id            uuid,
    ADD COLUMN confirm_requested_at timestamptz,
    ADD COLUMN provider_receipt     text;

CREATE INDEX payment_jobs_confirm ON payment_jobs (confirm_requested_at)
    WHERE status = 'submitted' AND confirm_requested_at IS NOT NULL;
