-- The notification log, which is also the notification worker's queue: one
-- row per message to one recipient on one channel for one event, rendered
-- when the event was handled (so the log shows exactly what was sent).
-- Written by the notifications subscription in its checkpoint transaction;
-- the unique key makes a redelivered event send nothing twice. Claimed with
-- FOR UPDATE SKIP LOCKED under a lease; retried with backoff; `dead` after
-- the last attempt.
CREATE TABLE notifications (
    id                  uuid        PRIMARY KEY,
    event_id            text        NOT NULL,
    template            text        NOT NULL,
    channel             text        NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient_id        uuid,
    recipient           text        NOT NULL,
    subject             text,
    body_text           text        NOT NULL,
    body_html           text,
    status              text        NOT NULL DEFAULT 'queued'
                                    CHECK (status IN ('queued', 'sent', 'dead')),
    attempts            int         NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    last_error          text,
    provider            text,
    provider_message_id text,
    correlation_id      text        NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    UNIQUE (event_id, template, channel, recipient)
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_recipient ON notifications (recipient_id, created_at DESC);
