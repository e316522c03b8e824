-- Subscriptions dead-letter an event they keep failing on and move past
-- it. Re-driving such a letter asks the subscription's consumer to handle
-- the event again; `redone_at` says when it did. Queue workers' letters are
-- redone the moment they are re-driven (their job goes back in the queue).
ALTER TABLE dead_letters ADD COLUMN redone_at timestamptz;
UPDATE dead_letters SET redone_at = retried_at WHERE retried_at IS NOT NULL;
CREATE INDEX dead_letters_redrive ON dead_letters (worker)
    WHERE retried_at IS NOT NULL AND redone_at IS NULL;
