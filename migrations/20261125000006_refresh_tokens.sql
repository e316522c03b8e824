-- Refresh tokens, stored as SHA-256 of the token. Each login starts a family;
-- every refresh spends one token and issues the next in the same family. A
-- spent token presented again means it was stolen: the whole family is revoked.
CREATE TABLE refresh_tokens
(
    id          uuid PRIMARY KEY,
    family_id   uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    token_hash  bytea       NOT NULL UNIQUE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
