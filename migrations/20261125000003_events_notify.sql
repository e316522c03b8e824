-- Wake subscribers the moment events commit (NOTIFY is delivered on commit),
-- once per statement rather than once per row. Subscribers also poll slowly,
-- so a lost notification only delays them.
CREATE FUNCTION notify_events_appended() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('ifinsure_events', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER events_appended
    AFTER INSERT ON events
    FOR EACH STATEMENT
EXECUTE FUNCTION notify_events_appended();
