-- Checkpoints of format 2 sign, besides the aggregates' heads, the stretch
-- of the stream they cover: the events of transactions from `from_tx` up to
-- (not including) `up_to_tx`, how many there are, and a digest of them in
-- stream order ((tx_id, global_position), aggregate, sequence and seal), so
-- an event moved, renumbered, inserted or removed in a covered stretch is
-- caught. They also sign the seal cut-over, the moment they were made
-- (`created_at`, now set by the writer) and the integrity alarms an admin
-- acknowledged. Format 1 checkpoints keep what they signed.
ALTER TABLE chain_checkpoints ADD COLUMN format smallint NOT NULL DEFAULT 1;
ALTER TABLE chain_checkpoints ADD COLUMN from_tx text;
ALTER TABLE chain_checkpoints ADD COLUMN events bigint;
ALTER TABLE chain_checkpoints ADD COLUMN order_digest text;
ALTER TABLE chain_checkpoints ADD COLUMN cutover jsonb;
ALTER TABLE chain_checkpoints ADD COLUMN acknowledged jsonb;
