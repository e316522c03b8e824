-- The web console's sessions: the browser holds an unguessable token in an
-- HttpOnly cookie; the server keeps its SHA-256, the user, the
-- refresh-token family the session stands for (signing out, a password
-- change or reset revokes the family and so ends the session), the CSRF
-- token every form of the session carries, and when it expires.
CREATE TABLE console_sessions (
    token_hash bytea       PRIMARY KEY,
    user_id    uuid        NOT NULL,
    family_id  uuid        NOT NULL,
    csrf_token text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
