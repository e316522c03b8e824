-- Credentials of integration configurations, encrypted (AES-256-GCM) under a
-- master key identified by key_id, so keys can rotate. Kept outside the
-- immutable event store, whose events only name the fields that are set.
CREATE TABLE integration_credentials (
    config_id  uuid        PRIMARY KEY,
    key_id     text        NOT NULL,
    nonce      bytea       NOT NULL,
    ciphertext bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
