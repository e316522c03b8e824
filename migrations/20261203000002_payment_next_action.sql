-- What the payer does next while a charge is pending: go to the provider's
-- hosted checkout ({"type": "redirect", "url": ...}) or approve on their
-- phone ({"type": "approve_on_phone", "message": ...}); set when the job is
-- submitted.
ALTER TABLE payment_jobs ADD COLUMN next_action jsonb;
