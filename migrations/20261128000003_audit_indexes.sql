-- The audit API filters the stream by acting user and by time.
CREATE INDEX events_user_idx ON events ((metadata ->> 'user_id'));
CREATE INDEX events_recorded_at_idx ON events (recorded_at);
