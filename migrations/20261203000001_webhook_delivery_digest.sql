-- A delivery that did not verify keeps only its first 4 KiB (anyone can send
-- one, and a megabyte each would fill the database); the digest and size of
-- the whole body say what it was. Verified deliveries keep their whole body
-- for the retention period, then only the digest.
ALTER TABLE webhook_deliveries
    ADD COLUMN body_sha256 bytea,
    ADD COLUMN body_size   integer;

-- Housekeeping finds deliveries past retention by age.
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
