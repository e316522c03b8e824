-- The event store: postgres-es's table shape, plus three columns postgres-es
-- never writes and PostgreSQL fills in:
--   global_position  the order of appends across all aggregates
--   recorded_at      when the event was committed (approximately: transaction start)
--   tx_id            the writing transaction, so subscribers can read gap-safely
--                    (see projections::subscription::reader)
-- Payload and metadata are jsonb so audit queries can filter inside them.
-- Nothing in this table is ever updated or deleted.
CREATE TABLE events
(
    aggregate_type  text                         NOT NULL,
    aggregate_id    text                         NOT NULL,
    sequence        bigint CHECK (sequence >= 0) NOT NULL,
    event_type      text                         NOT NULL,
    event_version   text                         NOT NULL,
    payload         jsonb                        NOT NULL,
    metadata        jsonb                        NOT NULL,
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    recorded_at     timestamptz                  NOT NULL DEFAULT now(),
    tx_id           xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

-- Subscribers read in (tx_id, global_position) order from a checkpoint.
CREATE INDEX events_tx_position_idx ON events (tx_id, global_position);
-- The audit log pages in global order.
CREATE UNIQUE INDEX events_global_position_idx ON events (global_position);
-- Business flows are followed by correlation id.
CREATE INDEX events_correlation_idx ON events ((metadata ->> 'correlation_id'));
