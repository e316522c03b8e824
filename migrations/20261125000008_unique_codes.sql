-- Aggregates can't see each other, so uniqueness across them (a product code)
-- is reserved here before the command runs, and released if it is refused.
CREATE TABLE unique_claims
(
    kind          text        NOT NULL,
    value         text        NOT NULL,
    aggregate_id  text        NOT NULL,
    claimed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, value)
);
