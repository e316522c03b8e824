-- Login secrets live outside the event store, which is immutable and must
-- never hold a password hash. One row per user; the unique email is also
-- how registration reserves an address before the UserRegistered event.
CREATE TABLE credentials
(
    user_id        uuid PRIMARY KEY,
    email          text        NOT NULL UNIQUE,
    password_hash  text        NOT NULL,
    failed_logins  integer     NOT NULL DEFAULT 0,
    locked_until   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
