-- Signed checkpoints of the events' hash chains (tamper evidence). Each
-- records, for every aggregate with events committed since the previous
-- checkpoint, its last sequence and hash (`heads`: [[type, id, sequence,
-- hash], ...]); `signature` is HMAC-SHA256 under a key kept outside the
-- database over the checkpoint and the previous checkpoint's signature, so
-- a removed tail of events, or a removed or altered checkpoint, is caught.
CREATE TABLE chain_checkpoints (
    id                 bigint      PRIMARY KEY,
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- Events of transactions older than this (xid8, as text) are covered.
    up_to_tx           text        NOT NULL,
    heads              jsonb       NOT NULL,
    previous_signature text        NOT NULL,
    signature          text        NOT NULL
);
