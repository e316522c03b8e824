-- Password-reset requests: which user asked, until when the token works,
-- and when it was used (single use: the confirm sets used_at only where it
-- is still null). The token itself is derived from the request id with a
-- server secret and stored nowhere.
CREATE TABLE password_resets (
    request_id uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX password_resets_user ON password_resets (user_id, created_at DESC);
