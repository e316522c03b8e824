-- A payment job whose retries are exhausted becomes `dead` (and leaves a
-- dead letter) until an admin re-drives it, instead of retrying for ever.
ALTER TABLE payment_jobs DROP CONSTRAINT payment_jobs_status_check;
ALTER TABLE payment_jobs ADD CONSTRAINT payment_jobs_status_check
    CHECK (status IN ('queued', 'submitted', 'settled', 'dead'));
