-- One row per named subscription (projection or worker): the last event it
-- has handled, as (tx_id, global_position), written in the same transaction
-- as the subscription's own effects. tx_id is stored as bigint (xid8 values
-- are 64-bit epoch-qualified transaction ids).
CREATE TABLE subscription_checkpoints
(
    name             text PRIMARY KEY,
    tx_id            bigint      NOT NULL DEFAULT 0,
    global_position  bigint      NOT NULL DEFAULT 0,
    events_handled   bigint      NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
