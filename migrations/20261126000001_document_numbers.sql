-- Human document numbers (POL-2026-000123, INV-2026-000045): one counter per
-- kind and year, and the number each document got, so a retried command
-- (a process manager handling an event twice) is given the same number.
CREATE TABLE document_number_counters (
    kind       text   NOT NULL,
    year       int    NOT NULL,
    last_value bigint NOT NULL,
    PRIMARY KEY (kind, year)
);

CREATE TABLE document_numbers (
    kind        text        NOT NULL,
    owner_id    uuid        NOT NULL,
    number      text        NOT NULL UNIQUE,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, owner_id)
);
