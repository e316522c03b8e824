-- Events are sealed from here on: each carries in its metadata an HMAC
-- under CHAIN_KEY (kept outside the database) over its aggregate,
-- sequence, type, version, payload and metadata, which names the event
-- before it and the moment it was recorded (see event_store/seal.rs).
-- Events written before keep their SHA-256 chain; this row marks where
-- the sealed part starts: every event after (up_to_tx, up_to_position)
-- must carry a seal. A process signs the row with the key the first time
-- it reads it, and only if no sealed event lies at or before it.
CREATE TABLE event_seal_cutover (
    only_row       boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    up_to_tx       xid8    NOT NULL,
    up_to_position bigint  NOT NULL,
    signature      text
);
INSERT INTO event_seal_cutover (up_to_tx, up_to_position)
SELECT coalesce((SELECT tx_id FROM events ORDER BY tx_id DESC, global_position DESC LIMIT 1), '0'::xid8),
       coalesce((SELECT global_position FROM events ORDER BY tx_id DESC, global_position DESC LIMIT 1), 0);
