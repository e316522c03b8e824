-- Work a worker gave up on: a refusal, or retries exhausted. One row per
-- failed job (the job's own table keeps its state); an admin reads them
-- and re-drives one, which puts its job back in the queue and stamps the
-- letter retried.
CREATE TABLE dead_letters (
    id         uuid        PRIMARY KEY,
    worker     text        NOT NULL,
    job_id     uuid        NOT NULL,
    event_id   text        NOT NULL,
    error      text        NOT NULL,
    attempts   int         NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retried_at timestamptz
);

CREATE INDEX dead_letters_open ON dead_letters (created_at DESC) WHERE retried_at IS NULL;
