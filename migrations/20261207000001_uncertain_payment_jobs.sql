-- A request its provider does not deduplicate (an M-Pesa STK push or
-- reversal, a Paystack or Flutterwave refund) that went out and got no
-- answer may have been acted on. Its job is `uncertain` until what the
-- provider did is looked up (or its callback arrives), never simply sent
-- again; the next look is due at next_attempt_at.
ALTER TABLE payment_jobs DROP CONSTRAINT payment_jobs_status_check;
ALTER TABLE payment_jobs ADD CONSTRAINT payment_jobs_status_check
    CHECK (status IN ('queued', 'submitted', 'uncertain', 'settled', 'dead'));
CREATE INDEX payment_jobs_uncertain ON payment_jobs (next_attempt_at) WHERE status = 'uncertain';
-- Set just before such a request is sent, cleared once its answer (or its
-- not having been sent) is recorded: a job claimed again with it still set
-- belonged to a process that stopped mid-request, and is uncertain too.
ALTER TABLE payment_jobs ADD COLUMN request_sent_at timestamptz;
-- For a refund: the amount of the payment it refunds, so a provider that can
-- only reverse a whole payment (M-Pesa) pays a partial refund another way.
ALTER TABLE payment_jobs ADD COLUMN original_amount numeric;
