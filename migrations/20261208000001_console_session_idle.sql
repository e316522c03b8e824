-- A console session unused for the security settings' idle timeout ends:
-- when it was last used, touched at most once a minute (so a page costs
-- no write most of the time; the timeout is kept to within that minute).
ALTER TABLE console_sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
