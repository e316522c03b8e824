-- postgres-es's snapshot table. ifinsure does not use the snapshot or
-- aggregate-store modes of cqrs-es 0.5 (they double-count, see DESIGN.md);
-- the table exists so postgres-es's repository finds the schema it expects.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          jsonb                                NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
