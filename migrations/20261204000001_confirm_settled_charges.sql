-- A settled charge can be asked to confirm again (a provider's late word
-- that a payment recorded as failed went through): the index of jobs
-- awaiting confirmation covers settled ones too.
DROP INDEX IF EXISTS payment_jobs_confirm;
CREATE INDEX payment_jobs_confirm ON payment_jobs (confirm_requested_at)
    WHERE confirm_requested_at IS NOT NULL;
